// Entry point the worker bundles: every workflow type paycenter runs.
export { payment } from './payment';
export { merchantNotification } from './merchantNotification';
export { merchantRefund, strayPayment } from './refund';
export { dailyReconciliation, reconcileDay } from './reconcile';
export { safetyNetScan } from './safetyNet';
