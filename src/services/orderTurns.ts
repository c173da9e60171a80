// Requests that change one pay order (pay, sync, close) take turns in an API process: at most a
// few of them wait on the order's workflow at once, the others queue here in arrival order until
// one is answered. Temporal refuses more Updates in flight on one workflow than its limit (10 by
// default), and its client gives up retrying them after 12 to 18 s, while a first pay may hold the
// order longer (a bank that settles late): without turns, a burst on one order (a payer's double
// clicks, a merchant's retries) would be answered 503 while nothing is wrong.

/** A request that waited for its turn until its deadline; nothing of it reached the workflow. */
export class OrderBusyError extends Error {
  constructor(payOrderId: string) {
    super(`pay order ${payOrderId} is busy with other requests`);
    this.name = 'OrderBusyError';
  }
}

interface Lane {
  /** Requests holding a turn now. */
  holding: number;
  /** Requests waiting for one, first come first served. */
  waiting: Array<() => void>;
}

export interface OrderTurns {
  /**
   * Runs `work` once the order has a free turn; `waited` says it had to queue (what the books say
   * may have changed meanwhile). A request still queued a second before its `deadline` (epoch
   * ms) fails with OrderBusyError.
   */
  inTurn<T>(
    payOrderId: string,
    deadline: number,
    work: (waited: boolean) => Promise<T>,
  ): Promise<T>;
  /** Pay orders with a request holding a turn now, and the requests queued for one. */
  load(): { orders: number; waiting: number };
}

/**
 * A queued request gives up this long before its deadline: the requests before it used the time
 * (each may have left an Update running that Temporal still counts), and an Update sent with less
 * time left would mostly be abandoned too.
 */
const leastTimeForUpdateMs = 1_000;

export function createOrderTurns(turnsPerOrder: number): OrderTurns {
  const lanes = new Map<string, Lane>();

  function take(payOrderId: string, deadline: number): Promise<boolean> {
    let lane = lanes.get(payOrderId);
    if (!lane) {
      lane = { holding: 0, waiting: [] };
      lanes.set(payOrderId, lane);
    }
    if (lane.holding < turnsPerOrder) {
      lane.holding++;
      return Promise.resolve(false);
    }
    const { waiting } = lane;
    return new Promise((resolve, reject) => {
      const start = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(
        () => {
          const place = waiting.indexOf(start);
          if (place >= 0) waiting.splice(place, 1);
          reject(new OrderBusyError(payOrderId));
        },
        Math.max(0, deadline - leastTimeForUpdateMs - Date.now()),
      );
      waiting.push(start);
    });
  }

  /** The turn passes to the first request waiting, or is given back. */
  function give(payOrderId: string) {
    const lane = lanes.get(payOrderId)!;
    const next = lane.waiting.shift();
    if (next) next();
    else if (--lane.holding === 0) lanes.delete(payOrderId);
  }

  return {
    async inTurn(payOrderId, deadline, work) {
      const waited = await take(payOrderId, deadline);
      try {
        return await work(waited);
      } finally {
        give(payOrderId);
      }
    },
    load() {
      let waiting = 0;
      for (const lane of lanes.values()) waiting += lane.waiting.length;
      return { orders: lanes.size, waiting };
    },
  };
}
