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
