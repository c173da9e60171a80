// A small in-memory rate limiter: at most `max` hits a minute per key (fixed windows), per process.
const windowMs = 60_000;
/** Past this many keys, ended windows are swept on the next hit, so memory stays bounded. */
const sweepAbove = 10_000;

export interface MinuteLimiter {
  /** Counts a hit on `key`; answers 0 when it is allowed, else the seconds until it may retry. */
  hit(key: string): number;
}

export function createMinuteLimiter(max: number, now: () => number = Date.now): MinuteLimiter {
  const windows = new Map<string, { startedAt: number; hits: number }>();
  return {
    hit(key) {
      const at = now();
      if (windows.size > sweepAbove) {
        for (const [k, w] of windows) if (at - w.startedAt >= windowMs) windows.delete(k);
      }
      let window = windows.get(key);
      if (!window || at - window.startedAt >= windowMs) {
        window = { startedAt: at, hits: 0 };
        windows.set(key, window);
      }
      window.hits += 1;
      return window.hits <= max ? 0 : Math.ceil((window.startedAt + windowMs - at) / 1000);
    },
  };
}
