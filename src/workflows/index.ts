// Entry point the worker bundles: every workflow type paycenter runs, each exported under the
// type name its contract (./contracts) gives it (test/unit/workflowContracts.test.ts checks).
export { payment } from './payment';
export { merchantNotification, merchantRedelivery } from './merchantNotification';
export { merchantRefund, strayPayment } from './refund';
export { dailyReconciliation, reconcileDay } from './reconcile';
export { safetyNetScan } from './safetyNet';
