// The ops console's page of one pay order: its whole story (src/services/orderStory.ts) and what
// an operator can do about it: sync with the channel now, clear NeedsAttention with a note,
// redeliver a merchant event.
import { newId } from '../../domain/ids';
import { auditEntryView } from '../../services/audit';
import type { OrderStory } from '../../services/orderStory';
import { auditHeads, auditRows, type WorkflowLink } from './queuePages';
import { cells, consoleUrl, csrfField, html, money, table, time, type Markup } from './markup';

function summary(story: OrderStory, link: WorkflowLink): Markup {
  const o = story.order;
  const uiLink = link(o.id);
  const flag = o.needsAttention
    ? html`<strong class="code" id="attention-code">${o.attentionCode ?? 'FLAGGED'}</strong>
        ${o.attentionReason ?? ''} (since ${time(o.flaggedAt)})`
    : 'no';
  return html`<dl class="summary">
    <dt>Merchant</dt>
    <dd>${story.merchantName} (${o.merchantId})</dd>
    <dt>Merchant order</dt>
    <dd>${o.merchantOrderNo}</dd>
    <dt>Subject</dt>
    <dd>${o.subject}</dd>
    <dt>Amount</dt>
    <dd class="amount">${money(o.amount, o.currency)}</dd>
    <dt>Status</dt>
    <dd id="status">${o.status}</dd>
    <dt>Needs attention</dt>
    <dd id="needs-attention">${flag}</dd>
    <dt>Created</dt>
    <dd>${time(o.createdAt)}</dd>
    <dt>Expires</dt>
    <dd>${time(o.expiresAt)}</dd>
    <dt>Paid</dt>
    <dd>${time(o.paidAt)}</dd>
    <dt>Closed</dt>
    <dd>${time(o.closedAt)}</dd>
    <dt>Workflow</dt>
    <dd>
      ${uiLink ? html`<a id="workflow-link" href="${uiLink}" rel="noreferrer">open in the Temporal UI</a>` : 'pay-order ID in Temporal'}
    </dd>
  </dl>`;
}

function actions(story: OrderStory, csrfToken: string): Markup {
  const o = story.order;
  const clear = o.needsAttention
    ? html`<form
        method="post"
        action="${consoleUrl(`/orders/${o.id}/clear-attention`)}"
        class="action"
        id="clear-attention"
      >
        ${csrfField(csrfToken)}<label for="note">Why it needs no more attention</label>
        <textarea id="note" name="note" required maxlength="2000"></textarea>
        <button type="submit">Clear NeedsAttention</button>
      </form>`
    : '';
  return html`<section id="actions">
    <h2>Actions</h2>
    <form method="post" action="${consoleUrl(`/orders/${o.id}/sync`)}" class="action" id="sync">
      ${csrfField(csrfToken)}<button type="submit">Sync with the channel now</button>
    </form>
    ${clear}
  </section>`;
}

function channelCalls(story: OrderStory): Markup {
  const calls = story.channelCalls;
  if ('unavailable' in calls) {
    return html`<section id="channel-calls">
      <h2>Calls at the channel</h2>
      <p class="problem">The workflow's history could not be read: ${calls.unavailable}</p>
    </section>`;
  }
  return table({
    id: 'channel-calls',
    caption: 'Calls at the channel (the workflow’s current run)',
    heads: ['When', 'Call', 'What', 'Outcome', 'Answer'],
    rows: calls.map((c) =>
      cells([time(c.at), c.activity, c.summary ?? '', c.outcome, c.detail ?? '']),
    ),
    empty: 'No calls at the channel in the workflow’s current run.',
  });
}

