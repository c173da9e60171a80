// The cashier's HTML: the page a payer opens from the merchant's cashierUrl, and the same page as
// the result the channel sends the payer back to. It works without script (a form per choice);
// /cashier/assets/cashier.js adds the countdown, the QR code, the "did you pay?" dialog and the
// status checks that keep a paid order from being offered again.
import { escapeHtml } from '../../html';
import { formatMinorUnits } from '../../domain/money';
import type { HandOff } from '../../channels/types';
import type { PayerView } from '../../services/payOrders';
import {
  channelName,
  fill,
  languages,
  messagesIn,
  methodName,
  type Language,
  type Messages,
} from './messages';

export interface PayChoice {
  channel: string;
  method: string;
  handOff: HandOff;
}

export interface CashierPage {
  order: PayerView;
  /** The query that opens this order's cashier: its token (and the payer's ID, when given). */
  access: URLSearchParams;
  language: Language;
  /** `result`: where the channel sends the payer back; it checks the outcome rather than offers. */
  mode: 'choose' | 'result';
  choices: PayChoice[];
  now: Date;
}

/** What the page says the order's state is, in a word its script also uses. */
export type OrderState = 'payable' | 'paid' | 'expired' | 'closed';

export function orderState(order: PayerView, now: Date): OrderState {
  if (order.status === 'SUCCEEDED') return 'paid';
  if (order.status === 'CLOSED')
    return Date.parse(order.expiresAt) <= now.getTime() ? 'expired' : 'closed';
  return Date.parse(order.expiresAt) <= now.getTime() ? 'expired' : 'payable';
}

const stateMessage = {
  paid: 'paid',
  expired: 'expired',
  closed: 'closed',
  payable: 'waitingForPayment',
} as const satisfies Record<OrderState, keyof Messages>;

function urlOf(id: string, action: string, query: URLSearchParams): string {
  return `/cashier/${encodeURIComponent(id)}${action}?${query.toString()}`;
}

function withLanguage(query: URLSearchParams, language: Language): URLSearchParams {
  const next = new URLSearchParams(query);
  next.set('lang', language);
  return next;
}

/** JSON inside a non-executable script element: `<` is escaped so no text can close it. */
function dataBlock(data: unknown): string {
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  return `<script type="application/json" id="cashier-data">${json}</script>`;
}

