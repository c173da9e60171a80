// Rules behind refund safety (issue 11): which channel answers only say "try later", and when a
// reconciliation difference for a missed payment counts as corrected.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTryLater } from '../../src/channels/alipay/protocol';
import { tryLaterCodes } from '../../src/channels/wechatpay/protocol';
import { missedPaymentResolution } from '../../src/domain/reconciliation';

describe('rate limits are no refusals', () => {
  it('defect 3: Alipay rate-limit and system-error sub_codes are try-later answers, refusals are not', () => {
    for (const subCode of ['isv.app-call-limited', 'ACQ.SYSTEM_ERROR', 'isp.unknow-error']) {
      assert.equal(isTryLater(subCode), true, subCode);
    }
    for (const subCode of ['ACQ.TRADE_NOT_EXIST', 'ACQ.REFUND_AMT_NOT_EQUAL_TOTAL', '']) {
      assert.equal(isTryLater(subCode), false, subCode);
    }
  });

  it("defect 3: WeChat Pay's FREQUENCY_LIMITED is a try-later answer", () => {
    assert.ok(tryLaterCodes.includes('FREQUENCY_LIMITED'));
    assert.ok(!tryLaterCodes.includes('RESOURCE_NOT_EXISTS'));
  });
});

describe('a missed payment after its correction', () => {
  it('defect 6: is CORRECTED only once it paid the order or a refund of it succeeded', () => {
    assert.equal(missedPaymentResolution({ paidTheOrder: true, refunds: [] }), 'CORRECTED');
    assert.equal(
      missedPaymentResolution({ paidTheOrder: false, refunds: ['SUCCEEDED'] }),
      'CORRECTED',
    );
    assert.equal(
      missedPaymentResolution({ paidTheOrder: false, refunds: ['FAILED', 'SUCCEEDED'] }),
      'CORRECTED',
    );
    assert.equal(
      missedPaymentResolution({ paidTheOrder: false, refunds: ['PROCESSING'] }),
      'CORRECTING',
    );
    assert.equal(missedPaymentResolution({ paidTheOrder: false, refunds: [] }), 'CORRECTING');
    assert.equal(missedPaymentResolution({ paidTheOrder: false, refunds: ['FAILED'] }), 'OPS');
  });
});
