// Process faults on a seeded schedule: SIGKILL and restart of a worker, an API process, the
// Temporal server (same SQLite file), PostgreSQL (`pg_ctl stop -m immediate`, then start) and,
// when enabled, the sandbox; a worker paused (SIGSTOP) past its activities' timeouts; the channel
// unreachable for a while (the sandbox paused: calls time out, and are answered once it resumes).
// Sometimes several at once.
import { restart, type Cluster, type Part } from './cluster';
import type { Random } from './random';

export const faultKinds = [
  'worker-kill',
  'api-kill',
  'temporal-kill',
  'postgres-kill',
  'worker-pause',
  'channel-outage',
  'sandbox-kill',
] as const;
export type FaultKind = (typeof faultKinds)[number];

const weights: Record<FaultKind, number> = {
  'worker-kill': 5,
  'api-kill': 5,
  'temporal-kill': 3,
  'postgres-kill': 3,
  'worker-pause': 2,
  'channel-outage': 2,
  'sandbox-kill': 2,
};

/** Which part a fault hits, and for how long it is held down (ms). */
const target: Record<FaultKind, { kind: Part['kind']; downMs: [number, number] }> = {
  'worker-kill': { kind: 'worker', downMs: [500, 8000] },
  'api-kill': { kind: 'api', downMs: [500, 8000] },
  'temporal-kill': { kind: 'temporal', downMs: [1000, 8000] },
  'postgres-kill': { kind: 'postgres', downMs: [1000, 8000] },
  // Longer than the activities' start-to-close timeouts (20 s at most), so they time out.
  'worker-pause': { kind: 'worker', downMs: [22_000, 35_000] },
  'channel-outage': { kind: 'sandbox', downMs: [4000, 20_000] },
  'sandbox-kill': { kind: 'sandbox', downMs: [500, 5000] },
};

export interface FaultRecord {
  kind: FaultKind;
  part: string;
  at: number;
  /** When the part served again. */
  endedAt?: number;
}

export interface FaultOptions {
  cluster: Cluster;
  random: Random;
  /** No new fault after this moment (ms since epoch). */
  untilMs: number;
  /** Mean time between two injections. */
  meanGapMs: number;
  sandboxKills: boolean;
  stopping: () => boolean;
  log: (line: string) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Injects faults until `untilMs`, then waits for every part to serve again; answers the log. */
export async function injectFaults(options: FaultOptions): Promise<FaultRecord[]> {
  const { cluster, random } = options;
  const records: FaultRecord[] = [];
  const running: Promise<void>[] = [];
  const enabled = Object.fromEntries(
    faultKinds
      .filter((k) => options.sandboxKills || k !== 'sandbox-kill')
      .map((k) => [k, weights[k]]),
  ) as Record<FaultKind, number>;
  /** Parts a fault holds down now: one fault at a time per part. */
  const held = new Set<Part>();

  const inject = async (kind: FaultKind, part: Part) => {
    held.add(part);
    const record: FaultRecord = { kind, part: part.name, at: Date.now() };
    records.push(record);
    const [min, max] = target[kind].downMs;
    const downMs = random.int(min, max);
    options.log(`fault ${kind} ${part.name} for ${(downMs / 1000).toFixed(1)} s`);
    try {
      if (kind === 'worker-pause' || kind === 'channel-outage') {
        part.pause();
        await sleep(downMs);
        part.resume();
      } else {
        await part.kill();
        await sleep(downMs);
        await restart(part, options.stopping, options.log);
      }
      record.endedAt = Date.now();
    } finally {
      held.delete(part);
    }
  };

  while (!options.stopping()) {
    const gap = random.int(Math.round(options.meanGapMs / 2), Math.round(options.meanGapMs * 1.5));
    if (Date.now() + gap > options.untilMs) break;
    await sleep(gap);
    // Now and then several parts at once (a node going down takes more than one process).
    const count = random.chance(0.2) ? random.int(2, 3) : 1;
    for (let i = 0; i < count; i++) {
      const kind = random.weighted(enabled);
      const candidates = cluster.parts.filter(
        (p) => p.kind === target[kind].kind && p.up && !held.has(p),
      );
      if (candidates.length === 0) continue;
      running.push(inject(kind, random.pick(candidates)));
    }
  }
  await Promise.all(running);
  return records;
}

/** Counts by kind, every kind listed. */
export function faultsByKind(records: readonly FaultRecord[]): Record<FaultKind, number> {
  const counts = Object.fromEntries(faultKinds.map((k) => [k, 0])) as Record<FaultKind, number>;
  for (const r of records) counts[r.kind] += 1;
  return counts;
}
