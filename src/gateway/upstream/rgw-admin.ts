/**
 * Client of RGW's Admin Ops API (https://docs.ceph.com/en/pacific/radosgw/adminops/), signed with
 * the system user's keys like any S3 request. Used for two things: the gateway looks up an
 * add-on's secret by its access key, and `cellar addon ...` manages RGW users in upstream mode.
 */
import http from 'node:http';
import https from 'node:https';
import { signV4, UNSIGNED_PAYLOAD } from '#storage';

export interface RgwUser {
  uid: string;
  displayName: string;
  email: string;
  suspended: boolean;
  keys: { accessKey: string; secretKey: string }[];
}

export interface RgwAdminOptions {
  /** The RGW endpoint, scheme://host[:port]. */
  url: string;
  accessKey: string;
  secretKey: string;
  timeoutMs: number;
  /** Shared with the S3 proxy so admin look-ups reuse its warm connections. */
  agent?: http.Agent;
}

/** The upstream could not be reached, timed out, or answered 5xx: the caller answers 503. */
export class UpstreamUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamUnavailableError';
  }
}

/** RGW refused an admin request for a reason the caller should report (e.g. a key already in use). */
export class RgwAdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(`RGW admin API: ${status} ${code}`);
    this.name = 'RgwAdminError';
  }
}

interface Answer {
  status: number;
  body: unknown;
}

/** encodeURIComponent leaves !'()* alone; SigV4's canonical query string does not. */
function encode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function parseUser(v: unknown): RgwUser {
  const o = v as { user_id?: unknown; display_name?: unknown; email?: unknown; suspended?: unknown; keys?: unknown };
  if (typeof o?.user_id !== 'string' || !Array.isArray(o.keys))
    throw new UpstreamUnavailableError('RGW admin API answered an unexpected user document');
  return {
    uid: o.user_id,
    displayName: typeof o.display_name === 'string' ? o.display_name : '',
    email: typeof o.email === 'string' ? o.email : '',
    suspended: o.suspended === 1 || o.suspended === true,
    keys: (o.keys as { access_key?: unknown; secret_key?: unknown }[])
      .filter((k) => typeof k.access_key === 'string' && typeof k.secret_key === 'string')
      .map((k) => ({ accessKey: k.access_key as string, secretKey: k.secret_key as string })),
  };
}

export class RgwAdmin {
  private readonly base: URL;
  private readonly agent: http.Agent;

  constructor(private readonly o: RgwAdminOptions) {
    this.base = new URL(o.url);
    this.agent = o.agent ?? new (this.base.protocol === 'https:' ? https.Agent : http.Agent)({ keepAlive: true });
  }

  /** Closes the idle connections of an agent this client made itself. */
  close(): void {
    if (this.o.agent === undefined) this.agent.destroy();
  }

  /** The user owning `accessKey`, or null when no user has it. */
  async userByAccessKey(accessKey: string): Promise<RgwUser | null> {
    const a = await this.call('GET', '/admin/user', { 'access-key': accessKey });
    // RGW 16.2 answers an unknown access key with 403 AccessDenied (an unknown uid gets 404 NoSuchUser).
    if (a.status === 404 || (a.status === 403 && (a.body as { Code?: string } | null)?.Code === 'AccessDenied'))
      return null;
    return parseUser(this.expectOk(a));
  }

  async user(uid: string): Promise<RgwUser | null> {
    const a = await this.call('GET', '/admin/user', { uid });
    if (a.status === 404) return null;
    return parseUser(this.expectOk(a));
  }

  async createUser(u: {
    uid: string;
    displayName: string;
    email: string;
    accessKey: string;
    secretKey: string;
  }): Promise<RgwUser> {
    const q: Record<string, string> = {
      uid: u.uid,
      'display-name': u.displayName,
      'access-key': u.accessKey,
      'secret-key': u.secretKey,
    };
    if (u.email !== '') q.email = u.email;
    return parseUser(this.expectOk(await this.call('PUT', '/admin/user', q)));
  }