function document(language: Language, title: string, body: string): string {
  return (
    `<!doctype html><html lang="${language}"><head><meta charset="utf-8">` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${escapeHtml(title)}</title>` +
    '<link rel="stylesheet" href="/cashier/assets/cashier.css">' +
    '<script src="/cashier/assets/cashier.js" defer></script>' +
    `</head><body>${body}</body></html>`
  );
}

export function renderCashierPage(page: CashierPage): string {
  const { order, access, language, mode } = page;
  const text = messagesIn(language);
  const state = orderState(order, page.now);
  const query = withLanguage(access, language);
  const amount = `${formatMinorUnits(order.amount, order.currency)} ${order.currency}`;
  const languageLinks = languages
    .map((other) => {
      const current = other === language ? ' aria-current="true"' : '';
      const href = escapeHtml(
        urlOf(order.id, mode === 'result' ? '/result' : '', withLanguage(access, other)),
      );
      return `<a href="${href}" hreflang="${other}" lang="${other}"${current}>${escapeHtml(messagesIn(other).languageName)}</a>`;
    })
    .join(' ');
  const payAction = escapeHtml(urlOf(order.id, '/pay', query));
  const choices =
    mode === 'choose' && state === 'payable'
      ? page.choices
          .map(
            (choice) =>
              `<form class="pay-choice-form" method="post" action="${payAction}">` +
              `<input type="hidden" name="channel" value="${escapeHtml(choice.channel)}">` +
              `<input type="hidden" name="method" value="${escapeHtml(choice.method)}">` +
              `<button class="pay-choice" data-channel="${escapeHtml(choice.channel)}" data-method="${escapeHtml(choice.method)}" data-hand-off="${choice.handOff}">` +
              `<span class="channel">${escapeHtml(channelName(language, choice.channel))}</span> ` +
              `<span class="method">${escapeHtml(methodName(language, choice.method))}</span></button></form>`,
          )
          .join('')
      : '';
  const heading = mode === 'result' ? text.resultTitle : text.pageTitle;
  const body =
    `<main class="cashier" data-mode="${mode}">` +
    `<nav class="languages" aria-label="Language">${languageLinks}</nav>` +
    `<header><p class="merchant">${escapeHtml(order.merchantName)}</p>` +
    `<h1 id="subject">${escapeHtml(order.subject)}</h1>` +
    `<p class="amount"><span>${escapeHtml(text.amount)}</span> <strong id="amount">${escapeHtml(amount)}</strong></p>` +
    `<p class="order-no">${escapeHtml(text.orderNo)}: <span>${escapeHtml(order.merchantOrderNo)}</span></p></header>` +
    `<p id="countdown"${state === 'payable' ? '' : ' hidden'}>${escapeHtml(text.timeLeft)}: <time datetime="${escapeHtml(order.expiresAt)}"></time></p>` +
    `<p id="status" role="status" aria-live="polite" data-state="${state}">${escapeHtml(text[stateMessage[state]])}</p>` +
    `<section id="choices" aria-labelledby="choices-title"${choices ? '' : ' hidden'}>` +
    `<h2 id="choices-title">${escapeHtml(text.chooseHowToPay)}</h2>${choices}</section>` +
    '<section id="qr-panel" hidden><p id="qr-caption"></p><div id="qr"></div></section>' +
    '<p id="problem" role="alert" hidden></p>' +
    paidCheckDialog(text, order.merchantOrderNo) +
    `<p class="links"><a id="back-to-choices" href="${escapeHtml(urlOf(order.id, '', query))}" hidden>${escapeHtml(text.backToChoices)}</a> ` +
    `<a id="back-to-merchant" href="${escapeHtml(order.returnUrl ?? '')}" hidden>${escapeHtml(text.backToMerchant)}</a></p>` +
    '</main>' +
    dataBlock({
      id: order.id,
      mode,
      state,
      expiresAt: order.expiresAt,
      hasReturnUrl: order.returnUrl !== null,
      urls: {
        view: urlOf(order.id, '/view', query),
        pay: urlOf(order.id, '/pay', query),
        sync: urlOf(order.id, '/sync', query),
        result: urlOf(order.id, '/result', query),
      },
      text,
      channelNames: Object.fromEntries(
        page.choices.map((c) => [c.channel, channelName(language, c.channel)]),
      ),
    });
  return document(language, `${heading} · ${order.subject}`, body);
}

function paidCheckDialog(text: Messages, merchantOrderNo: string): string {
  return (
    '<dialog id="paid-check" aria-labelledby="paid-check-title">' +
    `<h2 id="paid-check-title">${escapeHtml(text.didYouPay)}</h2>` +
    '<p id="paid-check-progress" role="status" aria-live="polite"></p>' +
    `<div class="actions"><button id="i-have-paid" type="button">${escapeHtml(text.iHavePaid)}</button>` +
    `<button id="had-problem" type="button" class="secondary">${escapeHtml(text.iHadAProblem)}</button></div>` +
    '<div id="not-found" hidden>' +
    `<p><strong>${escapeHtml(text.noPaymentYet)}</strong></p><p>${escapeHtml(text.noPaymentYetHelp)}</p>` +
    `<div class="actions"><button id="keep-waiting" type="button">${escapeHtml(text.keepWaiting)}</button>` +
    `<button id="pay-another-way" type="button" class="secondary">${escapeHtml(text.payAnotherWay)}</button>` +
    `<button id="contact-merchant" type="button" class="secondary">${escapeHtml(text.contactMerchant)}</button></div>` +
    `<p id="contact-help" hidden>${escapeHtml(fill(text.contactMerchantHelp, { orderNo: merchantOrderNo }))}</p>` +
    '</div></dialog>'
  );
}

/** The page for a link that does not open the order (no token, a forged one). */
export function renderInvalidLink(language: Language): string {
  const text = messagesIn(language);
  return document(
    language,
    text.pageTitle,
    `<main class="cashier"><p id="status" role="status" data-state="invalid">${escapeHtml(text.linkInvalid)}</p></main>`,
  );
}

/** The answer to a pay without script: where to scan, or what stopped the pay. */
export function renderNotice(
  page: Pick<CashierPage, 'order' | 'access' | 'language'>,
  notice: { message: string; qrSvg?: string },
): string {
  const text = messagesIn(page.language);
  const back = escapeHtml(urlOf(page.order.id, '', withLanguage(page.access, page.language)));
  return document(
    page.language,
    `${text.pageTitle} · ${page.order.subject}`,
    `<main class="cashier"><h1 id="subject">${escapeHtml(page.order.subject)}</h1>` +
      `<p id="status" role="status">${escapeHtml(notice.message)}</p>` +
      (notice.qrSvg ? `<div id="qr">${notice.qrSvg}</div>` : '') +
      `<p class="links"><a id="back-to-choices" href="${back}">${escapeHtml(text.backToChoices)}</a></p></main>`,
  );
}
