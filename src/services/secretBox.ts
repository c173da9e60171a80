// Secrets we must use again (merchants' notify secrets) are stored sealed: AES-256-GCM under the
// deployment's PAYCENTER_SECRET_KEY, as "sb1.<iv>.<tag>.<ciphertext>" (base64url parts). The
// version names the format and key, so a later key or cipher can be told apart from this one.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const version = 'sb1';
const ivBytes = 12;
export const secretKeyBytes = 32;

export interface SecretBox {
  seal(plain: string): string;
  /** The plain text; throws when the text was not sealed under this key or was changed. */
  open(sealed: string): string;
}

/** How every sealed value starts; values stored before sealing existed do not. */
export const sealedPrefix = `${version}.`;

export function isSealed(stored: string): boolean {
  return stored.startsWith(sealedPrefix);
}

/** A 32-byte key written as 64 hex digits or as base64; undefined for anything else. */
export function parseSecretKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? Buffer.from(trimmed, 'hex')
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)
      ? Buffer.from(trimmed, 'base64')
      : undefined;
  return key?.length === secretKeyBytes ? key : undefined;
}

export function generateSecretKey(): string {
  return randomBytes(secretKeyBytes).toString('base64');
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== secretKeyBytes)
    throw new Error(`the secret key must be ${secretKeyBytes} bytes`);
  return {
    seal(plain) {
      const iv = randomBytes(ivBytes);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(version));
      const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      const parts = [iv, cipher.getAuthTag(), ciphertext].map((b) => b.toString('base64url'));
      return [version, ...parts].join('.');
    },
    open(sealed) {
      const [prefix, iv, tag, ciphertext, ...rest] = sealed.split('.');
      if (prefix !== version || !iv || !tag || ciphertext === undefined || rest.length > 0) {
        throw new Error(`not a ${version} sealed secret`);
      }
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(version));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      try {
        const plain = Buffer.concat([
          decipher.update(Buffer.from(ciphertext, 'base64url')),
          decipher.final(),
        ]);
        return plain.toString('utf8');
      } catch {
        throw new Error('the sealed secret was changed or sealed under another key');
      }
    },
  };
}