function merchantEvents(story: OrderStory, csrfToken: string): Markup {
  return table({
    id: 'merchant-events',
    caption: 'Events sent to the merchant',
    heads: ['Event', 'Type', 'Status', 'Tries', 'Redeliver'],
    rows: story.events.map((e) => {
      const tries = e.tries.map(
        (t) =>
          html`<li value="${t.attemptNo}">
            ${time(t.attemptedAt)} ${t.trigger} →
            ${t.responseStatus ?? 'no answer'}${t.error ? ` (${t.error})` : ''}${t.durationMs === null ? '' : `, ${t.durationMs} ms`}
          </li>`,
      );
      return html`<tr data-event="${e.eventId}">
        <td>${e.eventId}</td>
        <td>${e.type}</td>
        <td class="event-status">${e.status}</td>
        <td>
          <ol class="tries">
            ${tries}
          </ol>
        </td>
        <td>
          <form
            method="post"
            action="${consoleUrl(`/events/${e.eventId}/redeliver`)}"
            class="action"
          >
            ${csrfField(csrfToken)}<input
              type="hidden"
              name="redeliveryId"
              value="${newId('dlv', Date.now(), Math.random)}"
            />
            <button type="submit">Redeliver</button>
          </form>
        </td>
      </tr>`;
    }),
    empty: 'No events: the order has no notify URL, or nothing happened to it yet.',
  });
}

export function orderBody(story: OrderStory, link: WorkflowLink, csrfToken: string): Markup {
  return html`${summary(story, link)}${actions(story, csrfToken)}
  ${table({
    id: 'channel-orders',
    caption: 'Channel orders',
    heads: [
      'Channel order',
      'Channel',
      'Method',
      'Amount',
      'Status',
      'Channel trade',
      'Paid',
      'Opened',
    ],
    rows: story.attempts.map((a) =>
      cells([
        a.outTradeNo,
        a.channel,
        a.method,
        html`${money(a.amount, a.currency)}${a.paidAmount === null ? '' : html`<br /><small>paid ${money(a.paidAmount, a.currency)}</small>`}`,
        a.status,
        a.channelTradeNo ?? '',
        time(a.paidAt),
        time(a.createdAt),
      ]),
    ),
    empty: 'No channel order was opened.',
  })}
  ${channelCalls(story)}
  ${table({
    id: 'notifications',
    caption: 'Notifications received from the channel',
    heads: ['Received', 'Channel order', 'Channel', 'Said', 'Handled', 'Handed over'],
    rows: story.notifications.map((n) => {
      const fact = n.fact as { status?: string } | null;
      return cells([
        time(n.receivedAt),
        n.outTradeNo,
        n.channel,
        fact?.status ?? '',
        n.status,
        n.deliveries,
      ]);
    }),
    empty: 'No notification from the channel.',
  })}
  ${table({
    id: 'refunds',
    caption: 'Refunds',
    heads: ['Refund', 'Amount', 'Reason', 'Status', 'Channel refund', 'Created'],
    rows: story.refunds.map((r) =>
      cells([
        r.id,
        money(r.amount, r.currency),
        r.reason,
        r.status,
        r.channelRefundNo ?? '',
        time(r.createdAt),
      ]),
    ),
    empty: 'No refunds.',
  })}
  ${merchantEvents(story, csrfToken)}
  ${table({
    id: 'findings',
    caption: 'Safety-net findings',
    heads: ['Check', 'Done', 'Seen', 'First seen', 'Cleared'],
    rows: story.findings.map((f) =>
      cells([f.check, f.action, f.timesSeen, time(f.firstSeenAt), time(f.clearedAt)]),
    ),
    empty: 'The safety net found nothing about this order.',
  })}
  ${table({
    id: 'differences',
    caption: 'Reconciliation differences',
    heads: ['Day', 'Kind', 'Channel', 'Books', 'Resolution', 'Note'],
    rows: story.differences.map((d) =>
      cells([
        html`<a href="${consoleUrl(`/reconciliations/${d.channel}/${d.day}`)}"
          >${d.channel} ${d.day}</a
        >`,
        d.kind,
        money(d.channelAmount, d.currency),
        money(d.bookAmount, d.currency),
        d.resolution,
        d.note ?? '',
      ]),
    ),
    empty: 'No reconciliation found a difference about this order.',
  })}
  ${table({
    id: 'audit',
    caption: 'What operators did',
    heads: auditHeads,
    rows: auditRows(story.audit.map(auditEntryView)),
    empty: 'No operator has acted on this order.',
  })}`;
}
