// The ops console (/ops/console): server-rendered pages for operators, signed in with an ops key.
// A session cookie (HttpOnly, SameSite=Lax) names the session; every form carries the
// session's CSRF token and a POST without it, or from another site, is refused before it acts.
// The pages load nothing but their own style sheet and run no script (a strict CSP says so). Every
// action goes through the services the /ops API uses, and lands in the audit log.
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ChannelRegistry } from '../../channels/registry';
import type { Db } from '../../db/client';
import { acceptForms } from '../../html';
import {
  channelNameSchema,
  differenceIdSchema,
  eventIdSchema,
  calendarDaySchema,
} from '../../domain/schemas';
import { listAudit } from '../../services/audit';
import type { MerchantEventService } from '../../services/merchantEvents';
import { orderStory } from '../../services/orderStory';
import { createOpsSessions, type OpenSession } from '../../services/opsSessions';
import {
  clearPayOrderAttention,
  payOrdersNeedingAttention,
} from '../../services/payOrderAttention';
import type { PayOrderService } from '../../services/payOrders';
import type { ReconciliationService } from '../../services/reconciliations';
import type { SafetyNetService } from '../../services/safetyNet';
import { paymentWorkflowId } from '../../workflows/contracts/payment';
import { operatorOfKey } from '../auth';
import { failureOf } from '../problems';
import { htmlPage, redirect } from '../schemas/pages';
import {
  auditListQuerySchema,
  clearAttentionSchema,
  exceptionListQuerySchema,
  payOrderIdParamSchema,
  resolveDifferenceSchema,
} from '../schemas/ops';
import { consolePath, consoleUrl, html, page, type Shell } from './markup';
import { orderBody } from './orderPage';
import { auditBody, exceptionQueueBody, safetyNetBody, signInBody } from './queuePages';
import { reconciliationDayBody, reconciliationsBody } from './reconciliationPages';
import { consoleCss } from './style';

export interface OpsConsoleSettings {
  sessionSeconds: number;
  idleSeconds: number;
  /** The Temporal UI the pages link workflows to, when known. */
  temporalUi?: { url: string; namespace: string } | undefined;
}

export interface OpsConsoleDeps {
  db: Db;
  opsKey?: string;
  temporal: Client;
  channels: ChannelRegistry;
  payOrders: PayOrderService;
  events: MerchantEventService;
  reconciliations: ReconciliationService;
  safetyNet: SafetyNetService;
  opsConsole: OpsConsoleSettings;
  /** Where the console is reached: an https address makes its cookies Secure. */
  cashier: { publicUrl: string };
}

const sessionCookie = 'paycenter_ops';
/** The sign-in form's own token (double-submitted: cookie and field), against login CSRF. */
const loginCookie = 'paycenter_ops_login';

/** What a finished action says on the page it returns to: fixed texts, nothing reflected. */
const notices = {
  cleared: 'NeedsAttention is cleared; the audit log has your note.',
  notFlagged: 'The order did not need attention; nothing changed.',
  synced: 'The channel was asked now; the order below shows its answer.',
  nothingOpen: 'No channel order was open to ask about; nothing changed.',
  ended: 'The workflow has completed: its books are final and nothing was asked.',
  redelivered: 'The event is queued for redelivery; its try shows below once made.',
  alreadyRedelivered: 'That redelivery was requested already; nothing more was sent.',
  resolved: 'The difference is resolved with your note.',
  reconciled: 'The day was reconciled; the differences below are its findings.',
  scanned: 'The safety net scanned every merchant; the findings below are current.',
} as const;
type Notice = keyof typeof notices;

const noticeQuery = z.object({ done: z.enum(Object.keys(notices) as [Notice]).optional() });
const noticeOf = (done: Notice | undefined) => (done ? notices[done] : undefined);

/** The console page an operator asked for before signing in (checked by pageAfterSignIn). */
const signInQuery = z.object({ next: z.string().max(512).optional() });

/** The request's cookies, as sent: the console's own are base64url and need no decoding. */
function cookiesOf(req: FastifyRequest): Map<string, string> {
  const jar = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0) jar.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  return jar;
}

/**
 * Where to go after signing in: the console page asked for, never anywhere else (no other site,
 * no `//host`, no way out of /ops/console); else the exception queue.
 */
