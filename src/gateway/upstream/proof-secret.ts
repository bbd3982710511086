/**
 * The domain-proof secret of a fleet (`proof/domain-proof.key` in the system bucket), so that
 * every gateway derives the same `_cellar-challenge` TXT token for a domain. Made once by
 * whichever gateway (or `cellar domain token`) needs it first, with a create-only PUT
 * (`If-None-Match: *`, exclusive on RGW 16.2, see lease-lock.ts): the losers read the winner's.
 * A gateway that already had a `domain-proof.key` in its data directory (what the README asked
 * of fleets before) seeds the fleet with it, so the TXT records already published stay valid.
 */
import { randomBytes } from 'node:crypto';
import { UpstreamUnavailableError } from './rgw-admin.js';
import type { SystemBucket } from './system-bucket.js';

export const PROOF_SECRET_KEY = 'proof/domain-proof.key';

function parseSecret(bucket: string, body: Buffer): Buffer {
  const hex = body.toString('utf8').trim();
  if (!/^(?:[0-9a-f]{2}){16,}$/i.test(hex))
    throw new Error(`${bucket}/${PROOF_SECRET_KEY} does not hold a hex secret of 16 bytes or more`);
  return Buffer.from(hex, 'hex');
}

export class FleetProofSecret {
  private pending: Promise<Buffer> | undefined;

  /** `seed`: the secret to store when the fleet has none yet (the local key file), else null. */
  constructor(
    private readonly bucket: SystemBucket,
    private readonly seed: () => Buffer | null,
  ) {}

  /** Read once, then kept: the secret never changes under a running gateway. A failure is retried next time. */
  get(): Promise<Buffer> {
    this.pending ??= this.read().catch((e: unknown) => {
      this.pending = undefined;
      throw e;
    });
    return this.pending;
  }

  private async read(): Promise<Buffer> {
    const stored = await this.bucket.get(PROOF_SECRET_KEY);
    if (stored !== null) return parseSecret(this.bucket.name, stored.body);
    // The first user of a fleet may come before any gateway with HTTPS made the bucket.
    await this.bucket.ensure();
    const seeded = this.seed();
    const candidate = seeded !== null && seeded.length >= 16 ? seeded : randomBytes(32);
    try {
      const put = await this.bucket.put(PROOF_SECRET_KEY, `${candidate.toString('hex')}\n`, { ifNoneMatch: '*' });
      if (put !== 'conflict') return candidate;
    } catch (e) {
      // An answer lost on the way: what is stored now decides, ours or another's.
      if (!(e instanceof UpstreamUnavailableError)) throw e;
    }
    const winner = await this.bucket.get(PROOF_SECRET_KEY);
    if (winner === null) throw new Error(`${PROOF_SECRET_KEY} vanished from ${this.bucket.name} while being created`);
    return parseSecret(this.bucket.name, winner.body);
  }
}
