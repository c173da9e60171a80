// CPU time each part of the measured system spends over a phase, from /proc (Linux): the bench's
// own children by role (worker, api, sandbox, Temporal), and PostgreSQL's processes (all of them:
// the server is shared, so other load on the machine shows there too); and, where the bench itself
// is the client the engine serves (the ceilings), the bench process as the driver.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export type CpuSnapshot = Map<number, { part: string; ticks: number }>;

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  return ticksPerSecond;
}

/** Which part a process is, or undefined for one the bench does not measure. */
function partOf(pid: number, parents: Map<number, number>, cmdline: string): string | undefined {
  if (cmdline.startsWith('postgres')) return 'postgres';
  let ancestor = parents.get(pid);
  while (ancestor !== undefined && ancestor !== process.pid) ancestor = parents.get(ancestor);
  if (ancestor !== process.pid) return undefined;
  const role = /bench\/serve\.ts (\S+)/.exec(cmdline);
  if (role) return role[1];
  if (/temporal/.test(cmdline)) return 'temporal';
  return undefined;
}

export function cpuSnapshot(options: { withDriver?: boolean } = {}): CpuSnapshot {
  const stats = new Map<number, { ppid: number; ticks: number; cmdline: string }>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name in parentheses: state ppid ... utime(14) stime(15).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      stats.set(pid, {
        ppid: Number(fields[1]),
        ticks: Number(fields[11]) + Number(fields[12]),
        cmdline,
      });
    } catch {
      // The process ended while we read it.
    }
  }
  const parents = new Map([...stats].map(([pid, s]) => [pid, s.ppid]));
  const snapshot: CpuSnapshot = new Map();
  for (const [pid, s] of stats) {
    const part = partOf(pid, parents, s.cmdline);
    if (part) snapshot.set(pid, { part, ticks: s.ticks });
  }
  const driver = stats.get(process.pid);
  if (options.withDriver && driver)
    snapshot.set(process.pid, { part: 'driver', ticks: driver.ticks });
  return snapshot;
}

/** CPU milliseconds each part spent between two snapshots, per unit of work done. */
export function cpuMsPer(before: CpuSnapshot, after: CpuSnapshot, units: number) {
  const spent: Record<string, number> = {};
  for (const [pid, now] of after) {
    const ticks = now.ticks - (before.get(pid)?.ticks ?? 0);
    spent[now.part] = (spent[now.part] ?? 0) + ticks;
  }
  const perUnit = (ticks: number) => Math.round(((ticks / clockTicks()) * 1000 * 10) / units) / 10;
  const byPart = Object.fromEntries(
    Object.entries(spent)
      .sort(([, a], [, b]) => b - a)
      .map(([part, ticks]) => [part, perUnit(ticks)]),
  );
  const total = perUnit(Object.values(spent).reduce((a, b) => a + b, 0));
  return { byPart, total };
}
