// A merchant's notify secrets: the current one and, for a while after a rotation, the previous
// one. Stored sealed (src/services/secretBox.ts) as one value in merchants.notify_secret.
import { and, eq, not, like } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client';
import { merchants } from '../db/schema';
import { isSealed, sealedPrefix, type SecretBox } from './secretBox';

const notifySecretsSchema = z.object({
  current: z.string(),
  /** Still signed with until `until` (ISO time), so the merchant can switch without a gap. */
  previous: z.object({ secret: z.string(), until: z.string() }).optional(),
});
export type NotifySecrets = z.infer<typeof notifySecretsSchema>;

export function sealNotifySecrets(box: SecretBox, secrets: NotifySecrets): string {
  return box.seal(JSON.stringify(secrets));
}

/** The merchant's secrets from the stored value; a value stored before sealing is the plain secret. */
export function openNotifySecrets(box: SecretBox, stored: string): NotifySecrets {
  if (!isSealed(stored)) return { current: stored };
  return notifySecretsSchema.parse(JSON.parse(box.open(stored)));
}

/** The secrets a delivery is signed with now: the current one first, then the previous one. */
export function signingSecrets(secrets: NotifySecrets, now: Date): string[] {
  const previous = secrets.previous;
  const overlapping = previous !== undefined && now.getTime() < Date.parse(previous.until);
  return overlapping ? [secrets.current, previous.secret] : [secrets.current];
}

/** The `migrate` step: seals the notify secrets stored in plain text before sealing existed. */
export async function sealPlainNotifySecrets(db: Db, box: SecretBox): Promise<number> {
  const plain = await db
    .select({ id: merchants.id, stored: merchants.notifySecret })
    .from(merchants)
    .where(not(like(merchants.notifySecret, `${sealedPrefix}%`)));
  for (const row of plain) {
    await db
      .update(merchants)
      .set({ notifySecret: sealNotifySecrets(box, { current: row.stored }) })
      .where(and(eq(merchants.id, row.id), eq(merchants.notifySecret, row.stored)));
  }
  return plain.length;
}
