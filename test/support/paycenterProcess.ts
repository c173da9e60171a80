// A paycenter part as a process of its own (`src/main.ts <command>`, as deployed), which a test can
// kill without warning (SIGKILL), as a machine that dies would.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

export interface PaycenterProcess {
  pid: number;
  /** What it printed so far (stdout and stderr). */
  output(): string;
  /** SIGKILL: no handler runs, nothing is flushed or closed; resolves once the process is gone. */
  kill(): Promise<void>;
}

const root = path.resolve(__dirname, '../..');

/**
 * Starts `src/main.ts <command>` with `env` added to this process's and waits until `readyUrl`
 * answers 200; rejects with its output if it exits first or is not ready within a minute.
 */
export async function startPaycenterProcess(
  command: 'simulator' | 'worker' | 'api',
  env: Record<string, string>,
  readyUrl: string,
): Promise<PaycenterProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', command], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = once(child, 'exit');
  let gone = false;
  void exited.then(() => (gone = true));

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (gone) throw new Error(`the ${command} process exited (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the ${command} process did not answer ${readyUrl}:\n${output}`);
    }
    const ok = await fetch(readyUrl).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid!,
    output: () => output,
    async kill() {
      if (!gone) child.kill('SIGKILL');
      await exited;
    },
  };
}
