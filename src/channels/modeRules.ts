// Each mode's rules for the real channels' configuration, checked once by loadConfig
// (src/config.ts): the variables that make up a channel's credentials, and the production gateways
// a test process must never name. Kept apart from ./credentials.ts, which reads the loaded
// configuration, so that src/config.ts and the channels do not import each other.

/**
 * The variables that make up each real channel's credentials. In live mode a channel is used only
 * when every one is set, and a channel with some set but not all stops the process from starting.
 */
export const channelVariables = {
  alipay: ['ALIPAY_APP_ID', 'ALIPAY_APP_PRIVATE_KEY', 'ALIPAY_PUBLIC_KEY'],
  wechatpay: [
    'WECHATPAY_MCH_ID',
    'WECHATPAY_APP_ID',
    'WECHATPAY_MCH_PRIVATE_KEY',
    'WECHATPAY_MCH_SERIAL_NO',
    'WECHATPAY_API_V3_KEY',
    'WECHATPAY_PLATFORM_PUBLIC_KEY',
    'WECHATPAY_PLATFORM_SERIAL_NO',
  ],
  bankcard: [
    'BANKCARD_MER_ID',
    'BANKCARD_SIGN_PRIVATE_KEY',
    'BANKCARD_SIGN_CERT_ID',
    'BANKCARD_VERIFY_PUBLIC_KEY',
    'BANKCARD_VERIFY_CERT_ID',
  ],
} as const;

/** Where each real channel answers in production, unless its gateway variable says otherwise. */
export const productionGateways = {
  alipay: 'https://openapi.alipay.com/gateway.do',
  wechatpay: 'https://api.mch.weixin.qq.com',
  bankcard: 'https://gateway.95516.com',
};

/**
 * Gateway variables that name a real channel's production host: a test process must never pay
 * there (its keys may be generated, its merchants' keys are test keys).
 */
export function productionGatewayProblems(gateways: {
  ALIPAY_GATEWAY_URL?: string;
  WECHATPAY_BASE_URL?: string;
  BANKCARD_GATEWAY_URL?: string;
}): string[] {
  const productionHosts = new Set([
    ...Object.values(productionGateways).map((url) => new URL(url).hostname),
    'api2.mch.weixin.qq.com',
  ]);
  return Object.entries(gateways)
    .filter(([, url]) => url !== undefined && productionHosts.has(new URL(url).hostname))
    .map(
      ([variable, url]) =>
        `${variable} ${url} is a production gateway; test mode pays only through the channel simulator`,
    );
}

/**
 * Why a live process must not start with these variables set: for each channel with some of its
 * credentials but not all, the missing variables by name; none at all when no channel is complete.
 */
export function liveCredentialProblems(isSet: (variable: string) => boolean): string[] {
  const problems: string[] = [];
  let complete = 0;
  for (const [channel, variables] of Object.entries(channelVariables)) {
    const missing = variables.filter((variable) => !isSet(variable));
    if (missing.length === 0) complete++;
    else if (missing.length < variables.length) {
      const set = variables.filter(isSet);
      problems.push(
        `${missing.join(', ')}: ${channel} is partly configured (${set.join(', ')} set); ` +
          'live mode uses a channel only with all of its credentials',
      );
    }
  }
  if (complete === 0 && problems.length === 0) {
    problems.push(
      'no channel is configured: live mode pays only through real channels; set all of ' +
        Object.values(channelVariables)
          .map((variables) => variables.join(', '))
          .join(' or of '),
    );
  }
  return problems;
}
