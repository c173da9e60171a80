// The ops console's reconciliation pages: the runs per channel and day, with a form to run (again)
// a day, and one day with its differences, each waiting one with its resolve form.
import type { ReconciliationService } from '../../services/reconciliations';
import { cells, consoleUrl, csrfField, html, money, table, time, type Markup } from './markup';

type Runs = Awaited<ReturnType<ReconciliationService['list']>>;
type Day = Awaited<ReturnType<ReconciliationService['get']>>;

function runForm(
  csrfToken: string,
  channels: readonly string[],
  chosen?: { channel: string; day: string },
): Markup {
  return html`<form
    method="post"
    action="${consoleUrl('/reconciliations')}"
    class="action"
    id="run-day"
  >
    ${csrfField(csrfToken)}
    <label for="run-channel">Channel</label
    ><select id="run-channel" name="channel">
      ${channels.map(
        (c) => html`<option${c === chosen?.channel ? html` selected` : ''}>${c}</option>`,
      )}
    </select>
    <label for="run-day-input">Day</label
    ><input type="date" id="run-day-input" name="day" required value="${chosen?.day ?? ''}" />
    <button type="submit">${chosen ? 'Reconcile this day again' : 'Reconcile'}</button>
  </form>`;
}

export function reconciliationsBody(
  runs: Runs,
  filter: { channel?: string | undefined; day?: string | undefined },
  channels: readonly string[],
  csrfToken: string,
): Markup {
  const rows = runs.items.map((r) =>
    cells([
      html`<a href="${consoleUrl(`/reconciliations/${r.channel}/${r.day}`)}"
        >${r.channel} ${r.day}</a
      >`,
      r.status,
      r.runs,
      time(r.startedAt),
      time(r.finishedAt),
    ]),
  );
  return html`${runForm(csrfToken, channels)}
    <form method="get" action="${consoleUrl('/reconciliations')}" class="filters">
      <label for="channel">Channel</label
      ><input id="channel" name="channel" value="${filter.channel ?? ''}" />
      <label for="day">Day</label
      ><input type="date" id="day" name="day" value="${filter.day ?? ''}" />
      <button type="submit">Filter</button>
    </form>
    ${table({
      id: 'runs',
      caption: 'Reconciled days, newest first',
      heads: ['Day', 'Status', 'Runs', 'Last started', 'Finished'],
      rows,
      empty: 'No day has been reconciled.',
    })}`;
}

export function reconciliationDayBody(
  day: Day,
  channels: readonly string[],
  csrfToken: string,
): Markup {
  const rows = day.differences.map((d) => {
    const resolve =
      d.resolution === 'OPS'
        ? html`<form
            method="post"
            action="${consoleUrl(`/differences/${d.id}/resolve`)}"
            class="action"
          >
            ${csrfField(csrfToken)}<label for="note-${d.id}">What was decided</label>
            <textarea id="note-${d.id}" name="note" required maxlength="2000"></textarea>
            <button type="submit">Resolve</button>
          </form>`
        : html`${d.note ?? ''}${d.resolvedAt ? html`<br /><small>${time(d.resolvedAt)}</small>` : ''}`;
    return html`<tr data-difference="${d.id}" ${d.urgent ? html` class="urgent"` : ''}>
      <td>${d.kind}${d.urgent ? html` <strong>urgent</strong>` : ''}</td>
      <td>${d.reference}</td>
      <td>
        ${d.payOrderId ? html`<a href="${consoleUrl(`/orders/${d.payOrderId}`)}">${d.payOrderId}</a>` : '—'}
      </td>
      <td>${money(d.channelAmount, d.currency)}</td>
      <td>${money(d.bookAmount, d.currency)}</td>
      <td class="resolution">${d.resolution}</td>
      <td>${d.action}</td>
      <td>${resolve}</td>
    </tr>`;
  });
  return html`<dl class="summary">
      <dt>Status</dt>
      <dd id="day-status">${day.status}</dd>
      <dt>Runs</dt>
      <dd>${day.runs}</dd>
    </dl>
    ${runForm(csrfToken, channels, { channel: day.channel, day: day.day })}
    ${table({
      id: 'differences',
      caption: 'Every difference found for the day',
      heads: [
        'Kind',
        'Reference',
        'Pay order',
        'Channel',
        'Books',
        'Resolution',
        'Done',
        'Decision',
      ],
      rows,
      empty: 'The statement and the books agree.',
    })}`;
}
