// WeChat Pay's platform certificates as we hold them: serial -> public key, seeded by the
// configured certificate and refreshed from the certificate download API when an answer or a
// notification names a serial we do not hold (WeChat Pay rotates its platform certificate and
// lists the old and the new one side by side for a while).
import { X509Certificate, createPublicKey } from 'node:crypto';

/** The public key (SPKI PEM) of a certificate's PEM, or of a bare public key's PEM. */
export function publicKeyOfPem(pem: string): string {
  const key = pem.includes('BEGIN CERTIFICATE') ? new X509Certificate(pem).publicKey : pem;
  return createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
}

export interface PlatformCertificatesOptions {
  /** The configured certificate: held from the start, never dropped. */
  seed: { serialNo: string; publicKey: string };
  /** Downloads the certificates in force: serial -> public key PEM; throws when it cannot. */
  download: () => Promise<ReadonlyMap<string, string>>;
  /** At most one download per this interval, so unknown serials cannot make us hammer WeChat Pay. */
  minRefreshIntervalMs: number;
  now?: () => number;
}

export class PlatformCertificates {
  private readonly keys = new Map<string, string>();
  private inFlight: Promise<void> | undefined;
  private lastRefreshAtMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: PlatformCertificatesOptions) {
    this.keys.set(options.seed.serialNo, options.seed.publicKey);
  }

  /** The public key of the certificate with this serial, if we hold it. */
  readonly publicKeyOf = (serial: string): string | undefined => this.keys.get(serial);

  /**
   * Makes sure a certificate with this serial is held if WeChat Pay lists it: when it is unknown,
   * downloads the list once (joining a download already under way; none when the last one was
   * less than the interval ago). Never throws: a failed download teaches nothing.
   */
  async learn(serial: string | undefined): Promise<void> {
    if (!serial || this.keys.has(serial)) return;
    if (this.inFlight) return this.inFlight;
    const now = (this.options.now ?? Date.now)();
    if (now - this.lastRefreshAtMs < this.options.minRefreshIntervalMs) return;
    this.lastRefreshAtMs = now;
    this.inFlight = this.refresh().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async refresh(): Promise<void> {
    try {
      for (const [serial, publicKey] of await this.options.download()) {
        this.keys.set(serial, publicKey);
      }
    } catch {
      // Unreachable, refused or tampered: keep what we hold; the next interval may try again.
    }
  }
}
