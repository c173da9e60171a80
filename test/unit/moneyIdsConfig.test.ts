// Money formatting and validation, identifiers, and configuration loading.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConfigError, loadConfig } from '../../src/config';
import { newId, type IdPrefix } from '../../src/domain/ids';
import {
  amountSchema,
  currencies,
  currencyExponents,
  formatMinorUnits,
  parseMajorUnits,
} from '../../src/domain/money';

describe('formatMinorUnits', () => {
  it('renders CNY 12345 as 123.45', () => {
    assert.equal(formatMinorUnits(12_345, 'CNY'), '123.45');
  });

  it('pads small amounts: CNY 5 is 0.05, CNY 50 is 0.50, CNY 0 is 0.00', () => {
    assert.equal(formatMinorUnits(5, 'CNY'), '0.05');
    assert.equal(formatMinorUnits(50, 'CNY'), '0.50');
    assert.equal(formatMinorUnits(0, 'CNY'), '0.00');
    assert.equal(formatMinorUnits(100, 'USD'), '1.00');
  });

  it('renders JPY (no minor digits) as whole yen: 500 is 500', () => {
    assert.equal(formatMinorUnits(500, 'JPY'), '500');
    assert.equal(formatMinorUnits(0, 'JPY'), '0');
  });

  it('puts the sign in front of negative amounts (refunds, reversals)', () => {
    assert.equal(formatMinorUnits(-12_345, 'CNY'), '-123.45');
    assert.equal(formatMinorUnits(-5, 'CNY'), '-0.05');
    assert.equal(formatMinorUnits(-500, 'JPY'), '-500');
  });

  it('round-trips: the decimal string times 10^exponent gives back the minor units', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }),
        fc.constantFrom(...currencies),
        (amount, currency) => {
          const text = formatMinorUnits(amount, currency);
          const exponent = currencyExponents[currency];
          const shape = exponent === 0 ? /^-?\d+$/ : new RegExp(`^-?\\d+\\.\\d{${exponent}}$`);
          assert.match(text, shape);
          assert.equal(Number(text.replace('.', '')), amount);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('amountSchema', () => {
  const schema = amountSchema(100_000_000);

  it('accepts positive integers up to the maximum', () => {
    for (const ok of [1, 12_345, 100_000_000]) assert.equal(schema.safeParse(ok).success, true);
  });

  for (const [label, bad] of [
    ['a decimal (12.5)', 12.5],
    ['zero', 0],
    ['a negative (-1)', -1],
    ['above the maximum', 100_000_001],
    ['a string', '100'],
    ['NaN', Number.NaN],
  ] as const) {
    it(`rejects ${label}`, () => {
      assert.equal(schema.safeParse(bad).success, false);
    });
  }

  it('says why a decimal is rejected', () => {
    const result = schema.safeParse(12.5);
    assert.equal(result.success, false);
    assert.match(result.error?.issues[0]?.message ?? '', /integer/);
  });
});

describe('newId', () => {
  const prefixes: IdPrefix[] = ['po', 'att', 'rf', 'evt', 'ntf', 'mch', 'key', 'dlv'];

  it('makes a pay-order id of the documented shape', () => {
    assert.match(newId('po', Date.now(), Math.random), /^po_[0-9A-Z]{26}$/);
  });

  it('uses Crockford base32 (no I, L, O, U) after any prefix', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...prefixes),
        fc.integer({ min: 0, max: 2 ** 48 }),
        fc.infiniteStream(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })),
        (prefix, nowMs, randoms) => {
          const id = newId(prefix, nowMs, () => randoms.next().value);
          assert.match(id, new RegExp(`^${prefix}_[0-9A-HJKMNP-TV-Z]{26}$`));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is deterministic given the clock and the randomness (safe in workflows)', () => {
    assert.equal(
      newId('po', 1_700_000_000_000, () => 0.5),
      newId('po', 1_700_000_000_000, () => 0.5),
    );
  });

  it('sorts by creation time: ids made at increasing times sort in that order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 2 ** 48 }), { minLength: 2, maxLength: 20 }),
        (times) => {
          const sortedTimes = [...times].sort((a, b) => a - b);
          // Random tails so a later id may well have a "smaller" random part.
          const ids = sortedTimes.map((t) => newId('po', t, Math.random));
          const sortedIds = [...ids].sort();
          assert.deepEqual(sortedIds, ids);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('sorts a later millisecond after an earlier one whatever the random tail', () => {
    const t = Date.UTC(2025, 0, 1);
    const early = newId('po', t, () => 0.999_999);
    const late = newId('po', t + 1, () => 0);
    assert.ok(early < late, `${early} < ${late}`);
  });
});

describe('loadConfig', () => {
  it('works with an empty environment, using the defaults', () => {
    const config = loadConfig({});
    assert.equal(config.API_PORT, 3000);
    assert.equal(config.LOG_LEVEL, 'info');
    assert.equal(config.PAY_ORDER_MAX_AMOUNT, 100_000_000);
    assert.equal(config.publicApiUrl, 'http://localhost:3000');
    assert.equal(config.simulatorUrl, 'http://localhost:4010');
    assert.equal(config.DATABASE_URL, undefined);
    assert.ok(Array.isArray(config.SIMULATOR_NOTIFY_RETRY_SECONDS));
    assert.equal(config.SIMULATOR_NOTIFY_RETRY_SECONDS[0], 15);
    assert.deepEqual(config.SANDBOX_CURRENCIES, currencies);
    assert.deepEqual(loadConfig({ SANDBOX_CURRENCIES: 'CNY, USD' }).SANDBOX_CURRENCIES, [
      'CNY',
      'USD',
    ]);
  });

  it('coerces numbers from the environment and derives URLs from them', () => {
    const config = loadConfig({ API_PORT: '8080', SIMULATOR_PORT: '9090', LOG_LEVEL: 'debug' });
    assert.equal(config.API_PORT, 8080);
    assert.equal(config.LOG_LEVEL, 'debug');
    assert.equal(config.publicApiUrl, 'http://localhost:8080');
    assert.equal(config.simulatorUrl, 'http://localhost:9090');
  });

  it("reads the simulator's variables under their older SANDBOX_ names; the new names win", () => {
    const old = loadConfig({
      SANDBOX_PORT: '9191',
      SANDBOX_HOST: '0.0.0.0',
      SANDBOX_DATA_FILE: '/tmp/journal.jsonl',
      SANDBOX_NOTIFY_RETRY_SECONDS: '1,2',
    });
    assert.equal(old.SIMULATOR_PORT, 9191);
    assert.equal(old.SIMULATOR_HOST, '0.0.0.0');
    assert.equal(old.simulatorDataFile, '/tmp/journal.jsonl');
    assert.deepEqual(old.SIMULATOR_NOTIFY_RETRY_SECONDS, [1, 2]);
    assert.equal(old.simulatorUrl, 'http://localhost:9191');
    assert.equal(loadConfig({ SANDBOX_URL: 'http://sim:1/' }).simulatorUrl, 'http://sim:1/');
    const both = loadConfig({ SANDBOX_PORT: '9191', SIMULATOR_PORT: '9292' });
    assert.equal(both.SIMULATOR_PORT, 9292);
  });

  it('treats blank optional text as unset', () => {
    const config = loadConfig({ PUBLIC_API_URL: '  ', DATABASE_URL: '' });
    assert.equal(config.PUBLIC_API_URL, undefined);
    assert.equal(config.DATABASE_URL, undefined);
    assert.equal(config.publicApiUrl, 'http://localhost:3000');
  });

  for (const [name, value] of [
    ['API_PORT', 'abc'],
    ['API_PORT', '70000'],
    ['LOG_LEVEL', 'loud'],
    ['PAY_ORDER_MAX_AMOUNT', '0'],
    ['SANDBOX_SECRET', 'short'],
    ['PUBLIC_API_URL', 'not a url'],
    ['SIMULATOR_NOTIFY_RETRY_SECONDS', '15,soon,30'],
    ['SANDBOX_CURRENCIES', 'CNY,XYZ'],
    ['SANDBOX_CURRENCIES', 'CNY,,USD'],
  ] as const) {
    it(`rejects ${name}=${JSON.stringify(value)} with a ConfigError naming the variable`, () => {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, 'a ConfigError');
          assert.match(err.message, new RegExp(`\\b${name}\\b`));
          return true;
        },
      );
    });
  }

  it('is test mode by default, and live mode names every variable it lacks or refuses', () => {
    assert.equal(loadConfig({}).PAYCENTER_MODE, 'test');
    assert.equal(loadConfig({}).TEMPORAL_TASK_QUEUE, 'payments');
    assert.throws(
      () => loadConfig({ PAYCENTER_MODE: 'live', PAYCENTER_DEMO_API_KEY: 'pk_test_x' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        for (const variable of [
          'PAYCENTER_SECRET_KEY is required',
          'CASHIER_TOKEN_SECRET is required',
          'PUBLIC_API_URL is required',
          'DATABASE_URL is required',
          'TEMPORAL_ADDRESS is required',
          'PAYCENTER_DEMO_API_KEY must not be set',
          'no channel is configured',
        ]) {
          assert.match(err.message, new RegExp(variable));
        }
        return true;
      },
    );
  });

  it('loads a live configuration with one complete channel, on its own task queue', () => {
    const config = loadConfig({
      PAYCENTER_MODE: 'live',
      PAYCENTER_SECRET_KEY: 'b'.repeat(64),
      CASHIER_TOKEN_SECRET: 'c'.repeat(32),
      PUBLIC_API_URL: 'https://pay.example.com',
      DATABASE_URL: 'postgres://paycenter@db.internal/paycenter_live',
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_TLS: 'true',
      BANKCARD_MER_ID: '898000000000001',
      BANKCARD_SIGN_PRIVATE_KEY: 'pem',
      BANKCARD_SIGN_CERT_ID: '1',
      BANKCARD_VERIFY_PUBLIC_KEY: 'pem',
      BANKCARD_VERIFY_CERT_ID: '2',
    });
    assert.equal(config.PAYCENTER_MODE, 'live');
    assert.equal(config.TEMPORAL_TASK_QUEUE, 'payments-live');
  });

  it('keeps test and live task queues apart, and test mode off production gateways', () => {
    assert.throws(
      () => loadConfig({ TEMPORAL_TASK_QUEUE: 'payments-live' }),
      /Test mode refuses to start:[\s\S]*TEMPORAL_TASK_QUEUE "payments-live" is a live queue/,
    );
    assert.throws(
      () =>
        loadConfig({
          ALIPAY_GATEWAY_URL: 'https://openapi.alipay.com/gateway.do',
          WECHATPAY_BASE_URL: 'https://api2.mch.weixin.qq.com',
        }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /ALIPAY_GATEWAY_URL .* is a production gateway/.test(err.message) &&
        /WECHATPAY_BASE_URL .* is a production gateway/.test(err.message),
    );
    assert.throws(
      () => loadConfig({ PAYCENTER_MODE: 'live', TEMPORAL_TASK_QUEUE: 'payments' }),
      /TEMPORAL_TASK_QUEUE "payments" must end in -live/,
    );
  });

  it('names every bad variable at once', () => {
    assert.throws(
      () => loadConfig({ API_PORT: 'abc', LOG_LEVEL: 'loud' }),
      (err: unknown) =>
        err instanceof ConfigError && /API_PORT/.test(err.message) && /LOG_LEVEL/.test(err.message),
    );
  });
});

