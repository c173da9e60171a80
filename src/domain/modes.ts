// Test and live mode, as Stripe's keys have them. A deployment serves one mode: a test deployment
// pays through the sandbox channel and the simulator's faces of the real channels with generated
// keys; a live one only through real channels with every credential configured. A key names its
// mode in its prefix, so a key of the other mode is refused for what it is.
export const modes = ['test', 'live'] as const;
export type Mode = (typeof modes)[number];

/** The prefix of every merchant API key issued in `mode`. */
export function apiKeyPrefix(mode: Mode): string {
  return `pk_${mode}`;
}

/** The mode a key names by its prefix; keys issued before modes existed name none. */
export function modeOfApiKey(key: string): Mode | undefined {
  return modes.find((mode) => key.startsWith(`${apiKeyPrefix(mode)}_`));
}
