// One process the bench starts (a worker, an API, the sandbox): its output goes to a log file, it
// counts as up once it prints its ready line, and it is stopped with SIGTERM, then SIGKILL after a
// grace. A command that cannot be started fails the start with the reason, never the bench with
// an uncaught 'error' event.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface StartedChild {
  process: ChildProcess;
  pid: number;
  stop: () => Promise<void>;
}

export async function startChild(
  line: { command: string; args: string[] },
  options: {
    /** How the failures name the process: its role. */
    name: string;
    cwd: string;
    env: NodeJS.ProcessEnv;
    logFile: string;
    /** The line on its standard output that says it is up. */
    ready: string;
    /** Told of the process as soon as it is spawned, before it is up, and when it has exited. */
    onSpawn?: (child: ChildProcess, exited: Promise<void>) => void;
  },
): Promise<StartedChild> {
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const logClosed = new Promise<void>((resolve) => log.once('close', () => resolve()));
  const child = spawn(line.command, line.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Node reports a command that could not be started as 'error' alone, with no 'exit'.
  const notStarted = () => child.pid === undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => notStarted() && resolve());
  });
  options.onSpawn?.(child, exited);
  // Not started, or not signalled: written down, and for a start, thrown below.
  child.on('error', (err) => {
    log.write(`bench: ${options.name}: ${err.message}\n`);
    if (notStarted()) log.end();
  });
  // Both streams write into the log, which ends once the process and its streams have closed.
  child.stderr.pipe(log, { end: false });
  child.once('close', () => log.end());
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      if (seen.includes(options.ready)) {
        child.stdout.off('data', onData);
        child.stdout.pipe(log, { end: false });
        resolve();
      } else if (seen.length > 100_000) seen = seen.slice(-1000);
    };
    child.stdout.on('data', onData);
    child.once('error', (err) => {
      if (notStarted()) {
        reject(new Error(`${options.name} could not be started (${line.command}): ${err.message}`));
      }
    });
    // Once its output is all in the log, so that the failure shows what it said last.
    child.once(
      'close',
      (code, signal) =>
        void logClosed.then(() =>
          reject(
            new Error(
              `${options.name} exited with ${code ?? signal} before it was up; see ${options.logFile}:\n${tail(options.logFile)}`,
            ),
          ),
        ),
    );
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    await exited;
    clearTimeout(timer);
    // What it said last is in its log once stop() answers (unless a process it started holds
    // its output open).
    await Promise.race([logClosed, sleep(5_000, undefined, { ref: false })]);
  };
  return { process: child, pid: child.pid!, stop };
}

/** How long stop() waits after SIGTERM before SIGKILL. */
const killAfterMs = 15_000;

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-2000);
  } catch {
    return '';
  }
}
