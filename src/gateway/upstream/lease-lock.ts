/**
 * A fleet-wide lock with a lease, one object per lock in the system bucket (`locks/<name>`), so
 * that one gateway of the fleet orders a name's certificate and the others wait for it.
 *
 * Why it holds on RGW 16.2: both steps that take the lock are conditional PUTs that RGW
 * evaluates inside the RADOS write of the object's head, which the OSD applies atomically and
 * one at a time per object:
 * - take a free lock: `PUT` with `If-None-Match: *`. RGW turns it into an exclusive create of the
 *   head object (RGWRados::Object::prepare_atomic_modification); a contender that loses the race
 *   gets EEXIST, which RGW answers as 412 (RGWRados::Object::Write::_do_write_meta). Observed on
 *   16.2.15: twelve concurrent PUTs of a new key, exactly one 200 and eleven 412, every round
 *   (test/fleet-lock.test.ts races contenders the same way).
 * - take over an expired lease: `PUT` with `If-Match: <the ETag read>`. RGW compares the stored
 *   ETag and guards the write with a compare of the object's tag (cmpxattr), so a write that
 *   replaced the object in between cancels this one. Of contenders that read the same expired
 *   lease, one wins. A loser gets 412 when the winner had committed before its check, else
 *   500 UnknownError (RGW does not map the cancelled write, ECANCELED, to 412; observed), so an
 *   error answer is settled by reading the lock back: our own body there means we hold it.
 * - release: the same If-Match PUT with an expired lease, never a DELETE: RGW 16.2 ignores
 *   If-Match on DELETE (observed: the object is deleted whatever the ETag), so a holder whose lease
 *   ran out could delete its successor's lock.
 * Not a versioned bucket: there RGW 16.2 ignores If-None-Match on PUT (observed: a second
 * conditional PUT of the same key gets 200 and a new version), so SystemBucket.ensure() refuses
 * one. A lease is a point in time on the holder's clock; gateways need clocks within a small part
 * of the lease (NTP), as any lease does.
 */
import { randomBytes } from 'node:crypto';
import type { FleetLock, Lease } from '../tls/manager.js';
import { UpstreamUnavailableError } from './rgw-admin.js';
import type { SystemBucket, WriteCondition } from './system-bucket.js';

export interface LeaseBody {
  holder: string;
  /** Epoch milliseconds; 0 once released. */
  expires: number;
}

export function parseLease(body: Buffer | string): LeaseBody | null {
  try {
    const v = JSON.parse(body.toString()) as Partial<LeaseBody>;
    if (typeof v.holder !== 'string' || typeof v.expires !== 'number') return null;
    return { holder: v.holder, expires: v.expires };
  } catch {
    return null;
  }
}

/** A lease blocks others while unexpired; an unreadable one (a partial operator edit) never does. */
export function leaseLive(lease: LeaseBody | null, now: number): boolean {
  return lease !== null && lease.expires > now;
}

export interface BucketLockOptions {
  /** Who this gateway is, in the lock objects (for operators reading them). */
  holder: string;
  /** Longer than any issuance: an ACME order takes seconds, its timeouts bound it to minutes. */
  leaseMs: number;
  now?: () => number;
}

export class BucketLock implements FleetLock {
  private readonly now: () => number;

  constructor(
    private readonly bucket: SystemBucket,
    private readonly o: BucketLockOptions,
  ) {
    this.now = o.now ?? Date.now;
  }

  private key(name: string): string {
    return `locks/${name}`;
  }

  /** A body unique to this attempt: its ETag (the MD5 of the body) then names this lease alone. */
  private body(expires: number): string {
    return `${JSON.stringify({ holder: this.o.holder, expires, nonce: randomBytes(12).toString('hex') })}\n`;
  }

  /**
   * A conditional PUT whose outcome is certain: on an error answer (a lost race, see above, or
   * an answer lost on the way) the lock is read back, and only our own body there is a win.
   */
  private async write(key: string, body: string, cond: WriteCondition): Promise<{ etag: string } | 'conflict'> {
    try {
      return await this.bucket.put(key, body, cond);
    } catch (e) {
      if (!(e instanceof UpstreamUnavailableError)) throw e;
      const now = await this.bucket.get(key);
      if (now === null) throw e;
      return now.body.toString('utf8') === body ? { etag: now.etag } : 'conflict';
    }
  }

  async acquire(name: string): Promise<Lease | null> {
    const key = this.key(name);
    // A lock deleted by hand between the two steps sends us round again; twice is plenty.
    for (let round = 0; round < 3; round++) {
      const created = await this.write(key, this.body(this.now() + this.o.leaseMs), { ifNoneMatch: '*' });
      if (created !== 'conflict') return this.lease(key, created.etag);
      const current = await this.bucket.get(key);
      if (current === null) continue;
      if (leaseLive(parseLease(current.body), this.now())) return null;
      const taken = await this.write(key, this.body(this.now() + this.o.leaseMs), { ifMatch: current.etag });
      return taken === 'conflict' ? null : this.lease(key, taken.etag);
    }
    return null;
  }

  async held(name: string): Promise<boolean> {
    const current = await this.bucket.get(this.key(name));
    return current !== null && leaseLive(parseLease(current.body), this.now());
  }

  private lease(key: string, etag: string): Lease {
    return {
      release: async () => {
        // A conflict means our lease ran out and another gateway holds the lock now: leave it.
        await this.write(key, this.body(0), { ifMatch: etag });
      },
    };
  }
}
