// Prefixed, time-sortable identifiers (po_, att_, rf_, evt_, ntf_, mch_, key_, stm_, dif_, snf_, opk_).
// Pure: the caller passes the clock and the randomness, so workflows can use their deterministic ones.
const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32

export type IdPrefix =
  'po' | 'att' | 'rf' | 'evt' | 'ntf' | 'mch' | 'key' | 'dlv' | 'stm' | 'dif' | 'snf' | 'opk';

export function newId(prefix: IdPrefix, nowMs: number, random: () => number): string {
  let time = '';
  let rest = nowMs;
  for (let i = 0; i < 10; i++) {
    time = alphabet[rest % 32] + time;
    rest = Math.floor(rest / 32);
  }
  let tail = '';
  for (let i = 0; i < 16; i++) tail += alphabet[Math.floor(random() * 32)];
  return `${prefix}_${time}${tail}`;
}

/**
 * The out_trade_no a channel order is opened with: its attempt's ID with `att_` read as `T`. 27
 * characters of [0-9A-Z], which every channel accepts (WeChat Pay's 6–32, UnionPay ACP's 8–40
 * alphanumerics, Alipay's and the sandbox's up to 64); recorded histories and running workflows
 * hold numbers made this way, so it never changes.
 */
export function outTradeNoFor(attemptId: string): string {
  return attemptId.replace('att_', 'T');
}
