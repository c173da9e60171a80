// What the cashier says to the payer, in each language it speaks. The page is rendered in one
// language; the strings its script needs travel with it.

export const languages = ['zh-CN', 'en'] as const;
export type Language = (typeof languages)[number];

const en = {
  pageTitle: 'Checkout',
  languageName: 'English',
  merchant: 'Merchant',
  orderNo: 'Order number',
  amount: 'Amount',
  timeLeft: 'Time left to pay',
  chooseHowToPay: 'Choose how to pay',
  waitingForPayment: 'Waiting for your payment',
  opening: 'Opening the payment…',
  scanWith: 'Scan this code with the {channel} app to pay',
  paySheetOpened: 'Finish the payment in the {channel} window',
  paid: 'Payment received, do not pay again',
  expired: 'This order has expired and can no longer be paid',
  closed: 'This order is closed and can no longer be paid',
  didYouPay: 'Did you complete the payment?',
  iHavePaid: 'I have paid',
  iHadAProblem: 'I had a problem',
  checking: 'Checking with the payment channel…',
  noPaymentYet: 'No payment found yet',
  noPaymentYetHelp:
    'If you have just paid, it can take a moment to arrive. You can keep waiting, pay another way (the first payment is cancelled), or contact the merchant.',
  keepWaiting: 'Keep waiting',
  payAnotherWay: 'Pay another way',
  contactMerchant: 'Contact the merchant',
  contactMerchantHelp: 'Give the merchant this order number: {orderNo}',
  backToMerchant: 'Back to the merchant',
  backToChoices: 'Choose how to pay',
  cannotStart: 'The payment could not be started: {reason}',
  tooManyTries: 'Too many tries. Please wait {seconds} s and try again.',
  networkError: 'The connection failed. Please check it and try again.',
  linkInvalid: 'This payment link is not valid. Ask the merchant for a new one.',
  resultTitle: 'Payment result',
  stillProcessing: 'We have not received the payment yet. This page updates by itself.',
  minutesSeconds: '{minutes} min {seconds} s',
} as const;

export type MessageKey = keyof typeof en;
export type Messages = Record<MessageKey, string>;

const zhCN: Messages = {
  pageTitle: '收银台',
  languageName: '中文',
  merchant: '商家',
  orderNo: '订单号',
  amount: '金额',
  timeLeft: '剩余支付时间',
  chooseHowToPay: '选择支付方式',
  waitingForPayment: '等待支付',
  opening: '正在发起支付…',
  scanWith: '请使用{channel}扫描二维码完成支付',
  paySheetOpened: '请在{channel}窗口中完成支付',
  paid: '已收到付款，请勿重复支付',
  expired: '订单已过期，无法继续支付',
  closed: '订单已关闭，无法继续支付',
  didYouPay: '您是否已完成支付？',
  iHavePaid: '我已支付',
  iHadAProblem: '支付遇到问题',
  checking: '正在向支付渠道查询…',
  noPaymentYet: '暂未查询到付款',
  noPaymentYetHelp:
    '如果您刚刚完成支付，到账可能稍有延迟。您可以继续等待、更换支付方式（原支付将被取消），或联系商家。',
  keepWaiting: '继续等待',
  payAnotherWay: '更换支付方式',
  contactMerchant: '联系商家',
  contactMerchantHelp: '请向商家提供订单号：{orderNo}',
  backToMerchant: '返回商家',
  backToChoices: '选择支付方式',
  cannotStart: '无法发起支付：{reason}',
  tooManyTries: '尝试次数过多，请 {seconds} 秒后再试。',
  networkError: '网络连接失败，请检查后重试。',
  linkInvalid: '支付链接无效，请向商家索取新的链接。',
  resultTitle: '支付结果',
  stillProcessing: '暂未收到付款，本页面会自动更新。',
  minutesSeconds: '{minutes} 分 {seconds} 秒',
};

const messages: Record<Language, Messages> = { en, 'zh-CN': zhCN };

/** How channels and methods are called on the page. */
const channelNames: Record<Language, Record<string, string>> = {
  en: { alipay: 'Alipay', wechatpay: 'WeChat Pay', bankcard: 'Bank card', sandbox: 'Sandbox' },
  'zh-CN': { alipay: '支付宝', wechatpay: '微信支付', bankcard: '银行卡', sandbox: '沙箱' },
};
const methodNames: Record<Language, Record<string, string>> = {
  en: {
    page: 'pay on its website',
    qr: 'scan a QR code',
    native: 'scan a QR code',
    jsapi: 'pay in WeChat',
    quick: 'quick pay with a bound card',
  },
  'zh-CN': {
    page: '网页支付',
    qr: '扫码支付',
    native: '扫码支付',
    jsapi: '微信内支付',
    quick: '快捷支付',
  },
};

export function messagesIn(language: Language): Messages {
  return messages[language];
}

export function channelName(language: Language, channel: string): string {
  return channelNames[language][channel] ?? channel;
}

export function methodName(language: Language, method: string): string {
  return methodNames[language][method] ?? method;
}

/** Fills `{name}` placeholders. */
export function fill(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in values ? String(values[name]) : whole,
  );
}

/**
 * The page's language: the one the payer chose (`?lang=`), else the first of Accept-Language we
 * speak (any Chinese reads zh-CN), else Chinese, the language of the channels' own pages.
 */
export function pickLanguage(chosen: string | undefined, acceptLanguage: string | undefined) {
  if (chosen && (languages as readonly string[]).includes(chosen)) return chosen as Language;
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find(Boolean);
      return { tag: tag.toLowerCase(), q: q === undefined ? 1 : Number(q), index };
    })
    .filter((entry) => entry.tag && entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const { tag } of ranked) {
    if (tag === 'zh' || tag.startsWith('zh-')) return 'zh-CN';
    if (tag === 'en' || tag.startsWith('en-')) return 'en';
  }
  return 'zh-CN';
}
