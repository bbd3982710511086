/**
 * The plain-HTTP side of HTTPS: the ACME HTTP-01 responder, the HTTP -> HTTPS redirect and HSTS.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { recordOf } from '../../shared/request-record.js';
import { splitHostPort } from '../host.js';

/**
 * Pending HTTP-01 tokens -> key authorizations, written by the issuer, read by the responder: in
 * this process (ChallengeTokens), or shared by a fleet of gateways through the upstream, where the
 * CA's validation may reach another gateway than the one that ordered.
 */
export interface ChallengeStore {
  set(token: string, keyAuthorization: string): void | Promise<void>;
  delete(token: string): void | Promise<void>;
  get(token: string): string | undefined | Promise<string | undefined>;
}

export class ChallengeTokens implements ChallengeStore {
  private readonly map = new Map<string, string>();
  set(token: string, keyAuthorization: string): void {
    this.map.set(token, keyAuthorization);
  }
  delete(token: string): void {
    this.map.delete(token);
  }
  get(token: string): string | undefined {
    return this.map.get(token);
  }
}

const PREFIX = '/.well-known/acme-challenge/';
/** RFC 8555 §8.3: tokens are base64url. */
const TOKEN = /^[A-Za-z0-9_-]+$/;

/**
 * Answers `GET /.well-known/acme-challenge/<token>` on any host, before any redirect or Host
 * routing (RFC 8555 §8.3). Reads never consume the token: the CA validates from several vantage
 * points (Pebble fetches three times, concurrently). Returns false for other requests.
 */
export function answerAcmeChallenge(req: IncomingMessage, res: ServerResponse, tokens: ChallengeStore): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const url = req.url ?? '';
  if (!url.startsWith(PREFIX)) return false;
  const q = url.indexOf('?');
  const token = url.slice(PREFIX.length, q < 0 ? undefined : q);
  if (!TOKEN.test(token)) return false;
  const send = (status: number, body: string): void => {
    res.writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const answer = (keyAuthorization: string | undefined): void =>
    keyAuthorization === undefined ? send(404, 'No such ACME challenge.\n') : send(200, keyAuthorization);
  const found = tokens.get(token);
  if (typeof found === 'object') {
    // The CA retries a validation that met an error, so an upstream outage is a 503, not a 404.
    found.then(answer, () => send(503, 'ACME challenge store unavailable.\n'));
  } else {
    answer(found);
  }
  return true;
}

export interface HttpsPolicy {
  /** Redirect website GET/HEAD over HTTP once the host has a certificate. */
  redirect: boolean;
  /** Strict-Transport-Security max-age on HTTPS website responses; 0 = no header (opt-in). */
  hstsMaxAge: number;
  /** The port visitors reach HTTPS on; null while there is no HTTPS listener. */
  httpsPort(): number | null;
  hasCertificate(host: string): boolean;
}

function requestHost(req: IncomingMessage): string | null {
  const split = splitHostPort((req.headers.host ?? '').trim().toLowerCase());
  if (split === null || split.ipv6 || split.host === '') return null;
  return split.host.endsWith('.') ? split.host.slice(0, -1) : split.host;
}

/**
 * For a request already classified as website traffic: over HTTP, answers 308 to the same URL on
 * HTTPS once the host holds a certificate (308 keeps the method, so HEAD stays HEAD); over HTTPS,
 * adds HSTS when enabled. Returns true when it answered the request.
 */
export function websiteHttps(req: IncomingMessage, res: ServerResponse, secure: boolean, policy: HttpsPolicy): boolean {
  if (secure) {
    // RFC 6797 §7.2: HSTS is only meaningful (and only honoured) over a secure transport.
    if (policy.hstsMaxAge > 0) res.setHeader('strict-transport-security', `max-age=${policy.hstsMaxAge}`);
    return false;
  }
  if (!policy.redirect || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  const port = policy.httpsPort();
  const host = requestHost(req);
  if (port === null || host === null || !policy.hasCertificate(host)) return false;
  const location = `https://${host}${port === 443 ? '' : `:${port}`}${req.url ?? '/'}`;
  const id = recordOf(res)?.requestId;
  res.writeHead(308, {
    location,
    'content-length': 0,
    'cache-control': 'no-store',
    ...(id === undefined ? {} : { 'x-request-id': id }),
  });
  res.end();
  return true;
}
