// Every activity the payment, refund and stray-payment workflows call, as one type (for fakes).
import type { ChannelCallActivities } from './channelCalls';
import type { ChannelOrderOpeningActivities } from './channelOrderOpening';
import type { PayOrderRecordActivities } from './payOrderRecords';
import type { StrayPaymentActivities } from './strayPayments';

export type PaymentActivities = ChannelCallActivities &
  ChannelOrderOpeningActivities &
  PayOrderRecordActivities &
  StrayPaymentActivities;
