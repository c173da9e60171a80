// `Idempotency-Key` for every POST of the merchant API (/v1), a plugin its route plugins register
// after the merchant's authentication. The first answer for a (merchant,
// key) is stored and replayed, with `Idempotent-Replayed: true`, for the same request (method,
// path, SHA-256 of the raw body); the key with another request answers 422
// IDEMPOTENCY_KEY_REUSED. The key's row is inserted (IN_PROGRESS) before the handler runs, and the
// unique (merchant_id, key) index decides who runs (claimed before the route's schema validates, so
// an invalid request's 400 is stored and replayed too): everyone else gets 409 IDEMPOTENCY_KEY_IN_USE
// until the answer is stored, or until the running request's lease (IDEMPOTENCY_LEASE_SECONDS)
// is over: then it is taken to have crashed, and one retry of the same request takes the key
// over. A 5xx answer (or any answer we cannot store) releases the key, so the merchant can retry;
// a 4xx DomainError answer is stored and replayed like a success.
import { createHash, type Hash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { z } from 'zod';
import type { Db } from '../db/client';
import { DomainError } from '../domain/errors';
import {
  claimIdempotencyKey,
  findIdempotencyKey,
  releaseIdempotencyKey,
  storeIdempotentAnswer,
  type IdempotencyKeyTimes,
  type MerchantKey,
} from '../services/idempotencyKeys';
import { problemResponses } from './problems';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'idempotent-replayed';

/** 1-255 visible ASCII characters (no spaces or controls). */
export const validKey = /^[\x21-\x7e]{1,255}$/;

interface Claim extends MerchantKey {
  /** Set once the answer is stored or the key released, so it happens once. */
  settled: boolean;
}

/** Per request state, kept off the request object so plugin scopes need no decorations. */
const bodyHashes = new WeakMap<FastifyRequest, Hash>();
const claims = new WeakMap<FastifyRequest, Claim>();
const handlerErrors = new WeakMap<FastifyRequest, Error>();

function idempotencyKeyOf(req: FastifyRequest): string | undefined {
  if (req.method !== 'POST') return undefined;
  const value = req.headers[IDEMPOTENCY_HEADER];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !validKey.test(value)) {
    throw new DomainError(
      'VALIDATION_FAILED',
      'invalid header: Idempotency-Key must be 1-255 visible ASCII characters',
      [{ field: 'header.Idempotency-Key', message: 'must be 1-255 visible ASCII characters' }],
    );
  }
  return value;
}

async function release(db: Db, req: FastifyRequest, state: Claim): Promise<void> {
  try {
    await releaseIdempotencyKey(db, state);
  } catch (err) {
    req.log.error({ err, idempotencyKey: state.key }, 'could not release an idempotency key');
  }
}

function replay(
  reply: FastifyReply,
  row: { responseStatus: number | null; responseContentType: string | null; body: string | null },
) {
  reply.status(row.responseStatus ?? 200).header(REPLAYED_HEADER, 'true');
  if (row.responseContentType) reply.header('content-type', row.responseContentType);
  return reply.send(row.body ?? '');
}

/** The header as the OpenAPI document shows it on every POST of the plugin's scope. */
const idempotencyHeaders = z.object({
  [IDEMPOTENCY_HEADER]: z
    .string()
    .regex(validKey)
    .optional()
    .meta({
      description:
        'The first answer for this key is replayed for the retention period (24 h by default) with ' +
        '`Idempotent-Replayed: true`; the key with another request is 422 IDEMPOTENCY_KEY_REUSED, ' +
        'and while the first is running 409 IDEMPOTENCY_KEY_IN_USE.',
    }),
});

export interface IdempotencyOptions {
  db: Db;
  /** How long a request holds its Idempotency-Key before a retry may take it over. */
  idempotencyLeaseSeconds: number;
  /** How long an Idempotency-Key's answer is replayed. */
  idempotencyKeyRetentionSeconds: number;
}

