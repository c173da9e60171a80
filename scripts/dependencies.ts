// `npm run deps`: one dependency-cruiser run over the code, which fails on an import cycle or a
// crossed layer boundary (.dependency-cruiser.cjs) and on a docs/dependencies.md that is not the
// diagram of the code. `npm run deps:graph` (`--write`) draws docs/dependencies.md again.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const cruised = ['src', 'simulator', 'test', 'chaos', 'bench', 'scripts'];
const diagramFile = path.join(root, 'docs/dependencies.md');
/** The diagram shows folders, not modules: src/<layer>, or src/<layer>/<sub> where there is one. */
const diagramModules = String.raw`^(?:src|simulator)/`;
const diagramFolders = String.raw`^src/[^/]+/[^/]+/|^src/[^/]+/|^simulator/`;

function run(tool: string, args: string[]): string {
  return execFileSync(path.join(root, 'node_modules/.bin', tool), args, {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

function diagram(mermaid: string): string {
  return [
    '# Dependencies between the folders of src',
    '',
    'Drawn from the code by `npm run deps:graph` (dependency-cruiser, `.dependency-cruiser.cjs`);',
    '`npm run deps` fails when it is out of date. An arrow is an import, type-only imports included;',
    'the rules these imports keep are in ARCHITECTURE.md ("Layout and dependency direction").',
    '',
    '```mermaid',
    mermaid.trim(),
    '```',
    '',
  ].join('\n');
}

function main(): number {
  const write = process.argv.includes('--write');
  const folder = mkdtempSync(path.join(tmpdir(), 'paycenter-deps-'));
  try {
    const cruise = path.join(folder, 'cruise.json');
    run('depcruise', [
      '--config',
      '.dependency-cruiser.cjs',
      '--output-type',
      'json',
      '--output-to',
      cruise,
      ...cruised.filter((name) => existsSync(path.join(root, name))),
    ]);
    let failed = false;
    try {
      process.stdout.write(run('depcruise-fmt', ['--output-type', 'err', '--exit-code', cruise]));
    } catch (err) {
      process.stdout.write(String((err as { stdout?: string }).stdout ?? ''));
      failed = true;
    }
    const drawn = diagram(
      run('depcruise-fmt', [
        '--output-type',
        'mermaid',
        '--include-only',
        diagramModules,
        '--collapse',
        diagramFolders,
        cruise,
      ]),
    );
    if (write) {
      writeFileSync(diagramFile, drawn);
      console.log(`wrote ${path.relative(root, diagramFile)}`);
    } else if (!existsSync(diagramFile) || readFileSync(diagramFile, 'utf8') !== drawn) {
      console.error(
        `${path.relative(root, diagramFile)} is not the diagram of the code: npm run deps:graph`,
      );
      failed = true;
    }
    return failed ? 1 : 0;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

process.exitCode = main();
