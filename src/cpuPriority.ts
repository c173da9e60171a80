// Where the API shares a machine with the parts that do the payments' work behind it (the worker,
// the channel simulator, the Temporal server), those parts run at a lower CPU priority, so that
// a channel's notification and a merchant's request are answered first and the work they cause
// waits its turn: in the books or in Temporal, where nothing is lost by waiting. On a machine with
// CPU to spare nothing is held back: a priority only decides who runs first when both want to.
// Docker Compose, where each part has a container, gives the API the matching larger cpu_shares.

/** Linux nice of the background parts: a scheduler weight of 110 against the API's 1024, 1:9. */
export const backgroundNice = 10;

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
