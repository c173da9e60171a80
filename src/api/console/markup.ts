// The ops console's HTML: a tagged template that escapes every value it is given (only markup
// made by it goes in unescaped), the page shell, and the few parts every page uses.
import { escapeHtml } from '../../html';
import { formatMinorUnits, type Currency } from '../../domain/currencies';

/** HTML made by `html`: safe to put into more HTML as it is. */
export class Markup {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type Value = Markup | string | number | boolean | null | undefined | readonly Value[];

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** `html\`<p>${text}</p>\``: every interpolated value is escaped unless it is Markup already. */
export function html(strings: TemplateStringsArray, ...values: Value[]): Markup {
  let text = strings[0]!;
  values.forEach((value, i) => {
    text += render(value) + strings[i + 1]!;
  });
  return new Markup(text);
}

export const consolePath = '/ops/console';

/** A console URL with its query (empty values left out). */
export function consoleUrl(path: string, query: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value) params.set(name, value);
  const search = params.toString();
  return `${consolePath}${path}${search ? `?${search}` : ''}`;
}

export function money(amount: number | null, currency: string | null): string {
  if (amount === null) return '—';
  return currency
    ? `${formatMinorUnits(amount, currency as Currency)} ${currency}`
    : String(amount);
}

/** A time as operators read it: UTC, to the second. */
export function time(at: Date | string | null | undefined): Markup {
  if (!at) return html`—`;
  const iso = typeof at === 'string' ? at : at.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')}Z</time>`;
}

/** How long ago, in the largest whole unit: "3 d", "5 h", "12 min", "40 s". */
export function age(since: Date | string, now: Date): string {
  const seconds = Math.max(0, Math.floor((now.getTime() - new Date(since).getTime()) / 1000));
  if (seconds >= 86_400) return `${Math.floor(seconds / 86_400)} d`;
  if (seconds >= 3_600) return `${Math.floor(seconds / 3_600)} h`;
  if (seconds >= 60) return `${Math.floor(seconds / 60)} min`;
  return `${seconds} s`;
}

/** The session's token in a form: a POST without it is refused. */
export function csrfField(csrfToken: string): Markup {
  return html`<input type="hidden" name="csrf" value="${csrfToken}" />`;
}

/** A table row of one cell per value. */
export function cells(values: Value[]): Markup {
  return html`<tr>
    ${values.map((value) => html`<td>${value}</td>`)}
  </tr>`;
}

/** A table with a caption; `empty` is shown instead when there are no rows. */
export function table(options: {
  id: string;
  caption: string;
  heads: string[];
  rows: Markup[];
  empty: string;
}): Markup {
  if (options.rows.length === 0) {
    return html`<section id="${options.id}">
      <h2>${options.caption}</h2>
      <p class="empty">${options.empty}</p>
    </section>`;
  }
  return html`<section id="${options.id}">
    <h2>${options.caption}</h2>
    <table>
      <thead>
        <tr>
          ${options.heads.map((h) => html`<th scope="col">${h}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${options.rows}
      </tbody>
    </table>
  </section>`;
}

export interface Shell {
  title: string;
  /** The signed-in operator and their session's token; absent on the sign-in page. */
  session?: { operator: string; csrfToken: string } | undefined;
  /** What the last action did, shown once at the top (a fixed text chosen by the page). */
  notice?: string | undefined;
  body: Markup;
}

const sections = [
  ['', 'Exceptions'],
  ['/reconciliations', 'Reconciliation'],
  ['/safety-net', 'Safety net'],
  ['/audit', 'Audit log'],
] as const;

export function page({ title, session, notice, body }: Shell): string {
  const header = session
    ? html`<header>
        <strong>paycenter ops</strong>
        <nav>
          ${sections.map(([path, name]) => html`<a href="${consolePath}${path}">${name}</a>`)}
        </nav>
        <form method="post" action="${consolePath}/logout" class="signout">
          ${csrfField(session.csrfToken)} <span id="operator">${session.operator}</span>
          <button type="submit">Sign out</button>
        </form>
      </header>`
    : html`<header><strong>paycenter ops</strong></header>`;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · paycenter ops</title>
        <link rel="stylesheet" href="${consolePath}/assets/console.css" />
      </head>
      <body>
        ${header}
        <main>
          <h1>${title}</h1>
          ${notice ? html`<p class="notice" role="status" id="notice">${notice}</p>` : ''} ${body}
        </main>
      </body>
    </html>`.text;
}
