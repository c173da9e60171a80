// Issue 12, secrets: the sealed form of merchants' notify secrets (AES-256-GCM, versioned, random IV).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config';
import {
  createSecretBox,
  generateSecretKey,
  isSealed,
  parseSecretKey,
} from '../../src/services/secretBox';

const key = randomBytes(32);
const secret = 'whsec_a-merchant-notify-secret';

describe('issue 12: secret box', () => {
  it('issue 12: round trip: a sealed secret opens to itself, and never shows it', () => {
    const box = createSecretBox(key);
    const sealed = box.seal(secret);
    assert.ok(isSealed(sealed));
    assert.match(sealed, /^sb1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.ok(!sealed.includes(secret));
    assert.equal(box.open(sealed), secret);
    // a random IV: sealing twice gives two different texts
    assert.notEqual(box.seal(secret), sealed);
  });

  it('issue 12: tamper detected: a changed ciphertext, tag or IV is refused', () => {
    const box = createSecretBox(key);
    const [version, iv, tag, ciphertext] = box.seal(secret).split('.');
    const flip = (part: string) => {
      const bytes = Buffer.from(part, 'base64url');
      bytes[0] = bytes[0]! ^ 1;
      return bytes.toString('base64url');
    };
    for (const changed of [
      [version, iv, tag, flip(ciphertext!)],
      [version, iv, flip(tag!), ciphertext],
      [version, flip(iv!), tag, ciphertext],
    ]) {
      assert.throws(() => box.open(changed.join('.')), /changed or sealed under another key/);
    }
    assert.throws(() => box.open(secret), /not a sb1 sealed secret/);
  });

  it('issue 12: wrong key refused', () => {
    const sealed = createSecretBox(key).seal(secret);
    assert.throws(
      () => createSecretBox(randomBytes(32)).open(sealed),
      /changed or sealed under another key/,
    );
  });

  it('issue 12: PAYCENTER_SECRET_KEY: 32 bytes as hex or base64, anything else refused at start', () => {
    const hex = key.toString('hex');
    assert.deepEqual(parseSecretKey(hex), key);
    assert.deepEqual(parseSecretKey(key.toString('base64')), key);
    assert.deepEqual(parseSecretKey(generateSecretKey())?.length, 32);
    assert.equal(parseSecretKey(randomBytes(16).toString('hex')), undefined);
    assert.equal(parseSecretKey('not a key at all!'), undefined);

    assert.deepEqual(loadConfig({ PAYCENTER_SECRET_KEY: hex }).PAYCENTER_SECRET_KEY, key);
    assert.equal(loadConfig({}).PAYCENTER_SECRET_KEY, undefined);
    assert.throws(
      () => loadConfig({ PAYCENTER_SECRET_KEY: 'short' }),
      /PAYCENTER_SECRET_KEY: must be 32 bytes/,
    );
  });
});
