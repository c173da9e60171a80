// Group commit: writes that arrive while `concurrency` statements are under way wait, and go
// together in the next statement, so a burst of requests shares round trips and commits instead
// of queueing for the pool one by one. A write that finds a statement free goes at once, alone: at
// a low rate nothing waits for company. A group whose statement fails is written again one item at
// a time, so one bad item fails only its own caller.

export interface GroupCommitOptions<T, R> {
  /** Statements under way at once at most. */
  concurrency: number;
  /** Items in one statement at most. */
  batch: number;
  /** Writes the items in one statement; answers each item's result in the items' order. */
  write(items: T[]): Promise<R[]>;
}

interface Waiting<T, R> {
  item: T;
  resolve(result: R): void;
  reject(err: unknown): void;
}

export function createGroupCommit<T, R>(options: GroupCommitOptions<T, R>) {
  const { concurrency, batch } = options;
  const waiting: Waiting<T, R>[] = [];
  let underWay = 0;

  async function writeGroup(group: Waiting<T, R>[]): Promise<void> {
    try {
      const results = await options.write(group.map((w) => w.item));
      group.forEach((w, i) => w.resolve(results[i]!));
    } catch (err) {
      if (group.length === 1) return group[0]!.reject(err);
      for (const w of group) await writeGroup([w]);
    }
  }

  function startStatements() {
    while (underWay < concurrency && waiting.length > 0) {
      underWay += 1;
      void writeGroup(waiting.splice(0, batch)).finally(() => {
        underWay -= 1;
        startStatements();
      });
    }
  }

  return {
    /** Resolves with the item's result once the statement that wrote it has committed. */
    write(item: T): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        waiting.push({ item, resolve, reject });
        startStatements();
      });
    },
  };
}
