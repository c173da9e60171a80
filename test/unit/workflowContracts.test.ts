// The workflow contracts (src/workflows/contracts): the bundle exports one function per contract
// under its type name, and the names and IDs running workflows and recorded histories depend on
// never change.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as workflows from '../../src/workflows';
import type { WorkflowImplementations } from '../../src/workflows/contracts/contract';
import {
  dailyReconciliationWorkflow,
  dailyReconciliationWorkflowId,
} from '../../src/workflows/contracts/dailyReconciliation';
import {
  merchantNotificationWorkflow,
  merchantNotificationWorkflowId,
  merchantRedeliveryWorkflow,
  merchantRedeliveryWorkflowId,
} from '../../src/workflows/contracts/merchantNotification';
import {
  merchantRefundWorkflow,
  merchantRefundWorkflowId,
} from '../../src/workflows/contracts/merchantRefund';
import {
  attention,
  clearAttention,
  close,
  notify,
  pay,
  paymentWorkflow,
  paymentWorkflowId,
  status,
  sync,
} from '../../src/workflows/contracts/payment';
import {
  reconcileDayWorkflow,
  reconcileDayWorkflowId,
} from '../../src/workflows/contracts/reconcileDay';
import {
  safetyNetScanWorkflow,
  safetyNetScanWorkflowId,
} from '../../src/workflows/contracts/safetyNetScan';
import {
  strayPaymentWorkflow,
  strayPaymentWorkflowId,
} from '../../src/workflows/contracts/strayPayment';

const contracts = [
  paymentWorkflow,
  merchantNotificationWorkflow,
  merchantRedeliveryWorkflow,
  merchantRefundWorkflow,
  strayPaymentWorkflow,
  dailyReconciliationWorkflow,
  reconcileDayWorkflow,
  safetyNetScanWorkflow,
] as const;

// Compile-time: each contract's type name is exported with the contract's signature.
workflows satisfies WorkflowImplementations<(typeof contracts)[number]>;

describe('workflow contracts', () => {
  it('the bundle exports exactly one function per contract, under its type name', () => {
    assert.deepEqual(Object.keys(workflows).sort(), contracts.map((c) => c.type).sort());
    for (const { type } of contracts) {
      assert.equal(typeof workflows[type], 'function', type);
      assert.equal(workflows[type].name, type);
    }
  });

  it('keeps the type names, IDs and message names running workflows depend on', () => {
    assert.deepEqual(
      contracts.map((c) => c.type),
      [
        'payment',
        'merchantNotification',
        'merchantRedelivery',
        'merchantRefund',
        'strayPayment',
        'dailyReconciliation',
        'reconcileDay',
        'safetyNetScan',
      ],
    );
    assert.equal(paymentWorkflowId('po_1'), 'po_1');
    assert.equal(merchantRefundWorkflowId('rf_1'), 'rf_1');
    assert.equal(merchantNotificationWorkflowId('evt_1'), 'evt_1');
    assert.equal(merchantRedeliveryWorkflowId('dlv_1'), 'dlv_1');
    assert.equal(strayPaymentWorkflowId('att_1'), 'stray_att_1');
    assert.equal(
      reconcileDayWorkflowId('q', { channel: 'alipay', day: '2024-05-01' }),
      'reconcile:q:alipay:2024-05-01',
    );
    assert.equal(dailyReconciliationWorkflowId('q'), 'reconcile-daily:q');
    assert.equal(safetyNetScanWorkflowId('q'), 'safety-net:q');
    assert.equal(safetyNetScanWorkflowId('q', 'u'), 'safety-net:q:ops-u');
    assert.deepEqual(
      [pay, notify, sync, close, status, attention, clearAttention].map((d) => d.name),
      ['pay', 'notify', 'sync', 'close', 'status', 'attention', 'clearAttention'],
    );
  });
});