/**
 * Honours `Idempotency-Key` on every POST of the route plugin that registers it; register after
 * `merchantAuthentication`, which sets `req.merchantId`.
 */
export const idempotency = fastifyPlugin<IdempotencyOptions>(
  async (app, options) => {
    const { db } = options;
    const times: IdempotencyKeyTimes = {
      leaseSeconds: options.idempotencyLeaseSeconds,
      retentionSeconds: options.idempotencyKeyRetentionSeconds,
    };

    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      if (!methods.includes('POST')) return;
      route.schema = {
        ...route.schema,
        headers: idempotencyHeaders,
        response: {
          ...(route.schema?.response as object | undefined),
          ...problemResponses(409, 422),
        },
      };
    });

    // Hash the raw body as Fastify reads it, before it is parsed.
    app.addHook('preParsing', async (req, _reply, payload) => {
      if (idempotencyKeyOf(req) === undefined) return payload;
      const hash = createHash('sha256');
      bodyHashes.set(req, hash);
      const tee = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      payload.on('error', (err) => tee.destroy(err));
      return payload.pipe(tee);
    });

    app.addHook('preValidation', async (req, reply) => {
      const key = idempotencyKeyOf(req);
      if (key === undefined) return;
      // A body Fastify never read (none was sent) hashes as the empty body.
      const requestHash = (bodyHashes.get(req) ?? createHash('sha256')).digest('hex');
      const request = { merchantId: req.merchantId, key, method: req.method, path: req.url };

      // A row can vanish between the insert and the read (released after a 5xx, or expired):
      // then try to claim again.
      for (let round = 0; round < 3; round++) {
        if (await claimIdempotencyKey(db, times, { ...request, requestHash })) {
          claims.set(req, { merchantId: req.merchantId, key, settled: false });
          return;
        }
        const row = await findIdempotencyKey(db, request);
        if (!row) continue;
        if (
          row.method !== request.method ||
          row.path !== request.path ||
          row.requestHash !== requestHash
        ) {
          throw new DomainError(
            'IDEMPOTENCY_KEY_REUSED',
            `Idempotency-Key was already used for another request (${row.method} ${row.path} with another body)`,
          );
        }
        if (row.status !== 'COMPLETED') break;
        return replay(reply, { ...row, body: row.responseBody });
      }
      reply.header('retry-after', '1');
      throw new DomainError(
        'IDEMPOTENCY_KEY_IN_USE',
        'a request with this Idempotency-Key is still running; retry shortly',
      );
    });

    app.addHook('onError', async (req, _reply, error) => {
      if (claims.has(req)) handlerErrors.set(req, error);
    });

    // Store the answer before it leaves, so a retry after it arrived always finds it.
    app.addHook('onSend', async (req, reply, payload) => {
      const state = claims.get(req);
      if (!state || state.settled) return payload;
      state.settled = true;
      const error = handlerErrors.get(req);
      const body =
        typeof payload === 'string'
          ? payload
          : Buffer.isBuffer(payload)
            ? payload.toString('utf8')
            : payload === null || payload === undefined
              ? ''
              : undefined; // a stream: not stored
      const storable =
        reply.statusCode < 500 &&
        (error === undefined || error instanceof DomainError) &&
        body !== undefined;
      if (!storable) {
        await release(db, req, state);
        return payload;
      }
      try {
        const contentType = reply.getHeader('content-type');
        await storeIdempotentAnswer(db, state, {
          status: reply.statusCode,
          contentType: contentType === undefined ? null : String(contentType),
          body,
        });
      } catch (err) {
        req.log.error({ err, idempotencyKey: state.key }, 'could not store an idempotent answer');
        await release(db, req, state);
      }
      return payload;
    });

    // An answer that never went through onSend (e.g. the connection broke) releases the key.
    app.addHook('onResponse', async (req) => {
      const state = claims.get(req);
      if (!state || state.settled) return;
      state.settled = true;
      await release(db, req, state);
    });
  },
  { name: 'idempotency', fastify: '5.x' },
);
