// The few HTML pages paycenter and its channel simulator show to people: a title, some parts, nothing else.
import type { FastifyInstance, FastifyReply } from 'fastify';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `parts` are HTML already; escape what came from outside before passing it. */
export function sendPage(reply: FastifyReply, title: string, parts: string[]) {
  return reply
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
        `<body>${parts.join('')}</body></html>`,
    );
}

/** The plugin's routes take HTML forms: a form body becomes an object of its fields (last wins). */
export function acceptForms(app: FastifyInstance): void {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );
}
