// Merchants and their API keys. Keys are shown once and stored only as SHA-256 hashes.
import { createHash, randomBytes } from 'node:crypto';
import { and, asc, eq, isNull } from 'drizzle-orm';
import type { Db } from '../db/client';
import { merchantApiKeys, merchants } from '../db/schema';
import { DomainError } from '../domain/errors';
import { newId } from '../domain/ids';
import { apiKeyPrefix, type Mode } from '../domain/modes';
import { openNotifySecrets, sealNotifySecrets } from './notifySecrets';
import type { SecretBox } from './secretBox';

export const demoMerchantId = 'mch_demo';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateSecret(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('base64url')}`;
}

/** A fresh notify secret and its sealed form, the only form ever stored. */
function newSealedNotifySecret(secretBox: SecretBox) {
  const secret = generateSecret('whsec');
  return { secret, sealed: sealNotifySecrets(secretBox, { current: secret }) };
}

/** Makes sure the merchant exists and `apiKey` authenticates as it. Safe to repeat. */
export async function ensureMerchant(
  db: Db,
  merchant: { id: string; name: string },
  apiKey: string,
  secretBox: SecretBox,
): Promise<void> {
  await db
    .insert(merchants)
    .values({ ...merchant, notifySecret: newSealedNotifySecret(secretBox).sealed })
    .onConflictDoNothing();
  await db
    .insert(merchantApiKeys)
    .values({
      id: newId('key', Date.now(), Math.random),
      merchantId: merchant.id,
      keyHash: hashApiKey(apiKey),
      keyPrefix: apiKey.slice(0, 8),
    })
    .onConflictDoNothing();
}

/** The merchant a live (unrevoked) key belongs to, if any. */
export async function merchantForApiKey(db: Db, apiKey: string): Promise<string | undefined> {
  const [row] = await db
    .select({ merchantId: merchantApiKeys.merchantId })
    .from(merchantApiKeys)
    .where(and(eq(merchantApiKeys.keyHash, hashApiKey(apiKey)), isNull(merchantApiKeys.revokedAt)))
    .limit(1);
  return row?.merchantId;
}

// ---- Managing merchants and their keys (ops API and `main.ts merchant create`) ----

/** An API key as it may be shown again: never the key itself, never its hash. */
export interface ApiKeyView {
  id: string;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface MerchantView {
  id: string;
  name: string;
  createdAt: string;
}

/** A freshly issued key: the only time `key` is ever answered. */
export interface IssuedApiKey {
  id: string;
  key: string;
  prefix: string;
}

/** How much of a key is kept to recognise it (shown in listings, never enough to use). */
export const keyPrefixLength = 12;

export function cryptoRandom(): number {
  return randomBytes(4).readUInt32BE(0) / 2 ** 32;
}

function merchantView(row: typeof merchants.$inferSelect): MerchantView {
  return { id: row.id, name: row.name, createdAt: row.createdAt.toISOString() };
}

function apiKeyView(row: typeof merchantApiKeys.$inferSelect): ApiKeyView {
  return {
    id: row.id,
    prefix: row.keyPrefix,
    createdAt: row.createdAt.toISOString(),
    revokedAt: row.revokedAt ? row.revokedAt.toISOString() : null,
  };
}

async function insertApiKey(
  db: Pick<Db, 'insert'>,
  merchantId: string,
  mode: Mode,
): Promise<IssuedApiKey> {
  const key = generateSecret(apiKeyPrefix(mode));
  const id = newId('key', Date.now(), cryptoRandom);
  const prefix = key.slice(0, keyPrefixLength);
  await db
    .insert(merchantApiKeys)
    .values({ id, merchantId, keyHash: hashApiKey(key), keyPrefix: prefix });
  return { id, key, prefix };
}

async function requireMerchantRow(db: Db, merchantId: string) {
  const [row] = await db.select().from(merchants).where(eq(merchants.id, merchantId)).limit(1);
  if (!row) throw new DomainError('NOT_FOUND', `no merchant ${merchantId}`);
  return row;
}

/** A new merchant with its first API key; the key and the notify secret are answered only here. */
export async function createMerchant(
  db: Db,
  secretBox: SecretBox,
  input: { name: string },
  mode: Mode,
): Promise<{ merchant: MerchantView; apiKey: IssuedApiKey; notifySecret: string }> {
  return db.transaction(async (tx) => {
    const { secret, sealed } = newSealedNotifySecret(secretBox);
    const [row] = await tx
      .insert(merchants)
      .values({
        id: newId('mch', Date.now(), cryptoRandom),
        name: input.name,
        notifySecret: sealed,
      })
      .returning();
    const apiKey = await insertApiKey(tx, row!.id, mode);
    return { merchant: merchantView(row!), apiKey, notifySecret: secret };
  });
}

export interface RotatedNotifySecret {
  merchantId: string;
  /** The new secret: answered only here. */
  notifySecret: string;
  /** Until when deliveries carry the old secret's signature too. */
  previousSecretValidUntil: string;
}

/** A new notify secret for the merchant; the current one keeps signing for `overlapSeconds`. */
export async function rotateNotifySecret(
  db: Db,
  box: SecretBox,
  merchantId: string,
  overlapSeconds: number,
): Promise<RotatedNotifySecret> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select({ stored: merchants.notifySecret })
      .from(merchants)
      .where(eq(merchants.id, merchantId))
      .for('update');
    if (!row) throw new DomainError('NOT_FOUND', `no merchant ${merchantId}`);
    const next = generateSecret('whsec');
    const until = new Date(Date.now() + overlapSeconds * 1000).toISOString();
    const { current } = openNotifySecrets(box, row.stored);
    await tx
      .update(merchants)
      .set({
        notifySecret: sealNotifySecrets(box, {
          current: next,
          previous: { secret: current, until },
        }),
      })
      .where(eq(merchants.id, merchantId));
    return { merchantId, notifySecret: next, previousSecretValidUntil: until };
  });
}

/** One more key of `mode` for the merchant (a merchant may hold several, e.g. while rotating). */
export async function issueApiKey(db: Db, merchantId: string, mode: Mode): Promise<IssuedApiKey> {
  await requireMerchantRow(db, merchantId);
  return insertApiKey(db, merchantId, mode);
}

/** Revokes a key of the merchant; it stops authenticating at once. Repeating it changes nothing. */
export async function revokeApiKey(db: Db, merchantId: string, keyId: string): Promise<ApiKeyView> {
  await requireMerchantRow(db, merchantId);
  const owned = and(eq(merchantApiKeys.id, keyId), eq(merchantApiKeys.merchantId, merchantId));
  const [revoked] = await db
    .update(merchantApiKeys)
    .set({ revokedAt: new Date() })
    .where(and(owned, isNull(merchantApiKeys.revokedAt)))
    .returning();
  if (revoked) return apiKeyView(revoked);
  const [existing] = await db.select().from(merchantApiKeys).where(owned).limit(1);
  if (!existing)
    throw new DomainError('NOT_FOUND', `no API key ${keyId} for merchant ${merchantId}`);
  return apiKeyView(existing);
}

/** The merchant and its keys (prefixes and dates only), oldest key first. */
export async function describeMerchant(
  db: Db,
  merchantId: string,
): Promise<MerchantView & { keys: ApiKeyView[] }> {
  const row = await requireMerchantRow(db, merchantId);
  const keys = await db
    .select()
    .from(merchantApiKeys)
    .where(eq(merchantApiKeys.merchantId, merchantId))
    .orderBy(asc(merchantApiKeys.createdAt), asc(merchantApiKeys.id));
  return { ...merchantView(row), keys: keys.map(apiKeyView) };
}
