// Where the API shares a machine with the parts that do the payments' work behind it (the worker,
// the channel simulator, the Temporal server), those parts run at a lower CPU priority, so that
// a channel's notification is acknowledged first and the work it causes waits its turn: in the
// books or in Temporal, where nothing is lost by waiting. A merchant's pay, sync or close waits
// on that work (Temporal, the worker), so it gains nothing; a read answered from the books does.
// On a machine with CPU to spare nothing is held back: a priority only decides who runs first
// when both want to. PostgreSQL keeps the API's priority: the acknowledgement waits on its commit.
// Docker Compose, where each part has a container, gives those parts the same weight (cpu_shares).

/** Linux nice the background parts add to their starter's (at most 19). */
export const backgroundNice = 10;

/**
 * Linux's scheduler weight of a nice level (the kernel's sched_prio_to_weight, 0 to 19): a part's
 * share of a contended CPU is its weight over the sum of the runnable parts' weights.
 */
export const schedulerWeight = [
  1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
] as const;

/** The parts of `npm run cluster` (src/main.ts commands) that run below the API. */
export function runsInBackground(command: 'simulator' | 'worker' | 'api'): boolean {
  return command !== 'api';
}

export interface CommandLine {
  command: string;
  args: string[];
}

/**
 * The command line that runs `command` at the background parts' priority, from its first thread
 * on (every thread it starts inherits it): coreutils' `nice`, which then runs the command itself.
 */
export function atBackgroundPriority(command: string, args: string[]): CommandLine {
  return { command: 'nice', args: ['-n', String(backgroundNice), command, ...args] };
}
