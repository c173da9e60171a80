// `npm run build`: the production build in dist/. tsc's JavaScript of src and simulator, the
// workflow bundle prebuilt beside it (a production worker then starts without webpack), and the
// files the code reads at run time: the migrations and the cashier's script and style sheet.
// `node dist/src/main.js <command>` then runs with the production dependencies alone.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflows, prebuiltBundleName } from '../src/workflowBundle';

const root = path.resolve(__dirname, '..');
/** `--out <dir>` builds elsewhere (the build test does, inside the clone so packages resolve). */
const outFlag = process.argv.indexOf('--out');
const dist = outFlag > 0 ? path.resolve(process.argv[outFlag + 1]!) : path.join(root, 'dist');

async function main() {
  rmSync(dist, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', dist],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  cpSync(path.join(root, 'drizzle'), path.join(dist, 'drizzle'), { recursive: true });
  cpSync(path.join(root, 'src/api/cashier/assets'), path.join(dist, 'src/api/cashier/assets'), {
    recursive: true,
  });
  const { code } = await bundleWorkflows();
  writeFileSync(path.join(dist, 'src', prebuiltBundleName), code);
  console.log(
    `build: ${path.relative(root, dist)}/ written (workflow bundle ${Math.round(code.length / 1024)} KiB)`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
