// Bearer-key authentication for merchants (/v1) and operators (/ops, attributed by name): one
// plugin each, registered by the route plugins of that audience.
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyRequest, RouteOptions } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import type { Db } from '../db/client';
import { DomainError } from '../domain/errors';
import { modeOfApiKey, type Mode } from '../domain/modes';
import { merchantForApiKey } from '../services/merchants';
import { builtInOperator, operatorForKey } from '../services/operators';
import { problemResponses } from './problems';

/** The key of `Authorization: Bearer <key>`, if the request sends one. */
export function bearerKey(req: FastifyRequest): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

function bearer(req: FastifyRequest): string {
  const key = bearerKey(req);
  if (!key) throw new DomainError('UNAUTHENTICATED', 'send Authorization: Bearer <API key>');
  return key;
}

const merchantLookups = new WeakMap<FastifyRequest, Promise<string | undefined>>();

/**
 * The merchant whose valid API key the request sends, looked up once per request: the rate
 * limit asks before the merchant plugin authenticates.
 */
export function merchantOfRequest(db: Db, req: FastifyRequest): Promise<string | undefined> {
  let lookup = merchantLookups.get(req);
  if (!lookup) {
    const key = bearerKey(req);
    lookup = key ? merchantForApiKey(db, key) : Promise.resolve(undefined);
    merchantLookups.set(req, lookup);
  }
  return lookup;
}

/**
 * A key this database knows authenticates (keys issued before modes existed were all `pk_live_`,
 * whatever the deployment); an unknown key that names the other mode is refused for what it is.
 */
export async function authenticateMerchant(
  db: Db,
  req: FastifyRequest,
  mode: Mode,
): Promise<string> {
  const named = modeOfApiKey(bearer(req));
  const merchantId = await merchantOfRequest(db, req);
  if (merchantId) return merchantId;
  if (named && named !== mode) {
    throw new DomainError(
      'MODE_MISMATCH',
      `this is a ${named}-mode API key; this deployment serves ${mode} mode only`,
    );
  }
  throw new DomainError('UNAUTHENTICATED', 'the API key is unknown or revoked');
}

/** What the merchant authentication plugin needs. */
export interface MerchantAuthOptions {
  db: Db;
  /** The deployment's mode: keys of the other mode are refused. */
  mode: Mode;
}

/** Every route of the plugin scope answers 401 without a valid key, and says so in the document. */
function requiresKey(route: RouteOptions, scheme: 'merchantKey' | 'opsKey'): void {
  route.schema = {
    ...route.schema,
    security: [{ [scheme]: [] }],
    response: { ...problemResponses(401), ...(route.schema?.response as object | undefined) },
  };
}

/**
 * Authenticates every request of the merchant route plugin that registers it (/v1) and sets
 * `req.merchantId`.
 */
export const merchantAuthentication = fastifyPlugin<MerchantAuthOptions>(
  async (app, options) => {
    app.decorateRequest('merchantId', '');
    app.addHook('onRoute', (route) => requiresKey(route, 'merchantKey'));
    app.addHook('onRequest', async (req) => {
      req.merchantId = await authenticateMerchant(options.db, req, options.mode);
    });
  },
  { name: 'merchant-authentication', fastify: '5.x' },
);

/** Compares digests so neither the key's content nor its length leaks through timing. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

const operatorLookups = new WeakMap<FastifyRequest, Promise<string | undefined>>();

/**
 * The operator whose valid ops key the request sends, looked up once per request: the configured
 * key is the built-in operator `ops`, any other is looked up among the named keys.
 */
export function operatorOfRequest(
  db: Db,
  opsKey: string | undefined,
  req: FastifyRequest,
): Promise<string | undefined> {
  let lookup = operatorLookups.get(req);
  if (!lookup) {
    const key = bearerKey(req);
    lookup = key ? operatorOfKey(db, opsKey, key) : Promise.resolve(undefined);
    operatorLookups.set(req, lookup);
  }
  return lookup;
}

/** The operator an ops key belongs to: the configured key's built-in one, or a named key's. */
export async function operatorOfKey(
  db: Db,
  opsKey: string | undefined,
  key: string,
): Promise<string | undefined> {
  if (opsKey && sameSecret(key, opsKey)) return builtInOperator;
  return operatorForKey(db, key);
}

/** Authenticates an ops request and sets `req.operator`, whom its actions are recorded under. */
export async function authenticateOperator(
  db: Db,
  opsKey: string | undefined,
  req: FastifyRequest,
): Promise<void> {
  bearer(req);
  const operator = await operatorOfRequest(db, opsKey, req);
  if (!operator) throw new DomainError('UNAUTHENTICATED', 'the ops key is unknown or revoked');
  req.operator = operator;
}

/**
 * Authenticates every request of the ops route plugin that registers it (/ops) and sets
 * `req.operator`.
 */
export const operatorAuthentication = fastifyPlugin<{ db: Db; opsKey?: string | undefined }>(
  async (app, options) => {
    app.decorateRequest('operator', '');
    app.addHook('onRoute', (route) => requiresKey(route, 'opsKey'));
    app.addHook('onRequest', async (req) => authenticateOperator(options.db, options.opsKey, req));
  },
  { name: 'operator-authentication', fastify: '5.x' },
);

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated merchant, in plugins that register `merchantAuthentication`. */
    merchantId: string;
    /** The authenticated operator, in plugins that register `operatorAuthentication`. */
    operator: string;
  }
}
