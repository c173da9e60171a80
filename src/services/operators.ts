// Operators and their named ops keys. Keys are shown once and stored only as SHA-256 hashes, like
// merchants' API keys; the configured PAYCENTER_OPS_API_KEY is the built-in operator `ops`.
import type { SecretBox } from './secretBox';
import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '../db/client';
import { merchantApiKeys, operatorKeys } from '../db/schema';
import { DomainError } from '../domain/errors';
import { newId } from '../domain/ids';
import type { Mode } from '../domain/modes';
import { audited } from './audit';
import {
  createMerchant,
  cryptoRandom,
  generateSecret,
  hashApiKey,
  issueApiKey,
  keyPrefixLength,
  revokeApiKey,
  rotateNotifySecret,
} from './merchants';

/** The name the configured ops key acts under; no named key may take it. */
export const builtInOperator = 'ops';

export interface OperatorKeyView {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

function operatorKeyView(row: typeof operatorKeys.$inferSelect): OperatorKeyView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.keyPrefix,
    createdAt: row.createdAt.toISOString(),
    revokedAt: row.revokedAt ? row.revokedAt.toISOString() : null,
  };
}

/** The operator an unrevoked named key belongs to, if any. */
export async function operatorForKey(db: Db, key: string): Promise<string | undefined> {
  const [row] = await db
    .select({ name: operatorKeys.name })
    .from(operatorKeys)
    .where(and(eq(operatorKeys.keyHash, hashApiKey(key)), isNull(operatorKeys.revokedAt)))
    .limit(1);
  return row?.name;
}

/** A new named key; the answer is the only time the key itself is shown. */
export function createOperatorKey(
  db: Db,
  input: { name: string },
  actor: string,
): Promise<OperatorKeyView & { key: string }> {
  if (input.name === builtInOperator) {
    throw new DomainError('VALIDATION_FAILED', 'the name is taken by the built-in operator', [
      { field: 'name', message: `must not be "${builtInOperator}"` },
    ]);
  }
  const key = generateSecret('ops');
  return audited(
    db,
    async (tx) => {
      const [row] = await tx
        .insert(operatorKeys)
        .values({
          id: newId('opk', Date.now(), cryptoRandom),
          name: input.name,
          keyHash: hashApiKey(key),
          keyPrefix: key.slice(0, keyPrefixLength),
        })
        .returning();
      return { ...operatorKeyView(row!), key };
    },
    ({ key: _shownOnce, ...view }) => ({
      operator: actor,
      action: 'operator_key.create',
      subject: { type: 'operator_key', id: view.id },
      before: null,
      after: view,
    }),
  );
}

/** Revokes a named key at once; repeating it changes nothing and records nothing. */
export async function revokeOperatorKey(
  db: Db,
  keyId: string,
  actor: string,
): Promise<OperatorKeyView> {
  const [existing] = await db.select().from(operatorKeys).where(eq(operatorKeys.id, keyId));
  if (!existing) throw new DomainError('NOT_FOUND', `no ops key ${keyId}`);
  if (existing.revokedAt) return operatorKeyView(existing);
  return audited(
    db,
    async (tx) => {
      const [revoked] = await tx
        .update(operatorKeys)
        .set({ revokedAt: new Date() })
        .where(and(eq(operatorKeys.id, keyId), isNull(operatorKeys.revokedAt)))
        .returning();
      return operatorKeyView(revoked ?? existing);
    },
    (after) => ({
      operator: actor,
      action: 'operator_key.revoke',
      subject: { type: 'operator_key', id: keyId },
      before: operatorKeyView(existing),
      after,
    }),
  );
}

/** A new merchant created by an operator (ops API or command line), recorded in the audit log. */
export function createMerchantAs(
  db: Db,
  secretBox: SecretBox,
  input: { name: string },
  mode: Mode,
  operator: string,
) {
  return audited(
    db,
    (tx) => createMerchant(tx, secretBox, input, mode),
    ({ merchant, apiKey }) => ({
      operator,
      action: 'merchant.create',
      subject: { type: 'merchant', id: merchant.id },
      before: null,
      after: { ...merchant, apiKey: { id: apiKey.id, prefix: apiKey.prefix } },
    }),
  );
}

/** A new API key for a merchant, issued by an operator and recorded (never the key itself). */
export function issueApiKeyAs(db: Db, merchantId: string, mode: Mode, operator: string) {
  return audited(
    db,
    (tx) => issueApiKey(tx, merchantId, mode),
    (key) => ({
      operator,
      action: 'merchant_key.issue',
      subject: { type: 'merchant_api_key', id: key.id },
      before: null,
      after: { merchantId, id: key.id, prefix: key.prefix },
    }),
  );
}

/** Revokes a merchant's API key; a repeated revoke changes nothing, so it records nothing. */
export async function revokeApiKeyAs(db: Db, merchantId: string, keyId: string, operator: string) {
  const [before] = await db
    .select({ revokedAt: merchantApiKeys.revokedAt })
    .from(merchantApiKeys)
    .where(and(eq(merchantApiKeys.id, keyId), eq(merchantApiKeys.merchantId, merchantId)));
  if (before?.revokedAt) return revokeApiKey(db, merchantId, keyId);
  return audited(
    db,
    (tx) => revokeApiKey(tx, merchantId, keyId),
    (key) => ({
      operator,
      action: 'merchant_key.revoke',
      subject: { type: 'merchant_api_key', id: keyId },
      before: { merchantId, revokedAt: null },
      after: { merchantId, revokedAt: key.revokedAt },
    }),
  );
}

/**
 * A new notify secret for a merchant, the old one signing along with it for `overlapSeconds`;
 * recorded without the secrets, only how long the old one still signs.
 */
export function rotateNotifySecretAs(
  db: Db,
  secretBox: SecretBox,
  merchantId: string,
  overlapSeconds: number,
  operator: string,
) {
  return audited(
    db,
    (tx) => rotateNotifySecret(tx, secretBox, merchantId, overlapSeconds),
    (rotated) => ({
      operator,
      action: 'merchant.rotate_notify_secret',
      subject: { type: 'merchant', id: merchantId },
      before: null,
      after: { previousSecretValidUntil: rotated.previousSecretValidUntil },
    }),
  );
}
