// The sandbox channel as a process of its own (`src/main.ts simulator`, as deployed), which a test
// can kill without warning (SIGKILL) and start again on the same DATA_DIR.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

export interface SandboxProcess {
  pid: number;
  /** SIGKILL: no handler runs, nothing is flushed or closed; resolves once the process is gone. */
  kill(): Promise<void>;
}

const root = path.resolve(__dirname, '../..');

/**
 * Starts `src/main.ts simulator` with `env` (DATA_DIR, SIMULATOR_PORT, ...) and waits until it answers
 * /healthz; rejects with its output if it exits first.
 */
export async function startSandboxProcess(env: Record<string, string>): Promise<SandboxProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'simulator'], {
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

  const healthz = `http://127.0.0.1:${env.SIMULATOR_PORT}/healthz`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (gone) throw new Error(`the sandbox process exited (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the sandbox process did not answer /healthz:\n${output}`);
    }
    const ok = await fetch(healthz).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid!,
    async kill() {
      if (!gone) child.kill('SIGKILL');
      await exited;
    },
  };
}
