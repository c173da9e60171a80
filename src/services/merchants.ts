// Merchants and their API keys. Keys are shown once and stored only as SHA-256 hashes.
import { createHash, randomBytes } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '../db/client';
import { merchantApiKeys, merchants } from '../db/schema';
import { newId } from '../domain/ids';

export const demoMerchantId = 'mch_demo';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function generateSecret(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('base64url')}`;
}

/** Makes sure the merchant exists and `apiKey` authenticates as it. Safe to repeat. */
export async function ensureMerchant(
  db: Db,
  merchant: { id: string; name: string },
  apiKey: string,
): Promise<void> {
  await db
    .insert(merchants)
    .values({ ...merchant, notifySecret: generateSecret('whsec') })
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
