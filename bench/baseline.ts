// `--baseline <ref>`: the e2e phase of an older commit, measured in the same bench run before this
// tree's, so a speed-up is of the code, not of a different hour on a shared machine. The commit is
// checked out read-only beside this tree and runs on a stack of its own: its own Temporal dev
// server and database, with its own migrations, workflows, worker and API.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { measureE2e, type E2eLoad, type LoadResult } from './e2e';
import { startMerchantReceiver } from './merchantReceiver';
import { startPaycenter, startStack } from './stack';

export interface BaselineResult {
  /** The ref as given (`28be224`, `main~3`) and the commit it named at the time. */
  ref: string;
  commit: string;
  e2e: { fixedRate: LoadResult; saturation: LoadResult; loadAverageAtEnd: number };
  cpuMsPerPaymentAtSaturation: { byPart: Record<string, number>; total: number };
}

interface BaselineTree {
  commit: string;
  root: string;
  remove(): void;
}

const git = (root: string, args: string[]) =>
  execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Every package and version range a package.json depends on (runtime and development). */
function dependencies(packageJson: string): Record<string, string> {
  const parsed = JSON.parse(packageJson);
  return { ...parsed.dependencies, ...parsed.devDependencies };
}

/**
 * The commit at `ref` as a detached worktree under the system's temp folder. It borrows this
 * tree's node_modules, so what its package.json asks for must be asked for here alike; `remove` takes the
 * worktree away again (and leaves the borrowed node_modules alone).
 */
function checkOut(root: string, ref: string): BaselineTree {
  let commit: string;
  try {
    commit = git(root, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]).trim();
  } catch {
    throw new Error(`--baseline ${ref}: no such commit in this repository`);
  }
  const theirs = dependencies(git(root, ['show', `${commit}:package.json`]));
  const ours = dependencies(readFileSync(path.join(root, 'package.json'), 'utf8'));
  // Only what the older tree asks for must match: a package this tree added (the merchants'
  // client's, say) is never imported by it.
  const differing = Object.keys(theirs)
    .filter((name) => theirs[name] !== ours[name])
    .map((name) => `${name} ${theirs[name] ?? '(none)'} there, ${ours[name] ?? '(none)'} here`);
  if (differing.length > 0) {
    throw new Error(
      `--baseline ${ref}: its package.json asks for other dependencies than this tree's, whose ` +
        `node_modules it would run on: ${differing.join('; ')}`,
    );
  }
  try {
    git(root, ['cat-file', '-e', `${commit}:bench/serve.ts`]);
  } catch {
    throw new Error(`--baseline ${ref}: it has no bench/serve.ts to start its processes with`);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), `paycenter-baseline-${commit.slice(0, 7)}-`));
  const modules = path.join(dir, 'node_modules');
  const remove = () => {
    // The link first: whatever removes the folder must not reach into this tree's modules.
    rmSync(modules, { force: true });
    try {
      git(root, ['worktree', 'remove', '--force', dir]);
    } catch {
      rmSync(dir, { recursive: true, force: true });
      git(root, ['worktree', 'prune']);
    }
  };
  try {
    git(root, ['worktree', 'add', '--detach', dir, commit]);
    symlinkSync(realpathSync(path.join(root, 'node_modules')), modules, 'dir');
  } catch (err) {
    remove();
    throw err;
  }
  return { commit, root: dir, remove };
}

/**
 * The e2e phase of the commit at `ref` on its own complete stack, everything stopped and the
 * checkout removed before it answers.
 */
export async function measureBaseline(
  root: string,
  ref: string,
  stackOptions: Omit<Parameters<typeof startStack>[0], 'root'>,
  run: { load: E2eLoad; processes: number; runId: string; log: (line: string) => void },
): Promise<BaselineResult> {
  const tree = checkOut(root, ref);
  const { log } = run;
  try {
    log(`baseline ${ref} (${tree.commit.slice(0, 7)}): its own stack, from ${tree.root}`);
    const stack = await startStack({ ...stackOptions, root: tree.root });
    const receiver = await startMerchantReceiver();
    try {
      const { sandbox, apis } = await startPaycenter(stack, run.processes);
      const driver = {
        apiUrls: apis.map((a) => a.url!),
        sandboxUrl: sandbox.url!,
        apiKey: stack.apiKey,
        receiver,
        runId: `${run.runId}b`,
      };
      const { fixed, saturated, cpuAtSaturation, loadAverageAtEnd } = await measureE2e(
        driver,
        stack.database.db,
        run.load,
        (line) => log(`baseline ${ref}: ${line}`),
      );
      return {
        ref,
        commit: tree.commit,
        e2e: { fixedRate: fixed.result, saturation: saturated.result, loadAverageAtEnd },
        cpuMsPerPaymentAtSaturation: cpuAtSaturation,
      };
    } finally {
      await receiver.stop().catch(() => {});
      log(`baseline ${ref}: stopping its stack`);
      await stack.stop();
    }
  } finally {
    tree.remove();
  }
}
