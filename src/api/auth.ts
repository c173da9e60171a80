// Bearer-key authentication for merchants (/v1) and operators (/ops).
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../db/client';
import { DomainError } from '../domain/errors';
import { merchantForApiKey } from '../services/merchants';
import { installIdempotency } from './idempotency';

function bearer(req: FastifyRequest): string {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1]) {
    throw new DomainError('UNAUTHENTICATED', 'send Authorization: Bearer <API key>');
  }
  return match[1];
}

export async function authenticateMerchant(db: Db, req: FastifyRequest): Promise<string> {
  const merchantId = await merchantForApiKey(db, bearer(req));
  if (!merchantId) throw new DomainError('UNAUTHENTICATED', 'the API key is unknown or revoked');
  return merchantId;
}

/** What a merchant plugin needs to authenticate and to honour `Idempotency-Key`. */
export interface MerchantAuthOptions {
  db: Db;
  /** How long a request holds its Idempotency-Key before a retry may take it over. */
  idempotencyLeaseSeconds: number;
}

/**
 * Authenticates every request of a merchant plugin (/v1) and sets `req.merchantId`; its POSTs
 * honour `Idempotency-Key` (src/api/idempotency.ts).
 */
export function requireMerchant(app: FastifyInstance, options: MerchantAuthOptions): void {
  app.decorateRequest('merchantId', '');
  app.addHook('onRequest', async (req) => {
    req.merchantId = await authenticateMerchant(options.db, req);
  });
  installIdempotency(app, options.db, options.idempotencyLeaseSeconds);
}

/** Compares digests so neither the key's content nor its length leaks through timing. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function authenticateOperator(opsKey: string, req: FastifyRequest): void {
  if (!sameSecret(bearer(req), opsKey)) {
    throw new DomainError('UNAUTHENTICATED', 'the ops key is wrong');
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated merchant, in plugins that call `requireMerchant`. */
    merchantId: string;
  }
}
