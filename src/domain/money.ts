// Money is an integer count of a currency's minor units; nothing here ever touches a float.
import { z } from 'zod';
import { currencies, currencyExponents, type Currency } from './currencies';

export { currencies, currencyExponents, formatMinorUnits, type Currency } from './currencies';

export const currencySchema = z.enum(currencies as [Currency, ...Currency[]], {
  error: () => `must be an ISO 4217 code paycenter supports: ${currencies.join(', ')}`,
});

export function amountSchema(maxMinorUnits: number) {
  return z
    .number({ error: 'must be an integer number of minor units' })
    .int('must be an integer number of minor units (no decimals)')
    .positive('must be greater than zero')
    .max(maxMinorUnits, `must not exceed ${maxMinorUnits} minor units`);
}

/**
 * Parses a channel's decimal amount ("12.34") into minor units, exactly; refuses more decimals
 * than the currency has, signs, exponents and anything else a float parser would let through.
 */
export function parseMajorUnits(text: string, currency: Currency): number {
  const exponent = currencyExponents[currency];
  const match = /^(\d{1,15})(?:\.(\d+))?$/.exec(text.trim());
  if (!match || (match[2] !== undefined && match[2].length > exponent)) {
    throw new RangeError(`"${text}" is not an amount in ${currency}`);
  }
  const fraction = (match[2] ?? '').padEnd(exponent, '0');
  const minor = Number(match[1]) * 10 ** exponent + Number(fraction || '0');
  if (!Number.isSafeInteger(minor)) throw new RangeError(`"${text}" is too large`);
  return minor;
}