function pageAfterSignIn(next: string | undefined): string {
  const safe =
    next !== undefined &&
    /^\/ops\/console(\/[\w\-./]*)?(\?[\w\-.~%&=+]*)?$/.test(next) &&
    !next.includes('//') &&
    !next.includes('..');
  return safe ? next : consoleUrl('');
}

/** Empty fields of a GET form mean "any": they are dropped before the query is validated. */
function withoutEmpty(query: unknown): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries((query ?? {}) as Record<string, unknown>).filter(([, v]) => v !== ''),
  );
}

const consolePolicy = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export const opsConsoleRoutes: FastifyPluginAsyncZod<OpsConsoleDeps> = async (app, deps) => {
  const { db, opsConsole: settings } = deps;
  const sessions = createOpsSessions({
    db,
    opsKey: deps.opsKey,
    settings: { lifetimeSeconds: settings.sessionSeconds, idleSeconds: settings.idleSeconds },
  });
  const secure = deps.cashier.publicUrl.startsWith('https:');
  /** Behind a proxy that rewrites Host, forms come from the public address. */
  const publicHost = new URL(deps.cashier.publicUrl).host;
  const channelNames = [...deps.channels.keys()];
  const workflowLink = (payOrderId: string) =>
    settings.temporalUi
      ? `${settings.temporalUi.url.replace(/\/$/, '')}/namespaces/${encodeURIComponent(settings.temporalUi.namespace)}/workflows/${encodeURIComponent(paymentWorkflowId(payOrderId))}`
      : undefined;

  /**
   * Lax: a link to a console page (from an alert, a chat) opens it signed in; no POST of another
   * site carries the cookie, and none could pass without the session's CSRF token anyway.
   */
  function cookie(name: string, value: string, path: string, maxAgeSeconds: number): string {
    return [
      `${name}=${value}`,
      `Path=${path}`,
      `Max-Age=${maxAgeSeconds}`,
      'HttpOnly',
      'SameSite=Lax',
      ...(secure ? ['Secure'] : []),
    ].join('; ');
  }

  const sessionOf = new WeakMap<FastifyRequest, OpenSession>();
  const signedIn = (req: FastifyRequest): OpenSession => sessionOf.get(req)!;

  function send(reply: FastifyReply, shell: Shell, status = 200) {
    return reply.status(status).type('text/html; charset=utf-8').send(page(shell));
  }

  acceptForms(app);

  app.addHook('onSend', async (req, reply) => {
    reply.header('content-security-policy', consolePolicy);
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'same-origin');
    if (!req.url.startsWith(`${consolePath}/assets/`)) reply.header('cache-control', 'no-store');
  });

  // Every page but sign-in and the style sheet needs a session; every POST its CSRF token, and
  // none may come from another site (Origin, Sec-Fetch-Site), whatever it carries.
  app.addHook('preValidation', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (req.method === 'GET') req.query = withoutEmpty(req.query);
    if (req.method === 'POST' && crossSite(req)) {
      return send(reply, refusal('This form came from another site and was refused.'), 403);
    }
    if (path === `${consolePath}/login` || path.startsWith(`${consolePath}/assets/`)) return;
    const token = cookiesOf(req).get(sessionCookie);
    const session = token ? await sessions.find(token) : undefined;
    if (!session) {
      if (req.method === 'GET') return reply.redirect(consoleUrl('/login', { next: req.url }), 303);
      return send(reply, refusal('Your session has ended: sign in again.'), 401);
    }
    if (req.method === 'POST') {
      const sent = (req.body as Record<string, unknown> | undefined)?.csrf;
      if (!session.sentOwnToken(typeof sent === 'string' ? sent : undefined)) {
        return send(reply, refusal('The form’s token is missing or stale: reload the page.'), 403);
      }
    }
    sessionOf.set(req, session);
  });

  function crossSite(req: FastifyRequest): boolean {
    if (req.headers['sec-fetch-site'] === 'cross-site') return true;
    const origin = req.headers.origin;
    if (!origin || origin === 'null') return origin === 'null';
    try {
      const host = new URL(origin).host;
      return host !== req.host && host !== publicHost;
    } catch {
      return true;
    }
  }

  /** A refusal names the problem and offers the way back; nothing of the request is shown. */
  const problemBody = (problem: string) =>
    html`<p class="problem" role="alert" id="problem">${problem}</p>
      <p><a href="${consoleUrl('')}">Back to the console</a></p>`;
  const refusal = (problem: string): Shell => ({ title: 'Refused', body: problemBody(problem) });

  app.setErrorHandler((err: Error, req, reply) => {
    const failure = failureOf(err, req);
    const session = sessionOf.get(req);
    return send(
      reply,
      { title: `Refused: ${failure.code}`, session, body: problemBody(failure.detail) },
      failure.status,
    );
  });

  const tags = ['Ops console'];
  const invalid = {
    400: htmlPage('Something in the request is wrong; the page names each field'),
    404: htmlPage('No such page, or no such record'),
  };
  const refusals = {
    ...invalid,
    401: htmlPage('A form sent without a live session'),
    403: htmlPage('A form without its session’s token, or sent from another site'),
  };
  /** A page of the console: shown to a signed-in operator; anyone else is sent to sign in. */
  const pageSchema = (operationId: string, summary: string) => ({
    operationId,
    summary,
    tags,
    security: [{ opsConsoleSession: [] }],
    response: {
      200: htmlPage(summary),
      303: redirect('No live session: to the sign-in page'),
      ...invalid,
    },
  });
  /** A form's action: done through the /ops services, then back to the page that shows it. */
  const actionSchema = (operationId: string, summary: string) => ({
    operationId,
    summary,
    tags,
    security: [{ opsConsoleSession: [] }],
    consumes: ['application/x-www-form-urlencoded'],
    response: {
      303: redirect('Done: to the page that shows the outcome'),
      ...refusals,
      409: htmlPage('The record is not in a state the action applies to'),
      503: htmlPage('Temporal or the database did not answer; nothing was done'),
    },
  });

  app.get(
    '/assets/console.css',
    {
      schema: {
        operationId: 'opsConsoleStyle',
        summary: 'The console’s style sheet (its pages load nothing else)',
        tags,
        security: [],
        response: {
          200: { description: 'The file', content: { 'text/css': { schema: z.string() } } },
        },
      },
    },
    async (_req, reply) =>
      reply
        .type('text/css; charset=utf-8')
        .header('cache-control', 'public, max-age=300')
        .send(consoleCss),
  );

  app.get(
    '/login',
    {
      schema: {
        operationId: 'opsConsoleSignInPage',
        summary: 'The sign-in form (a live session is sent on to the console)',
        tags,
        security: [],
        querystring: signInQuery,
        response: { 200: htmlPage('The form'), 303: redirect('Signed in already'), ...invalid },
      },
    },
    async (req, reply) => {
      const next = pageAfterSignIn(req.query.next);
      const token = cookiesOf(req).get(sessionCookie);
      if (token && (await sessions.find(token))) return reply.redirect(next, 303);
      const login = randomBytes(24).toString('base64url');
      reply.header('set-cookie', cookie(loginCookie, login, `${consolePath}/login`, 600));
      return send(reply, { title: 'Sign in', body: signInBody(login, next) });
    },
  );

  app.post(
    '/login',
    {
      schema: {
        operationId: 'opsConsoleSignIn',
        summary: 'Sign in with an ops key: a session cookie, recorded in the audit log',
        tags,
        security: [],
        consumes: ['application/x-www-form-urlencoded'],
        body: z
          .object({ key: z.string().max(512), login: z.string().max(128) })
          .extend(signInQuery.shape),
        response: {
          303: redirect('Signed in: to the page asked for, else the exception queue'),
          400: invalid[400],
          401: htmlPage('The key is unknown or revoked: the form again'),
          403: htmlPage('The form is stale or came from another site'),
        },
      },
    },
    async (req, reply) => {
      const expected = cookiesOf(req).get(loginCookie);
      if (!expected || expected !== req.body.login) {
        return send(reply, refusal('The sign-in form is stale: open it again.'), 403);
      }
      const next = pageAfterSignIn(req.body.next);
      const operator = await operatorOfKey(db, deps.opsKey, req.body.key);
      if (!operator) {
        const retry = randomBytes(24).toString('base64url');
        reply.header('set-cookie', cookie(loginCookie, retry, `${consolePath}/login`, 600));
        const body = signInBody(retry, next, 'That ops key is unknown or revoked.');
        return send(reply, { title: 'Sign in', body }, 401);
      }
      const token = await sessions.signIn(operator, req.body.key);
      reply.header('set-cookie', [
        cookie(sessionCookie, token, consolePath, settings.sessionSeconds),
        cookie(loginCookie, '', `${consolePath}/login`, 0),
      ]);
      return reply.redirect(next, 303);
    },
  );

  app.post(
    '/logout',
    {
      schema: {
        ...actionSchema('opsConsoleSignOut', 'End the session, recorded in the audit log'),
        body: z.object({ csrf: z.string() }),
      },
    },
    async (req, reply) => {
      await sessions.signOut(cookiesOf(req).get(sessionCookie)!);
      reply.header('set-cookie', cookie(sessionCookie, '', consolePath, 0));
      return reply.redirect(consoleUrl('/login'), 303);
    },
  );

  app.get(
    '',
    {
      schema: {
        ...pageSchema(
          'opsConsoleExceptions',
          'The exception queue: pay orders that need an operator, newest flag first',
        ),
        querystring: exceptionListQuerySchema.extend(noticeQuery.shape),
      },
    },
    async (req, reply) => {
      const { done, ...query } = req.query;
      const found = await payOrdersNeedingAttention(db, query);
      const filter = { merchantId: query.merchantId, code: query.code, status: query.status };
      return send(reply, {
        title: 'Exceptions',
        session: signedIn(req),
        notice: noticeOf(done),
        body: exceptionQueueBody(found, filter, workflowLink, new Date()),
      });
    },
  );

  app.get(
    '/orders/:id',
    {
      schema: {
        ...pageSchema('opsConsoleOrder', 'One pay order’s whole story, with what can be done'),
        params: payOrderIdParamSchema,
        querystring: noticeQuery,
      },
    },
    async (req, reply) => {
      const story = await orderStory(deps, req.params.id);
      const session = signedIn(req);
      return send(reply, {
        title: `Pay order ${story.order.id}`,
        session,
        notice: noticeOf(req.query.done),
        body: orderBody(story, workflowLink, session.csrfToken),
      });
    },
  );

  const orderPage = (id: string, done: Notice) => consoleUrl(`/orders/${id}`, { done });

  app.post(
    '/orders/:id/sync',
    {
      schema: {
        ...actionSchema('opsConsoleSync', 'Ask the channel about the order now; audited'),
        params: payOrderIdParamSchema,
        body: z.object({ csrf: z.string() }),
      },
    },
    async (req, reply) => {
      const { outcome } = await deps.payOrders.operatorSync(req.params.id, signedIn(req).operator);
      const done = ({ SYNCED: 'synced', NOTHING_OPEN: 'nothingOpen', ENDED: 'ended' } as const)[
        outcome
      ];
      return reply.redirect(orderPage(req.params.id, done), 303);
    },
  );

  app.post(
    '/orders/:id/clear-attention',
    {
      schema: {
        ...actionSchema('opsConsoleClearAttention', 'Clear NeedsAttention with a note; audited'),
        params: payOrderIdParamSchema,
        body: clearAttentionSchema.extend({ csrf: z.string() }),
      },
    },
    async (req, reply) => {
      const cleared = await clearPayOrderAttention(deps, {
        payOrderId: req.params.id,
        note: req.body.note,
        operator: signedIn(req).operator,
      });
      return reply.redirect(
        orderPage(req.params.id, cleared.cleared ? 'cleared' : 'notFlagged'),
        303,
      );
    },
  );

  app.post(
    '/events/:id/redeliver',
    {
      schema: {
        ...actionSchema(
          'opsConsoleRedeliver',
          'Send a merchant event again, once per form however often it is sent; audited',
        ),
        params: z.object({ id: eventIdSchema }),
        body: z.object({
          csrf: z.string(),
          redeliveryId: z.string().regex(/^dlv_[0-9A-Z]{26}$/, 'is not a redelivery ID'),
        }),
      },
    },
    async (req, reply) => {
      const { payOrderId, recorded } = await deps.events.redeliverAs(
        signedIn(req).operator,
        req.params.id,
        req.body.redeliveryId,
      );
      return reply.redirect(
        orderPage(payOrderId, recorded ? 'redelivered' : 'alreadyRedelivered'),
        303,
      );
    },
  );

  app.get(
    '/reconciliations',
    {
      schema: {
        ...pageSchema('opsConsoleReconciliations', 'Reconciled days, with the form to run one'),
        querystring: z
          .object({ channel: channelNameSchema, day: calendarDaySchema })
          .partial()
          .extend(noticeQuery.shape),
      },
    },
    async (req, reply) => {
      const { done, ...filter } = req.query;
      const session = signedIn(req);
      return send(reply, {
        title: 'Reconciliation',
        session,
        notice: noticeOf(done),
        body: reconciliationsBody(
          await deps.reconciliations.list(filter),
          filter,
          channelNames,
          session.csrfToken,
        ),
      });
    },
  );

  const dayPage = (channel: string, day: string, done: Notice) =>
    consoleUrl(`/reconciliations/${channel}/${day}`, { done });

  app.get(
    '/reconciliations/:channel/:day',
    {
      schema: {
        ...pageSchema(
          'opsConsoleReconciliationDay',
          'One reconciled day: its differences, each waiting one with its resolve form',
        ),
        params: z.object({ channel: channelNameSchema, day: calendarDaySchema }),
        querystring: noticeQuery,
      },
    },
    async (req, reply) => {
      const { channel, day } = req.params;
      const session = signedIn(req);
      return send(reply, {
        title: `Reconciliation of ${channel} ${day}`,
        session,
        notice: noticeOf(req.query.done),
        body: reconciliationDayBody(
          await deps.reconciliations.get(channel, day),
          channelNames,
          session.csrfToken,
        ),
      });
    },
  );

  app.post(
    '/reconciliations',
    {
      schema: {
        ...actionSchema('opsConsoleReconcile', 'Reconcile (again) a channel’s day; audited'),
        body: z.object({ csrf: z.string(), channel: channelNameSchema, day: calendarDaySchema }),
      },
    },
    async (req, reply) => {
      const { channel, day } = req.body;
      await deps.reconciliations.run({ channel, day }, signedIn(req).operator);
      return reply.redirect(dayPage(channel, day, 'reconciled'), 303);
    },
  );

  app.post(
    '/differences/:id/resolve',
    {
      schema: {
        ...actionSchema('opsConsoleResolve', 'Resolve a difference with a note; audited'),
        params: z.object({ id: differenceIdSchema }),
        body: resolveDifferenceSchema.extend({ csrf: z.string() }),
      },
    },
    async (req, reply) => {
      const resolved = await deps.reconciliations.resolveDifference(
        req.params.id,
        req.body.note,
        signedIn(req).operator,
      );
      return reply.redirect(dayPage(resolved.channel, resolved.day, 'resolved'), 303);
    },
  );

  app.get(
    '/safety-net',
    {
      schema: {
        ...pageSchema('opsConsoleSafetyNet', 'The safety net’s findings, with a scan-now form'),
        querystring: noticeQuery,
      },
    },
    async (req, reply) => {
      const session = signedIn(req);
      return send(reply, {
        title: 'Safety net',
        session,
        notice: noticeOf(req.query.done),
        body: safetyNetBody(await deps.safetyNet.openFindings(), session.csrfToken),
      });
    },
  );

  app.post(
    '/safety-net/scans',
    {
      schema: {
        ...actionSchema('opsConsoleScan', 'Scan every merchant now; audited'),
        body: z.object({ csrf: z.string() }),
      },
    },
    async (req, reply) => {
      await deps.safetyNet.scanNow({}, signedIn(req).operator);
      return reply.redirect(consoleUrl('/safety-net', { done: 'scanned' }), 303);
    },
  );

  app.get(
    '/audit',
    {
      schema: {
        ...pageSchema('opsConsoleAudit', 'The audit log, newest first, filtered'),
        querystring: auditListQuerySchema,
      },
    },
    async (req, reply) => {
      const filter = req.query;
      return send(reply, {
        title: 'Audit log',
        session: signedIn(req),
        body: auditBody(await listAudit(db, filter), {
          operator: filter.operator,
          action: filter.action,
          subjectType: filter.subjectType,
          subjectId: filter.subjectId,
        }),
      });
    },
  );

  // An unknown console page answers like the others: a page, not problem+json.
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    if (req.method === 'GET' && path === `${consolePath}/`) {
      return reply.redirect(consoleUrl(''), 301);
    }
    return send(reply, refusal(`There is no console page ${path}.`), 404);
  });
};
