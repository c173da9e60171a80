// Activities of the bare ceiling workflow: the payment's activity names, doing nothing.
const nothing = async (): Promise<void> => {};

export const bareActivities = {
  savePayOrder: nothing,
  openChannelOrder: nothing,
  recordMerchantEvent: nothing,
  deliverMerchantEvent: nothing,
  openChannelOrderBetweenSaves: nothing,
  recordAndDeliverMerchantEvent: nothing,
};

export type BareActivities = typeof bareActivities;
