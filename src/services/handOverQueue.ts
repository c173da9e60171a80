// A bounded queue of hand-overs that run after their answer: at most `concurrency` under way, their
// outcomes recorded up to `batch` at a time, and never more than `limit` held in memory. What it
// refuses stays where it came from (the books) for a sweep to bring back. Each round of work waits
// for the event loop's next turn, so the requests being answered always come first. An item the
// same as one waiting or under way (`sameAs`: a channel repeating a notification) rides on that
// one's hand-over and shares its outcome, so a storm of repeats costs one hand-over, not one each.

export interface HandOverQueueOptions<T, R> {
  /** Items held at most: waiting, under way, or waiting for their outcome to be recorded. */
  limit: number;
  /** Hand-overs under way at most. */
  concurrency: number;
  /** Outcomes recorded by one `record` at most. */
  batch: number;
  key: (item: T) => string;
  /** Items with the same answer here are handed over once for all (none: each on its own). */
  sameAs?: (item: T) => string;
  handOver(item: T): Promise<R>;
  record(done: { item: T; outcome: R }[]): Promise<void>;
  /** A hand-over or its record failed: the item stays in the books for the sweep. */
  failed(items: T[], err: unknown): void;
}

interface Entry<T> {
  item: T;
  /** Told when the item leaves the queue, handed over or not. */
  settled?: () => void;
  /** Items the same as this one that arrived while it waited or was under way. */
  riders?: Entry<T>[];
  /** Its `sameAs` answer, worked out once when it arrives. */
  same?: string;
}

export function createHandOverQueue<T, R>(options: HandOverQueueOptions<T, R>) {
  const { limit, concurrency, batch, key, sameAs } = options;
  /** In arrival order: a Map iterates in insertion order. */
  const waiting = new Map<string, Entry<T>>();
  /** By `sameAs`: the entry waiting or under way that later same items ride on. */
  const carriers = new Map<string, Entry<T>>();
  const held = new Set<string>();
  const finished: { entry: Entry<T>; outcome: R }[] = [];
  let underWay = 0;
  let recording = false;
  let stopping = false;
  let turnScheduled = false;
  let idle: (() => void)[] = [];

  function release(entry: Entry<T>) {
    held.delete(key(entry.item));
    entry.settled?.();
  }

  function nextTurn() {
    if (turnScheduled) return;
    turnScheduled = true;
    setImmediate(() => {
      turnScheduled = false;
      startHandOvers();
      recordFinished();
      if (underWay === 0 && !recording) {
        for (const resolve of idle) resolve();
        idle = [];
      }
    });
  }

  function startHandOvers() {
    while (!stopping && underWay < concurrency && waiting.size > 0) {
      const [id, entry] = waiting.entries().next().value as [string, Entry<T>];
      waiting.delete(id);
      underWay += 1;
      // Called inside a promise, so a hand-over that throws at once fails like one that rejects.
      void new Promise<R>((resolve) => resolve(options.handOver(entry.item)))
        .then(
          (outcome) => {
            for (const one of unload(entry)) finished.push({ entry: one, outcome });
          },
          (err: unknown) => {
            const all = unload(entry);
            options.failed(
              all.map((one) => one.item),
              err,
            );
            all.forEach(release);
          },
        )
        .finally(() => {
          underWay -= 1;
          nextTurn();
        });
    }
  }

  // One record at a time: outcomes that finish meanwhile wait and go in the next one together.
  function recordFinished() {
    if (recording || finished.length === 0) return;
    recording = true;
    const done = finished.splice(0, batch);
    void options
      .record(done.map(({ entry, outcome }) => ({ item: entry.item, outcome })))
      .catch((err: unknown) =>
        options.failed(
          done.map((d) => d.entry.item),
          err,
        ),
      )
      .finally(() => {
        for (const { entry } of done) release(entry);
        recording = false;
        nextTurn();
      });
  }

  /** The entry and its riders, no longer carrying: a later same item gets a hand-over of its own. */
  function unload(entry: Entry<T>): Entry<T>[] {
    if (entry.same !== undefined && carriers.get(entry.same) === entry) carriers.delete(entry.same);
    return [entry, ...(entry.riders ?? [])];
  }

  function add(entry: Entry<T>) {
    const id = key(entry.item);
    held.add(id);
    entry.same = sameAs?.(entry.item);
    const carrier = entry.same === undefined ? undefined : carriers.get(entry.same);
    if (carrier) {
      (carrier.riders ??= []).push(entry);
      return;
    }
    if (entry.same !== undefined) carriers.set(entry.same, entry);
    waiting.set(id, entry);
    nextTurn();
  }

  return {
    /** Takes an item unless the queue is full or holds it already: answers whether it did. */
    offer(item: T): boolean {
      if (stopping || held.size >= limit || held.has(key(item))) return false;
      add({ item });
      return true;
    },

    /**
     * Hands over what a sweep found, beyond `limit` (a sweep brings a page at a time) and behind
     * what is waiting; resolves once each has left the queue. Items held already are skipped.
     */
    async sweep(items: T[]): Promise<number> {
      const fresh = items.filter((item) => !held.has(key(item)));
      if (stopping) return 0;
      await Promise.all(
        fresh.map((item) => new Promise<void>((settled) => add({ item, settled }))),
      );
      return fresh.length;
    },

    /** Whether the queue holds the item now (waiting, under way, or being recorded). */
    holds(item: T): boolean {
      return held.has(key(item));
    },

    /** Items held now (waiting, under way, or being recorded). */
    get size() {
      return held.size;
    },

    /**
     * Stops taking and starting hand-overs and waits for those under way and their record. What
     * is still waiting stays in the books for the next sweep, of this process or another.
     */
    async stop(): Promise<void> {
      stopping = true;
      for (const entry of waiting.values()) unload(entry).forEach(release);
      waiting.clear();
      await new Promise<void>((resolve) => {
        idle.push(resolve);
        nextTurn();
      });
    },
  };
}
