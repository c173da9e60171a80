// The currencies paycenter supports and how their minor units read: no zod and no Node modules,
// so that workflow code may use it (src/domain/money.ts adds the input schemas).

/** ISO 4217 currencies paycenter accepts, with the number of minor-unit digits of each. */
export const currencyExponents = {
  CNY: 2,
  HKD: 2,
  USD: 2,
  EUR: 2,
  GBP: 2,
  JPY: 0,
  SGD: 2,
  KWD: 3,
} as const;
export type Currency = keyof typeof currencyExponents;
export const currencies = Object.keys(currencyExponents) as Currency[];

/** Renders minor units as a decimal string ("12.34") for humans and for channels that want major units. */
export function formatMinorUnits(amount: number, currency: Currency): string {
  const exponent = currencyExponents[currency];
  const sign = amount < 0 ? '-' : '';
  const digits = Math.abs(amount)
    .toString()
    .padStart(exponent + 1, '0');
  if (exponent === 0) return sign + digits;
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}