describe('parseMajorUnits: a channel decimal amount back to minor units', () => {
  it('is exact at the edges', () => {
    assert.equal(parseMajorUnits('0.01', 'CNY'), 1);
    assert.equal(parseMajorUnits('100000000.00', 'CNY'), 10_000_000_000);
    assert.equal(parseMajorUnits('123.4', 'CNY'), 12_340);
    assert.equal(parseMajorUnits('7', 'CNY'), 700);
    assert.equal(parseMajorUnits('500', 'JPY'), 500);
    assert.equal(parseMajorUnits('0.29', 'USD'), 29); // 0.29 * 100 is 28.999999999999996 as a float
  });

  it('round-trips with formatMinorUnits', () => {
    for (const amount of [1, 9, 10, 99, 100, 12_345, 10_000_000_000]) {
      assert.equal(parseMajorUnits(formatMinorUnits(amount, 'CNY'), 'CNY'), amount);
    }
  });

  it('refuses more decimals than the currency has, signs, exponents and junk', () => {
    for (const [text, currency] of [
      ['0.001', 'CNY'],
      ['1.5', 'JPY'],
      ['-1.00', 'CNY'],
      ['1e3', 'CNY'],
      ['', 'CNY'],
      ['1,000.00', 'CNY'],
      ['0x10', 'CNY'],
    ] as const) {
      assert.throws(() => parseMajorUnits(text, currency), RangeError, `${text} ${currency}`);
    }
  });
});

describe('a currency with three decimals', () => {
  it('formats and parses KWD exactly', () => {
    assert.equal(formatMinorUnits(1_234, 'KWD'), '1.234');
    assert.equal(parseMajorUnits('1.234', 'KWD'), 1_234);
    assert.throws(() => parseMajorUnits('1.2345', 'KWD'), RangeError);
  });
});
