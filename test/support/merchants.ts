// A fresh merchant of a test's own, so that other tests' orders, refunds and events never show in
// its lists.
import { ensureMerchant, generateSecret } from '../../src/services/merchants';
import { testSecretBox, type Answer, type TestSystem } from './system';

/** A call to the merchant API with this merchant's key (`headers` add to it). */
export type MerchantCall = (
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<Answer>;

/** A new merchant: calls with its key, and its ID. */
export async function newMerchant(
  system: TestSystem,
  name: string,
): Promise<MerchantCall & { merchantId: string }> {
  const id = `mch_${name}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const key = generateSecret('pk_test');
  await ensureMerchant(system.database.db, { id, name }, key, testSecretBox);
  const call: MerchantCall = (method, path, body, headers = {}) =>
    system.api(method, path, body, { authorization: `Bearer ${key}`, ...headers });
  return Object.assign(call, { merchantId: id });
}
