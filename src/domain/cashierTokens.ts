// Cashier tokens: the capability a cashierUrl carries, an HMAC-SHA256 of the pay order ID and the
// order's expiry under a server secret. Whoever learns only a pay order ID cannot open its cashier.
// Pure (HMAC is computation, not I/O), but node:crypto: for the API and services, not workflows.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Why a token does not open a pay order's cashier; VALID when it does. */
export type CashierTokenCheck = 'VALID' | 'MISSING' | 'FORGED' | 'EXPIRED';

// "<expiry in Unix seconds>.<base64url HMAC-SHA256>"
const tokenShape = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

function mac(secret: string, payOrderId: string, expiry: number): Buffer {
  return createHmac('sha256', secret).update(`cashier:${payOrderId}:${expiry}`).digest();
}

/** A token for the pay order's cashier, valid until the order expires. */
export function signCashierToken(secret: string, payOrderId: string, expiresAt: Date): string {
  // Rounded up, so the token lasts at least as long as the order.
  const expiry = Math.ceil(expiresAt.getTime() / 1000);
  return `${expiry}.${mac(secret, payOrderId, expiry).toString('base64url')}`;
}

export function verifyCashierToken(
  secret: string,
  payOrderId: string,
  token: string | undefined,
  now: Date,
): CashierTokenCheck {
  if (!token) return 'MISSING';
  const parts = tokenShape.exec(token);
  if (!parts) return 'FORGED';
  const expiry = Number(parts[1]);
  const given = Buffer.from(parts[2]!, 'base64url');
  const expected = mac(secret, payOrderId, expiry);
  // Expiry is judged only under a valid signature: a forger learns nothing from the answer.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'FORGED';
  return expiry * 1000 <= now.getTime() ? 'EXPIRED' : 'VALID';
}

/**
 * The signing secret when none is configured: derived from another server secret (the ops key),
 * so every API process of a deployment, and the demo across restarts, signs alike.
 */
export function deriveCashierTokenSecret(serverSecret: string): string {
  return createHmac('sha256', serverSecret).update('paycenter cashier tokens').digest('base64url');
}
