// A child process in a process group of its own, as `npm run cluster` and the cluster test run
// start each part: a stop ends the whole group (whatever the part started too), first with SIGTERM
// and then, past a grace period, SIGKILL; groups still running when this process exits are killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { atBackgroundPriority } from '../cpuPriority';

export interface GroupedProcess {
  child: ChildProcess;
  /** Resolves when the process has exited: its exit code, or its signal's name. */
  exited: Promise<number | string>;
  /** Ends the group: SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface GroupedProcessOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Each line the process writes, on stdout or stderr. */
  output: (line: string) => void;
  /** A part doing the payments' work behind the API: it runs at a lower CPU priority. */
  background?: boolean;
}

const running = new Set<number>();
let exitHookInstalled = false;

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is already empty
  }
}

export function spawnGroup(
  command: string,
  args: string[],
  options: GroupedProcessOptions,
): GroupedProcess {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A parent that dies without stopping its parts must not leave them running.
    process.on('exit', () => {
      for (const pgid of running) signalGroup(pgid, 'SIGKILL');
    });
  }
  const line = options.background ? atBackgroundPriority(command, args) : { command, args };
  const child = spawn(line.command, line.args, {
    cwd: options.cwd,
    env: options.env,
    // The terminal's Ctrl-C reaches the parent only, which stops the parts in its own order.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pgid = child.pid;
  if (pgid !== undefined) running.add(pgid);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', options.output);
  }
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (err) => resolve(err.message));
    child.once('exit', (code, signal) => {
      // What it started may still run in its group: it goes with it.
      if (pgid !== undefined) {
        signalGroup(pgid, 'SIGKILL');
        running.delete(pgid);
      }
      resolve(code ?? signal ?? 'exited');
    });
  });
  return {
    child,
    exited,
    async stop(graceMs = 15_000) {
      if (pgid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      signalGroup(pgid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(pgid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