  /**
   * Adds an S3 key pair to a user (`PUT /admin/user?key`); the user keeps its other keys.
   * https://docs.ceph.com/en/pacific/radosgw/adminops/#create-key
   */
  async createKey(uid: string, accessKey: string, secretKey: string): Promise<RgwUser['keys']> {
    const body = this.expectOk(
      await this.call('PUT', '/admin/user', {
        key: '',
        uid,
        'key-type': 's3',
        'access-key': accessKey,
        'secret-key': secretKey,
      }),
    );
    return parseUser({ user_id: uid, keys: body }).keys;
  }

  /** Removes one S3 key pair (`DELETE /admin/user?key`); false when the user has no such key. */
  async removeKey(uid: string, accessKey: string): Promise<boolean> {
    const a = await this.call('DELETE', '/admin/user', { key: '', uid, 'key-type': 's3', 'access-key': accessKey });
    // RGW 16.2 answers a key the user does not have with 403 InvalidAccessKeyId.
    if (a.status === 404 || (a.status === 403 && (a.body as { Code?: string } | null)?.Code === 'InvalidAccessKeyId'))
      return false;
    this.expectOk(a);
    return true;
  }

  /** Fails with RgwAdminError while the user owns buckets (RGW needs purge-data for that, which we never send). */
  async deleteUser(uid: string): Promise<boolean> {
    const a = await this.call('DELETE', '/admin/user', { uid });
    if (a.status === 404) return false;
    this.expectOk(a);
    return true;
  }

  /** Every user id (the metadata API; needs the `metadata=read` cap). */
  async userIds(): Promise<string[]> {
    const body = this.expectOk(await this.call('GET', '/admin/metadata/user', {}));
    if (!Array.isArray(body) || body.some((x) => typeof x !== 'string'))
      throw new UpstreamUnavailableError('RGW admin API answered an unexpected user list');
    return body as string[];
  }

  private expectOk(a: Answer): unknown {
    if (a.status >= 200 && a.status < 300) return a.body;
    if (a.status >= 500) throw new UpstreamUnavailableError(`RGW admin API answered ${a.status}`);
    throw new RgwAdminError(a.status, (a.body as { Code?: string } | null)?.Code ?? '');
  }

  private call(method: string, path: string, params: Record<string, string>): Promise<Answer> {
    const query = Object.entries({ ...params, format: 'json' })
      .map(([k, v]) => `${encode(k)}=${encode(v)}`)
      .join('&');
    const url = new URL(`${path}?${query}`, this.base);
    const headers = signV4({
      method,
      url,
      headers: {},
      payloadHash: UNSIGNED_PAYLOAD,
      accessKeyId: this.o.accessKey,
      secretKey: this.o.secretKey,
      // RGW accepts any region in the credential scope; us-east-1 is what the SDKs default to.
      region: 'us-east-1',
      now: new Date(),
    });
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        url,
        { method, headers: { ...headers, 'content-length': '0' }, agent: this.agent, timeout: this.o.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            // A user list of a large cluster is big, but not this big.
            if (size > 64 * 1024 * 1024) req.destroy(new UpstreamUnavailableError('RGW admin answer too large'));
            else chunks.push(c);
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = null;
            try {
              body = text === '' ? null : JSON.parse(text);
            } catch {
              body = null;
            }
            resolve({ status: res.statusCode ?? 0, body });
          });
          res.on('error', (e) => reject(new UpstreamUnavailableError(e.message)));
        },
      );
      req.on('timeout', () =>
        req.destroy(new UpstreamUnavailableError(`RGW admin API did not answer within ${this.o.timeoutMs} ms`)),
      );
      req.on('error', (e) =>
        reject(e instanceof UpstreamUnavailableError ? e : new UpstreamUnavailableError(e.message)),
      );
      req.end();
    });
  }
}
