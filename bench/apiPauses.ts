// What held the API's event loop while a load ran, read from its own /metrics (prom-client's
// default metrics): how late its event loop ran (monitorEventLoopDelay, which a scrape resets) and
// the garbage collector's pauses by kind. An ack waits for both, whatever the database does.
import { request } from './http';

export interface ApiPauses {
  /** How late the API's event loop ran its timers during the load (10 ms resolution). */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  /** Garbage collection pauses during the load, by kind (major, minor, incremental, weakcb). */
  gc: Record<string, { count: number; ms: number }>;
}

type Scrape = Map<string, number>;

async function scrape(apiUrl: string): Promise<Scrape> {
  const reply = await request('GET', `${apiUrl}/metrics`);
  if (reply.status !== 200) throw new Error(`API /metrics answered ${reply.status}`);
  const values: Scrape = new Map();
  for (const line of reply.body.split('\n')) {
    if (!line.startsWith('nodejs_eventloop_lag_') && !line.startsWith('nodejs_gc_duration_')) {
      continue;
    }
    const space = line.lastIndexOf(' ');
    // The `part` label is the same on every line; the gc lines keep their `kind`.
    const name = line
      .slice(0, space)
      .replace(/part="api",?|,part="api"/, '')
      .replace('{}', '');
    values.set(name, Number(line.slice(space + 1)));
  }
  return values;
}

const ms = (seconds: number | undefined) => Math.round((seconds ?? 0) * 1e4) / 10;

/** Runs `load` between two scrapes of the API's /metrics: its pauses meanwhile. */
export async function withApiPauses<T>(
  apiUrl: string,
  load: () => Promise<T>,
): Promise<[T, ApiPauses]> {
  // This scrape resets the event loop's histogram, so the next one reads the load's alone.
  const before = await scrape(apiUrl);
  const result = await load();
  const after = await scrape(apiUrl);
  const gc: ApiPauses['gc'] = {};
  for (const [name, total] of after) {
    const kind = /^nodejs_gc_duration_seconds_(sum|count)\{kind="(\w+)"\}$/.exec(name);
    if (!kind) continue;
    const entry = (gc[kind[2]!] ??= { count: 0, ms: 0 });
    const grew = total - (before.get(name) ?? 0);
    if (kind[1] === 'count') entry.count = grew;
    else entry.ms = ms(grew);
  }
  return [
    result,
    {
      eventLoopDelayMs: {
        p50: ms(after.get('nodejs_eventloop_lag_p50_seconds')),
        p99: ms(after.get('nodejs_eventloop_lag_p99_seconds')),
        max: ms(after.get('nodejs_eventloop_lag_max_seconds')),
      },
      gc,
    },
  ];
}
