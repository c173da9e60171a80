// The ops console's list pages: sign-in, the exception queue, the safety net's findings and the
// audit log. Each is a function of what the services answered.
import type { listAudit } from '../../services/audit';
import type { payOrdersNeedingAttention } from '../../services/payOrderAttention';
import type { SafetyNetService } from '../../services/safetyNet';
import { auditActions } from '../../domain/schemas';
import { payStatuses } from '../../domain/payOrder';
import { age, consoleUrl, csrfField, html, money, table, time, type Markup } from './markup';

/** Where a workflow opens in the Temporal UI, when the console knows the UI's address. */
export type WorkflowLink = (payOrderId: string) => string | undefined;

export function signInBody(loginToken: string, next: string, problem?: string): Markup {
  return html`${problem ? html`<p class="problem" role="alert" id="problem">${problem}</p>` : ''}
    <form method="post" action="${consoleUrl('/login')}" class="signin">
      <input type="hidden" name="login" value="${loginToken}" />
      <input type="hidden" name="next" value="${next}" />
      <label for="key">Ops key</label>
      <input type="password" id="key" name="key" required autocomplete="current-password" />
      <button type="submit">Sign in</button>
    </form>`;
}

type ExceptionPage = Awaited<ReturnType<typeof payOrdersNeedingAttention>>;

export interface ExceptionFilter {
  merchantId?: string | undefined;
  code?: string | undefined;
  status?: string | undefined;
}

function selectOf(name: string, options: readonly string[], chosen: string | undefined): Markup {
  return html`<select id="${name}" name="${name}">
    <option value="">any</option>
    ${options.map((o) => html`<option${o === chosen ? html` selected` : ''}>${o}</option>`)}
  </select>`;
}

export function exceptionQueueBody(
  found: ExceptionPage,
  filter: ExceptionFilter,
  link: WorkflowLink,
  now: Date,
): Markup {
  const rows = found.items.map((o) => {
    const uiLink = link(o.id);
    return html`<tr data-pay-order="${o.id}">
      <td><a href="${consoleUrl(`/orders/${o.id}`)}">${o.id}</a></td>
      <td>${o.merchantId}<br /><small>${o.merchantOrderNo}</small></td>
      <td class="amount">${money(o.amount, o.currency)}</td>
      <td>${o.status}</td>
      <td>${o.channel ?? '—'}</td>
      <td>
        <strong class="code">${o.attentionCode ?? 'FLAGGED'}</strong><br /><small
          >${o.attentionReason ?? 'no reason recorded'}</small
        >
      </td>
      <td title="${o.flaggedAt}">${age(o.flaggedAt, now)}</td>
      <td>${uiLink ? html`<a href="${uiLink}" rel="noreferrer">workflow</a>` : '—'}</td>
    </tr>`;
  });
  const next = found.nextCursor
    ? html`<p>
        <a id="next-page" href="${consoleUrl('', { ...filter, cursor: found.nextCursor })}"
          >Older flags →</a
        >
      </p>`
    : '';
  return html`<form method="get" action="${consoleUrl('')}" class="filters">
      <label for="merchantId">Merchant</label
      ><input
        id="merchantId"
        name="merchantId"
        value="${filter.merchantId ?? ''}"
        placeholder="mch_…"
      />
      <label for="code">Reason</label
      ><input id="code" name="code" value="${filter.code ?? ''}" placeholder="DUPLICATE_PAYMENT" />
      <label for="status">Status</label>${selectOf('status', payStatuses, filter.status)}
      <button type="submit">Filter</button>
    </form>
    ${table({
      id: 'exceptions',
      caption: 'Pay orders that need an operator, newest flag first',
      heads: [
        'Pay order',
        'Merchant / order',
        'Amount',
        'Status',
        'Channel',
        'Why',
        'Flagged',
        'Temporal',
      ],
      rows,
      empty: 'Nothing needs an operator.',
    })}${next}`;
}

type Findings = Awaited<ReturnType<SafetyNetService['openFindings']>>;

export function safetyNetBody(findings: Findings, csrfToken: string): Markup {
  const rows = findings.items.map(
    (f) =>
      html`<tr data-finding="${f.id}">
        <td>${f.check}</td>
        <td>${f.subject}</td>
        <td>
          ${f.payOrderId ? html`<a href="${consoleUrl(`/orders/${f.payOrderId}`)}">${f.payOrderId}</a>` : '—'}
        </td>
        <td>${f.action}</td>
        <td>${f.timesSeen}</td>
        <td>${time(f.firstSeenAt)}</td>
        <td>${time(f.lastSeenAt)}</td>
        <td><code>${JSON.stringify(f.detail)}</code></td>
      </tr>`,
  );
  return html`<form method="post" action="${consoleUrl('/safety-net/scans')}" class="action">
      ${csrfField(csrfToken)}<button type="submit">Scan all merchants now</button>
    </form>
    ${table({
      id: 'findings',
      caption: 'Findings still there at the last scan, oldest first',
      heads: ['Check', 'Subject', 'Pay order', 'Done', 'Seen', 'First seen', 'Last seen', 'Detail'],
      rows,
      empty: 'The last scans found nothing.',
    })}`;
}

type AuditPage = Awaited<ReturnType<typeof listAudit>>;

export interface AuditFilterForm {
  operator?: string | undefined;
  action?: string | undefined;
  subjectType?: string | undefined;
  subjectId?: string | undefined;
}

export function auditRows(entries: AuditPage['items']): Markup[] {
  return entries.map(
    (e) =>
      html`<tr data-audit="${e.id}">
        <td>${time(e.at)}</td>
        <td>${e.operator}</td>
        <td class="action-name">${e.action}</td>
        <td>
          ${e.subject.type === 'pay_order' ? html`<a href="${consoleUrl(`/orders/${e.subject.id}`)}">${e.subject.id}</a>` : `${e.subject.type} ${e.subject.id}`}
        </td>
        <td>${e.note ?? ''}</td>
        <td><code>${e.before === null ? '' : JSON.stringify(e.before)}</code></td>
        <td><code>${e.after === null ? '' : JSON.stringify(e.after)}</code></td>
      </tr>`,
  );
}

export const auditHeads = ['When', 'Operator', 'Action', 'Subject', 'Note', 'Before', 'After'];

export function auditBody(found: AuditPage, filter: AuditFilterForm): Markup {
  const next =
    found.nextCursor !== null
      ? html`<p>
          <a
            id="next-page"
            href="${consoleUrl('/audit', { ...filter, cursor: String(found.nextCursor) })}"
            >Older entries →</a
          >
        </p>`
      : '';
  return html`<form method="get" action="${consoleUrl('/audit')}" class="filters">
      <label for="operator">Operator</label
      ><input id="operator" name="operator" value="${filter.operator ?? ''}" />
      <label for="action">Action</label>${selectOf('action', auditActions, filter.action)}
      <label for="subjectId">Subject ID</label
      ><input id="subjectId" name="subjectId" value="${filter.subjectId ?? ''}" />
      <button type="submit">Filter</button>
    </form>
    ${table({ id: 'audit', caption: 'Newest first', heads: auditHeads, rows: auditRows(found.items), empty: 'No entries.' })}${next}`;
}
