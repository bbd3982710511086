import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChallengeTokens, answerAcmeChallenge, websiteHttps, type HttpsPolicy } from './http.js';

const tokens = new ChallengeTokens();
let server: http.Server;
let base: string;

before(async () => {
  server = http.createServer((req, res) => {
    if (answerAcmeChallenge(req, res, tokens)) return;
    res.writeHead(299).end('fell through');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

test('challenge responder: serves the key authorization on every read, 404 for unknown tokens, ignores other paths', {
  timeout: 30_000,
}, async () => {
  tokens.set('tok_EN-1', 'tok_EN-1.thumbprint');
  // The CA validates from several vantage points at once; a read must not consume the token.
  const reads = await Promise.all(
    [1, 2, 3].map(() =>
      fetch(`${base}/.well-known/acme-challenge/tok_EN-1`, { headers: { host: 'www.site.test:5002' } }),
    ),
  );
  for (const r of reads) {
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'tok_EN-1.thumbprint');
  }
  const cases: [string, string, number, string | null][] = [
    ['GET', '/.well-known/acme-challenge/unknown', 404, 'No such ACME challenge.\n'],
    ['HEAD', '/.well-known/acme-challenge/tok_EN-1', 200, ''],
    ['GET', '/.well-known/acme-challenge/tok_EN-1?x=1', 200, 'tok_EN-1.thumbprint'],
    ['POST', '/.well-known/acme-challenge/tok_EN-1', 299, null],
    ['GET', '/.well-known/acme-challenge/bad%20token', 299, null],
    ['GET', '/index.html', 299, null],
  ];
  for (const [method, path, status, body] of cases) {
    const r = await fetch(base + path, { method });
    assert.equal(r.status, status, `${method} ${path}`);
    const text = await r.text();
    if (body !== null) assert.equal(text, body, `${method} ${path}`);
  }
  tokens.delete('tok_EN-1');
  assert.equal((await fetch(`${base}/.well-known/acme-challenge/tok_EN-1`)).status, 404);
});

interface Captured {
  status?: number;
  headers: Record<string, unknown>;
  ended: boolean;
}

function fake(
  method: string,
  host: string,
  url = '/page?q=1',
): { req: IncomingMessage; res: ServerResponse; out: Captured } {
  const out: Captured = { headers: {}, ended: false };
  const res = {
    setHeader: (k: string, v: unknown) => {
      out.headers[k] = v;
    },
    writeHead: (s: number, h: Record<string, unknown>) => {
      out.status = s;
      Object.assign(out.headers, h);
    },
    end: () => {
      out.ended = true;
    },
  } as unknown as ServerResponse;
  return { req: { method, url, headers: { host } } as IncomingMessage, res, out };
}

test('websiteHttps: 308 to HTTPS only over HTTP, for GET/HEAD, once the host has a certificate', {
  timeout: 30_000,
}, () => {
  const policy = (over: Partial<HttpsPolicy> = {}): HttpsPolicy => ({
    redirect: true,
    hstsMaxAge: 0,
    httpsPort: () => 8443,
    hasCertificate: (h) => h === 'www.site.test',
    ...over,
  });
  const cases: {
    what: string;
    method?: string;
    host?: string;
    secure?: boolean;
    p?: Partial<HttpsPolicy>;
    location: string | null;
  }[] = [
    { what: 'GET with a certificate', location: 'https://www.site.test:8443/page?q=1' },
    {
      what: 'HEAD, host with port and trailing dot',
      method: 'HEAD',
      host: 'WWW.site.test.:8080',
      location: 'https://www.site.test:8443/page?q=1',
    },
    { what: 'port 443 is left out', p: { httpsPort: () => 443 }, location: 'https://www.site.test/page?q=1' },
    { what: 'no certificate yet', host: 'other.test', location: null },
    { what: 'redirect switched off', p: { redirect: false }, location: null },
    { what: 'no HTTPS listener', p: { httpsPort: () => null }, location: null },
    { what: 'already HTTPS', secure: true, location: null },
    { what: 'not GET/HEAD', method: 'POST', location: null },
  ];
  for (const c of cases) {
    const { req, res, out } = fake(c.method ?? 'GET', c.host ?? 'www.site.test');
    const answered = websiteHttps(req, res, c.secure ?? false, policy(c.p));
    assert.equal(answered, c.location !== null, c.what);
    assert.equal(out.headers.location, c.location ?? undefined, c.what);
    if (c.location) assert.equal(out.status, 308, c.what);
  }
});

test('websiteHttps: HSTS is opt-in and only sent over HTTPS', { timeout: 30_000 }, () => {
  const policy: HttpsPolicy = {
    redirect: true,
    hstsMaxAge: 31536000,
    httpsPort: () => 443,
    hasCertificate: () => true,
  };
  const secure = fake('GET', 'www.site.test');
  assert.equal(websiteHttps(secure.req, secure.res, true, policy), false);
  assert.equal(secure.out.headers['strict-transport-security'], 'max-age=31536000');
  const off = fake('GET', 'www.site.test');
  websiteHttps(off.req, off.res, true, { ...policy, hstsMaxAge: 0 });
  assert.equal(off.out.headers['strict-transport-security'], undefined);
  const plain = fake('GET', 'www.site.test');
  websiteHttps(plain.req, plain.res, false, policy);
  assert.equal(plain.out.headers['strict-transport-security'], undefined);
});

test('challenge responder over a shared store: answers once the read-through settles; 503 when the store fails', {
  timeout: 30_000,
}, async () => {
  const shared = {
    set: () => undefined,
    delete: () => undefined,
    get: (token: string): Promise<string | undefined> =>
      token === 'down'
        ? Promise.reject(new Error('RGW unreachable'))
        : Promise.resolve(token === 'known' ? 'known.thumbprint' : undefined),
  };
  const srv = http.createServer((req, res) => {
    if (!answerAcmeChallenge(req, res, shared)) res.writeHead(299).end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/.well-known/acme-challenge/`;
  try {
    const cases: [string, number, string][] = [
      ['known', 200, 'known.thumbprint'],
      ['unknown', 404, 'No such ACME challenge.\n'],
      ['down', 503, 'ACME challenge store unavailable.\n'],
    ];
    for (const [token, status, body] of cases) {
      const r = await fetch(url + token);
      assert.equal(r.status, status, token);
      assert.equal(await r.text(), body, token);
      assert.equal(r.headers.get('cache-control'), 'no-store');
    }
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
  }
});
