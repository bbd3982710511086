/**
 * The dashboard's owner API over a real server in this process: login, sessions and their cookie,
 * CSRF, the login limit, every owner feature, and the authorization matrix: each owner route tried
 * with another owner's bucket, without a session, with an expired one and with a cross-site
 * request, plus the operator-only routes with an owner's session. A refused call changes nothing.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Addon } from '#storage';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { raw } from './helpers/raw.js';

let t: TestCellar;
let admin: string;
let alice: Addon;
let bob: Addon;
let aliceCookie: string;
let bobCookie: string;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

interface CallOpts {
  cookie?: string | null;
  /** The dashboard's CSRF header (sent by default). */
  csrf?: boolean;
  headers?: Record<string, string>;
  body?: string | Buffer;
  json?: unknown;
  base?: string;
}

async function call(method: string, route: string, o: CallOpts = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.cookie) headers.cookie = o.cookie;
  if (o.csrf !== false) headers['x-cellar-dashboard'] = '1';
  let body = o.body;
  if (o.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(o.json);
  }
  const res = await fetch((o.base ?? admin) + route, { method, headers, body: body as BodyInit | undefined });
  const text = await res.text();
  let json: unknown = null;
  if ((res.headers.get('content-type') ?? '').startsWith('application/json')) json = JSON.parse(text);
  return { status: res.status, headers: res.headers, text, json };
}

function assertError(a: Answer, status: number, code: string): void {
  assert.equal(a.status, status, a.text);
  const e = (a.json as { error?: { code?: unknown; message?: unknown } }).error;
  assert.equal(e?.code, code, a.text);
  assert.equal(typeof e?.message, 'string');
}

async function login(a: Addon, base = admin): Promise<string> {
  const r = await call('POST', '/api/v1/owner/session', {
    json: { accessKeyId: a.accessKeyId, secretAccessKey: a.secretAccessKey },
    base,
  });
  assert.equal(r.status, 200, r.text);
  const cookie = r.headers.get('set-cookie') ?? '';
  return cookie.split(';')[0]!;
}

/** A visitor's GET on the bucket's website (fetch cannot set Host). */
async function website(bucket: string, path = '/'): Promise<{ status: number; text: string }> {
  const r = await raw(t.endpoint, { method: 'GET', path, headers: { host: `${bucket}.localhost:${t.port}` } });
  return { status: r.status, text: r.text };
}

before(async () => {
  t = await startTestCellar();
  admin = `http://127.0.0.1:${t.cellar.admin.port}`;
  alice = t.newAddon('alice');
  bob = t.newAddon('bob');
  aliceCookie = await login(alice);
  bobCookie = await login(bob);
});
after(async () => {
  await t.stop();
});

describe('login and session', () => {
  test('the cookie is HttpOnly, SameSite=Strict, Path=/, with a Max-Age, not Secure over HTTP', {
    timeout: 10_000,
  }, async () => {
    const r = await call('POST', '/api/v1/owner/session', {
      json: { accessKeyId: alice.accessKeyId, secretAccessKey: alice.secretAccessKey },
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { id: alice.id, name: 'alice' });
    const c = r.headers.get('set-cookie') ?? '';
    assert.match(c, /^cellar_session=[A-Za-z0-9_-]{43}; /);
    assert.match(c, /; HttpOnly(;|$)/);
    assert.match(c, /; SameSite=Strict(;|$)/);
    assert.match(c, /; Path=\/(;|$)/);
    assert.match(c, /; Max-Age=28800(;|$)/);
    assert.doesNotMatch(c, /Secure/);
    const who = await call('GET', '/api/v1/owner/session', { cookie: c.split(';')[0] });
    assert.equal(who.status, 200, who.text);
    assert.deepEqual(who.json, {
      id: alice.id,
      name: 'alice',
      accessKeyId: alice.accessKeyId,
      endpoint: `http://localhost:${t.port}/`,
      buckets: true,
    });
  });

  test('a wrong secret, an unknown key and bad bodies are refused without a cookie', { timeout: 10_000 }, async () => {
    for (const json of [
      { accessKeyId: alice.accessKeyId, secretAccessKey: `${alice.secretAccessKey}x` },
      { accessKeyId: alice.accessKeyId, secretAccessKey: '' },
      { accessKeyId: 'NOSUCHKEY1234', secretAccessKey: alice.secretAccessKey },
      { accessKeyId: bob.accessKeyId, secretAccessKey: alice.secretAccessKey },
      {},
    ]) {
      const r = await call('POST', '/api/v1/owner/session', { json });
      assertError(r, 401, 'InvalidCredentials');
      assert.equal(r.headers.get('set-cookie'), null);
    }
    assertError(await call('POST', '/api/v1/owner/session', { json: { accessKeyId: 5 } }), 400, 'InvalidArgument');
    assertError(await call('POST', '/api/v1/owner/session', { json: [1] }), 400, 'InvalidArgument');
    assertError(
      await call('POST', '/api/v1/owner/session', { body: '{"a":', headers: { 'content-type': 'application/json' } }),
      400,
      'BadJson',
    );
  });

  test('logout ends the session on the server and clears the cookie', { timeout: 10_000 }, async () => {
    const cookie = await login(alice);
    const out = await call('DELETE', '/api/v1/owner/session', { cookie });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie') ?? '', /^cellar_session=; .*Max-Age=0/);
    assertError(await call('GET', '/api/v1/owner/buckets', { cookie }), 401, 'NoSession');
  });

  test('rotating the keys and deleting the add-on end its sessions', { timeout: 10_000 }, async () => {
    const carol = t.newAddon('carol');
    const first = await login(carol);
    const bearer = { authorization: `Bearer ${t.cellar.admin.token}` };
    assert.equal((await call('POST', `/api/v1/addons/${carol.id}/keys`, { headers: bearer })).status, 200);
    assertError(await call('GET', '/api/v1/owner/buckets', { cookie: first }), 401, 'NoSession');
    const rotated = t.cellar.storage.addon(carol.id)!;
    const second = await login(rotated);
    assert.equal((await call('DELETE', `/api/v1/addons/${carol.id}`, { headers: bearer })).status, 204);
    assertError(await call('GET', '/api/v1/owner/buckets', { cookie: second }), 401, 'NoSession');
  });

  test('the s3cfg download is the add-on own configuration, as an attachment', { timeout: 10_000 }, async () => {
    const r = await call('GET', '/api/v1/owner/s3cfg', { cookie: aliceCookie });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-disposition') ?? '', /^attachment; filename="?s3cfg"?$/);
    const lines = r.text.split('\n');
    assert.ok(lines.includes(`access_key = ${alice.accessKeyId}`), r.text);
    assert.ok(lines.includes(`secret_key = ${alice.secretAccessKey}`), r.text);
    assert.ok(lines.includes(`host_base = localhost:${t.port}`), r.text);
  });
});

describe('the dashboard files', () => {
  test('/ serves the page with CSP (no inline scripts), frame-ancestors none and X-Frame-Options', {
    timeout: 10_000,
  }, async () => {
    const res = await fetch(`${admin}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const html = await res.text();
    assert.match(html, /<script type="module" src="\/app\.js"><\/script>/);
    // Every script is a file: no inline <script> body and no on* handler attributes.
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/);
    assert.doesNotMatch(html, /\son[a-z]+=/i);
    for (const file of ['/app.js', '/style.css']) {
      const r = await fetch(admin + file);
      assert.equal(r.status, 200, file);
      assert.match(r.headers.get('content-type') ?? '', file.endsWith('.js') ? /javascript/ : /text\/css/);
      await r.arrayBuffer();
    }
  });

  test('a missing file is the JSON 404 of the API, not a directory listing', { timeout: 10_000 }, async () => {
    assertError(await call('GET', '/nothing.js'), 404, 'NoSuchRoute');
    assertError(await call('GET', '/../package.json'), 404, 'NoSuchRoute');
  });
});

describe('buckets', () => {
  test('create, list with size and object count, delete only when empty', { timeout: 20_000 }, async () => {
    const created = await call('POST', '/api/v1/owner/buckets', {
      cookie: aliceCookie,
      json: { name: 'alice-photos' },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal((created.json as { name: string }).name, 'alice-photos');
    assertError(
      await call('POST', '/api/v1/owner/buckets', { cookie: aliceCookie, json: { name: 'alice-photos' } }),
      409,
      'BucketAlreadyOwnedByYou',
    );
    assertError(
      await call('POST', '/api/v1/owner/buckets', { cookie: bobCookie, json: { name: 'alice-photos' } }),
      409,
      'BucketAlreadyExists',
    );
    assertError(
      await call('POST', '/api/v1/owner/buckets', { cookie: aliceCookie, json: { name: 'No_Such' } }),
      400,
      'InvalidBucketName',
    );
    assertError(await call('POST', '/api/v1/owner/buckets', { cookie: aliceCookie, json: {} }), 400, 'InvalidArgument');

    const s3 = t.client(alice);
    await s3.send(new PutObjectCommand({ Bucket: 'alice-photos', Key: 'a.jpg', Body: 'x'.repeat(1000) }));
    await s3.send(new PutObjectCommand({ Bucket: 'alice-photos', Key: 'b.jpg', Body: 'y'.repeat(24) }));
    const list = await call('GET', '/api/v1/owner/buckets', { cookie: aliceCookie });
    assert.equal(list.status, 200, list.text);
    const rows = list.json as { name: string; objects: number; bytes: number; public: boolean }[];
    assert.deepEqual(
      rows.map(({ name, objects, bytes, public: p }) => ({ name, objects, bytes, public: p })),
      [{ name: 'alice-photos', objects: 2, bytes: 1024, public: false }],
    );
    // Bob sees only his own (none).
    assert.deepEqual((await call('GET', '/api/v1/owner/buckets', { cookie: bobCookie })).json, []);

    const refused = await call('DELETE', '/api/v1/owner/buckets/alice-photos', { cookie: aliceCookie });
    assertError(refused, 409, 'BucketNotEmpty');
    assert.match((refused.json as { error: { message: string } }).error.message, /not empty: delete its files first/);
    const files = await call('GET', '/api/v1/owner/buckets/alice-photos/objects', { cookie: aliceCookie });
    assert.deepEqual(
      (files.json as { objects: { key: string; size: number }[] }).objects.map((o) => [o.key, o.size]),
      [
        ['a.jpg', 1000],
        ['b.jpg', 24],
      ],
    );

    await call('POST', '/api/v1/owner/buckets', { cookie: aliceCookie, json: { name: 'alice-empty' } });
    assert.equal((await call('DELETE', '/api/v1/owner/buckets/alice-empty', { cookie: aliceCookie })).status, 204);
    assert.equal(t.cellar.storage.bucket('alice-empty'), null);
    assertError(
      await call('DELETE', '/api/v1/owner/buckets/alice-empty', { cookie: aliceCookie }),
      404,
      'NoSuchBucket',
    );
  });

  test('uploads stream into the bucket; content types kept; large files in parts', { timeout: 60_000 }, async () => {
    await call('POST', '/api/v1/owner/buckets', { cookie: aliceCookie, json: { name: 'alice-up' } });
    const page = '<!doctype html><title>hi</title><h1>Hello</h1>';
    const put = await call(
      'PUT',
      `/api/v1/owner/buckets/alice-up/objects?key=${encodeURIComponent('dir/index.html')}`,
      {
        cookie: aliceCookie,
        body: page,
        headers: { 'content-type': 'text/html' },
      },
    );
    assert.equal(put.status, 201, put.text);
    assert.deepEqual(put.json, {
      key: 'dir/index.html',
      size: page.length,
      etag: createHash('md5').update(page).digest('hex'),
    });
    const got = await t.client(alice).send(new GetObjectCommand({ Bucket: 'alice-up', Key: 'dir/index.html' }));
    assert.equal(got.ContentType, 'text/html');
    assert.equal(await got.Body!.transformToString(), page);

    const odd = await call('PUT', '/api/v1/owner/buckets/alice-up/objects?key=blob', {
      cookie: aliceCookie,
      body: 'x',
      headers: { 'content-type': 'not a type' },
    });
    assert.equal(odd.status, 201, odd.text);
    assert.equal(t.cellar.storage.headObject('alice-up', 'blob')?.headers['content-type'], 'binary/octet-stream');
    assertError(
      await call('PUT', '/api/v1/owner/buckets/alice-up/objects', { cookie: aliceCookie, body: 'x' }),
      400,
      'InvalidArgument',
    );

    // Multipart: two 5 MiB parts and a short last one, as the page cuts a File with Blob.slice.
    const data = randomBytes(10 * 1024 * 1024 + 123);
    const created = await call('POST', '/api/v1/owner/buckets/alice-up/uploads', {
      cookie: aliceCookie,
      json: { key: 'big.bin', contentType: 'application/octet-stream' },
    });
    assert.equal(created.status, 201, created.text);
    const { uploadId } = created.json as { uploadId: string };
    const parts: { partNumber: number; etag: string }[] = [];
    const size = 5 * 1024 * 1024;
    for (let i = 0; i * size < data.length; i++) {
      const r = await call('PUT', `/api/v1/owner/buckets/alice-up/uploads/${uploadId}/parts/${i + 1}?key=big.bin`, {
        cookie: aliceCookie,
        body: data.subarray(i * size, (i + 1) * size),
      });
      assert.equal(r.status, 200, r.text);
      parts.push({ partNumber: i + 1, etag: (r.json as { etag: string }).etag });
    }
    assertError(
      await call('POST', `/api/v1/owner/buckets/alice-up/uploads/${uploadId}/complete`, {
        cookie: aliceCookie,
        json: { key: 'big.bin', parts: [{ partNumber: 1 }] },
      }),
      400,
      'InvalidArgument',
    );
    const done = await call('POST', `/api/v1/owner/buckets/alice-up/uploads/${uploadId}/complete`, {
      cookie: aliceCookie,
      json: { key: 'big.bin', parts },
    });
    assert.equal(done.status, 201, done.text);
    assert.equal((done.json as { size: number }).size, data.length);
    const big = await t.client(alice).send(new GetObjectCommand({ Bucket: 'alice-up', Key: 'big.bin' }));
    assert.ok(Buffer.from(await big.Body!.transformToByteArray()).equals(data));

    // Abort: the upload is gone afterwards.
    const other = (
      await call('POST', '/api/v1/owner/buckets/alice-up/uploads', { cookie: aliceCookie, json: { key: 'gone.bin' } })
    ).json as { uploadId: string };
    assert.equal(
      (
        await call('DELETE', `/api/v1/owner/buckets/alice-up/uploads/${other.uploadId}?key=gone.bin`, {
          cookie: aliceCookie,
        })
      ).status,
      204,
    );
    assertError(
      await call('PUT', `/api/v1/owner/buckets/alice-up/uploads/${other.uploadId}/parts/1?key=gone.bin`, {
        cookie: aliceCookie,
        body: 'x',
      }),
      404,
      'NoSuchUpload',
    );
    assertError(
      await call('PUT', `/api/v1/owner/buckets/alice-up/uploads/${uploadId}/parts/0?key=big.bin`, {
        cookie: aliceCookie,
        body: 'x',
      }),
      400,
      'InvalidArgument',
    );
  });

  test('an upload cut off mid-body leaves no object and no temp file', { timeout: 30_000 }, async () => {
    await call('POST', '/api/v1/owner/buckets', { cookie: aliceCookie, json: { name: 'alice-cut' } });
    const tmp = path.join(t.cellar.config.dataDir, 'tmp');
    const before = readdirSync(tmp).length;
    await new Promise<void>((resolve) => {
      const req = http.request(`${admin}/api/v1/owner/buckets/alice-cut/objects?key=cut.bin`, {
        method: 'PUT',
        headers: { cookie: aliceCookie, 'x-cellar-dashboard': '1', 'content-length': String(8 * 1024 * 1024) },
      });
      req.on('error', () => resolve());
      req.on('response', (res) => {
        res.resume();
        resolve();
      });
      // A quarter of the promised body, then the connection drops.
      req.write(Buffer.alloc(2 * 1024 * 1024), () => setImmediate(() => req.destroy()));
    });
    // The server notices the reset on its own schedule: wait (bounded) for the temp file to go.
    const deadline = Date.now() + 20_000;
    while (readdirSync(tmp).length > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(readdirSync(tmp).length, before);
    assert.equal(t.cellar.storage.headObject('alice-cut', 'cut.bin'), null);
    const list = await call('GET', '/api/v1/owner/buckets', { cookie: aliceCookie });
    const row = (list.json as { name: string; objects: number }[]).find((b) => b.name === 'alice-cut');
    assert.equal(row?.objects, 0);
  });

  test('public and private: the website answers accordingly', { timeout: 20_000 }, async () => {
    await call('POST', '/api/v1/owner/buckets', { cookie: aliceCookie, json: { name: 'alice-site' } });
    await call('PUT', '/api/v1/owner/buckets/alice-site/objects?key=index.html', {
      cookie: aliceCookie,
      body: '<h1>home</h1>',
      headers: { 'content-type': 'text/html' },
    });
    assert.equal((await website('alice-site')).status, 403);
    const pub = await call('PUT', '/api/v1/owner/buckets/alice-site/public', {
      cookie: aliceCookie,
      json: { public: true },
    });
    assert.equal(pub.status, 200, pub.text);
    assert.equal((pub.json as { public: boolean }).public, true);
    const policy = JSON.parse(t.cellar.storage.bucket('alice-site')!.policy!) as { Statement: unknown[] };
    assert.deepEqual(policy.Statement, [
      {
        Sid: 'PublicRead',
        Action: ['s3:GetObject'],
        Effect: 'Allow',
        Resource: 'arn:aws:s3:::alice-site/*',
        Principal: '*',
      },
    ]);
    assert.deepEqual(await website('alice-site'), { status: 200, text: '<h1>home</h1>' });
    // Anonymous S3 reads follow the same decision.
    assert.equal((await fetch(`${t.endpoint}/alice-site/index.html`)).status, 200);

    const priv = await call('PUT', '/api/v1/owner/buckets/alice-site/public', {
      cookie: aliceCookie,
      json: { public: false },
    });
    assert.equal((priv.json as { public: boolean }).public, false);
    assert.equal(t.cellar.storage.bucket('alice-site')!.policy, null);
    assert.equal((await website('alice-site')).status, 403);
    assertError(
      await call('PUT', '/api/v1/owner/buckets/alice-site/public', { cookie: aliceCookie, json: { public: 'yes' } }),
      400,
      'InvalidArgument',
    );
  });

  test('website settings: index, error document and SPA fallback', { timeout: 20_000 }, async () => {
    await call('POST', '/api/v1/owner/buckets', { cookie: aliceCookie, json: { name: 'alice-spa' } });
    for (const [key, body] of [
      ['app.html', '<p>app</p>'],
      ['oops.html', '<p>oops</p>'],
    ]) {
      await call('PUT', `/api/v1/owner/buckets/alice-spa/objects?key=${key}`, {
        cookie: aliceCookie,
        body,
        headers: { 'content-type': 'text/html' },
      });
    }
    await call('PUT', '/api/v1/owner/buckets/alice-spa/public', { cookie: aliceCookie, json: { public: true } });

    const errPage = await call('PUT', '/api/v1/owner/buckets/alice-spa/website', {
      cookie: aliceCookie,
      json: { index: 'app.html', error: 'oops.html', spa: false },
    });
    assert.equal(errPage.status, 200, errPage.text);
    assert.deepEqual((errPage.json as { website: unknown }).website, {
      index: 'app.html',
      error: 'oops.html',
      spa: false,
    });
    assert.deepEqual(await website('alice-spa'), { status: 200, text: '<p>app</p>' });
    assert.deepEqual(await website('alice-spa', '/no/such/route'), { status: 404, text: '<p>oops</p>' });

    const spa = await call('PUT', '/api/v1/owner/buckets/alice-spa/website', {
      cookie: aliceCookie,
      json: { index: 'app.html', spa: true },
    });
    assert.deepEqual((spa.json as { website: unknown }).website, { index: 'app.html', error: null, spa: true });
    assert.deepEqual(await website('alice-spa', '/no/such/route'), { status: 200, text: '<p>app</p>' });

    assertError(
      await call('PUT', '/api/v1/owner/buckets/alice-spa/website', {
        cookie: aliceCookie,
        json: { index: 'a/b.html' },
      }),
      400,
      'InvalidArgument',
    );
    assertError(
      await call('PUT', '/api/v1/owner/buckets/alice-spa/website', { cookie: aliceCookie, json: { spa: 'on' } }),
      400,
      'InvalidArgument',
    );
    const removed = await call('DELETE', '/api/v1/owner/buckets/alice-spa/website', { cookie: aliceCookie });
    assert.equal((removed.json as { website: unknown }).website, null);
    assert.equal(t.cellar.storage.bucket('alice-spa')!.website, null);
  });

  test('CORS from a template, read back as that template; the bucket answers preflights', {
    timeout: 20_000,
  }, async () => {
    await call('POST', '/api/v1/owner/buckets', { cookie: aliceCookie, json: { name: 'alice-cors' } });
    const read = await call('PUT', '/api/v1/owner/buckets/alice-cors/cors', {
      cookie: aliceCookie,
      json: { template: 'read-anywhere' },
    });
    assert.equal(read.status, 200, read.text);
    assert.equal((read.json as { cors: unknown }).cors, 'read-anywhere');
    const up = await call('PUT', '/api/v1/owner/buckets/alice-cors/cors', {
      cookie: aliceCookie,
      json: { template: 'uploads-from-origin', origin: 'https://app.example.com' },
    });
    assert.equal((up.json as { cors: unknown }).cors, 'uploads-from-origin');
    const pre = await fetch(`${t.endpoint}/alice-cors/file.txt`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'PUT' },
    });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example.com');
    await pre.arrayBuffer();
    for (const json of [
      { template: 'everything' },
      { template: 'uploads-from-origin' },
      { template: 'uploads-from-origin', origin: '*' },
    ])
      assertError(
        await call('PUT', '/api/v1/owner/buckets/alice-cors/cors', { cookie: aliceCookie, json }),
        400,
        'InvalidArgument',
      );
    const off = await call('DELETE', '/api/v1/owner/buckets/alice-cors/cors', { cookie: aliceCookie });
    assert.equal((off.json as { cors: unknown }).cors, null);
    assert.equal(t.cellar.storage.bucket('alice-cors')!.cors, null);
  });

  test('custom domain: the records to create and the gate diagnosis; certificates off without ACME', {
    timeout: 20_000,
  }, async () => {
    await call('POST', '/api/v1/owner/buckets', { cookie: aliceCookie, json: { name: 'www.alice.test' } });
    const r = await call('GET', '/api/v1/owner/buckets/www.alice.test/domain', { cookie: aliceCookie });
    assert.equal(r.status, 200, r.text);
    const v = r.json as {
      host: string;
      cname: unknown;
      addresses: unknown[];
      proof: { name: string; type: string; value: string; required: boolean };
      report: { decision: { name: string; allowed: boolean; steps: { step: string }[] }; certificate: unknown };
    };
    assert.equal(v.host, 'www.alice.test');
    assert.deepEqual(v.cname, { name: 'www.alice.test', type: 'CNAME', value: 'localhost' });
    assert.deepEqual(v.addresses, []);
    assert.equal(v.proof.name, '_cellar-challenge.www.alice.test');
    assert.equal(v.proof.type, 'TXT');
    assert.equal(v.proof.required, false);
    const bearer = { authorization: `Bearer ${t.cellar.admin.token}` };
    const token = await call('GET', '/api/v1/domains/www.alice.test/token', { headers: bearer });
    assert.equal(v.proof.value, (token.json as { value: string }).value);
    assert.equal(v.report.decision.name, 'www.alice.test');
    assert.equal(v.report.decision.allowed, false);
    assert.deepEqual(
      v.report.decision.steps.map((s) => s.step),
      ['name', 'bucket', 'website', 'dns'],
    );
    assert.equal(v.report.certificate, null);
    assertError(
      await call('POST', '/api/v1/owner/buckets/www.alice.test/domain/certificate', { cookie: aliceCookie }),
      501,
      'NotImplemented',
    );
  });
});

describe('authorization matrix', () => {
  /** Every owner route on a bucket, given the bucket name. */
  const ROUTES: { method: string; path: (b: string) => string; json?: unknown; body?: string }[] = [
    { method: 'DELETE', path: (b) => `/buckets/${b}` },
    { method: 'GET', path: (b) => `/buckets/${b}/objects` },
    { method: 'PUT', path: (b) => `/buckets/${b}/objects?key=index.html`, body: 'pwned' },
    { method: 'PUT', path: (b) => `/buckets/${b}/public`, json: { public: true } },
    { method: 'PUT', path: (b) => `/buckets/${b}/website`, json: { spa: true } },
    { method: 'DELETE', path: (b) => `/buckets/${b}/website` },
    { method: 'PUT', path: (b) => `/buckets/${b}/cors`, json: { template: 'read-anywhere' } },
    { method: 'DELETE', path: (b) => `/buckets/${b}/cors` },
    { method: 'POST', path: (b) => `/buckets/${b}/uploads`, json: { key: 'x' } },
    { method: 'PUT', path: (b) => `/buckets/${b}/uploads/UPLOAD/parts/1?key=big.bin`, body: 'pwned' },
    {
      method: 'POST',
      path: (b) => `/buckets/${b}/uploads/UPLOAD/complete`,
      json: { key: 'big.bin', parts: [{ partNumber: 1, etag: 'ETAG' }] },
    },
    { method: 'DELETE', path: (b) => `/buckets/${b}/uploads/UPLOAD?key=big.bin` },
    { method: 'GET', path: (b) => `/buckets/${b}/domain` },
    { method: 'POST', path: (b) => `/buckets/${b}/domain/certificate` },
  ];
  /** Routes that are not about one bucket. */
  const OWN: { method: string; path: string; json?: unknown }[] = [
    { method: 'GET', path: '/session' },
    { method: 'DELETE', path: '/session' },
    { method: 'GET', path: '/s3cfg' },
    { method: 'GET', path: '/buckets' },
    { method: 'POST', path: '/buckets', json: { name: 'matrix-new' } },
  ];
  const BUCKET = 'bob-private';
  let uploadId: string;
  let partEtag: string;

  const fill = (p: string) => p.replace('UPLOAD', uploadId);
  const withJson = (r: { json?: unknown; body?: string }) =>
    r.json === undefined
      ? r.body === undefined
        ? {}
        : { body: r.body }
      : { json: JSON.parse(fill(JSON.stringify(r.json))) };

  /** Everything about Bob's bucket a refused call could have changed. */
  const snapshot = () => {
    const s = t.cellar.storage;
    const b = s.bucket(BUCKET);
    return JSON.stringify({
      b,
      objects: s
        .listObjects(BUCKET, { prefix: '', delimiter: '', after: '', maxKeys: 100 })
        .contents.map((o) => [o.key, o.etag]),
      upload: s.multipart.findUpload(uploadId)?.id ?? null,
      parts: s.multipart.listParts(BUCKET, 'big.bin', uploadId, 0, 100).parts.map((p) => p.etag),
      matrixNew: s.bucket('matrix-new'),
    });
  };

  before(async () => {
    await call('POST', '/api/v1/owner/buckets', { cookie: bobCookie, json: { name: BUCKET } });
    await call('PUT', `/api/v1/owner/buckets/${BUCKET}/objects?key=index.html`, {
      cookie: bobCookie,
      body: 'bob home',
    });
    const u = await call('POST', `/api/v1/owner/buckets/${BUCKET}/uploads`, {
      cookie: bobCookie,
      json: { key: 'big.bin' },
    });
    uploadId = (u.json as { uploadId: string }).uploadId;
    const p = await call('PUT', `/api/v1/owner/buckets/${BUCKET}/uploads/${uploadId}/parts/1?key=big.bin`, {
      cookie: bobCookie,
      body: 'part one',
    });
    partEtag = (p.json as { etag: string }).etag;
    assert.match(partEtag, /^[0-9a-f]{32}$/);
  });

  for (const r of ROUTES) {
    test(`${r.method} ${r.path('{bucket}')}: another owner gets NoSuchBucket, nothing changes`, {
      timeout: 10_000,
    }, async () => {
      const before = snapshot();
      const a = await call(r.method, `/api/v1/owner${fill(r.path(BUCKET))}`, { cookie: aliceCookie, ...withJson(r) });
      assertError(a, 404, 'NoSuchBucket');
      // The same answer as a bucket that does not exist at all.
      const none = await call(r.method, `/api/v1/owner${fill(r.path('no-such-bucket-x'))}`, {
        cookie: aliceCookie,
        ...withJson(r),
      });
      assertError(none, 404, 'NoSuchBucket');
      assert.equal(snapshot(), before);
    });
  }

  for (const r of [...ROUTES.map((x) => ({ ...x, path: fill(x.path(BUCKET)) })), ...OWN]) {
    const label = `${r.method} ${r.path.replace(BUCKET, '{bucket}')}`;
    test(`${label}: no session and a forged cookie are 401, nothing changes`, { timeout: 10_000 }, async () => {
      const before = snapshot();
      const path = `/api/v1/owner${fill(r.path)}`;
      assertError(await call(r.method, path, withJson(r)), 401, 'NoSession');
      assertError(await call(r.method, path, { cookie: 'cellar_session=forged', ...withJson(r) }), 401, 'NoSession');
      // The operator's token is not an owner session.
      assertError(
        await call(r.method, path, { headers: { authorization: `Bearer ${t.cellar.admin.token}` }, ...withJson(r) }),
        401,
        'NoSession',
      );
      assert.equal(snapshot(), before);
    });
    if (r.method !== 'GET')
      test(`${label}: a cross-site request is 403 even with the owner's session, nothing changes`, {
        timeout: 10_000,
      }, async () => {
        const before = snapshot();
        const path = `/api/v1/owner${fill(r.path)}`;
        const cases: CallOpts[] = [
          { csrf: false },
          { headers: { 'sec-fetch-site': 'cross-site' } },
          { headers: { 'sec-fetch-site': 'same-site' } },
          { headers: { origin: 'https://evil.example' } },
          { headers: { origin: 'null' } },
        ];
        for (const c of cases)
          assertError(await call(r.method, path, { cookie: bobCookie, ...withJson(r), ...c }), 403, 'CsrfRejected');
        assert.equal(snapshot(), before);
      });
  }

  test('login itself needs the CSRF header (no login CSRF)', { timeout: 10_000 }, async () => {
    const r = await call('POST', '/api/v1/owner/session', {
      csrf: false,
      json: { accessKeyId: alice.accessKeyId, secretAccessKey: alice.secretAccessKey },
    });
    assertError(r, 403, 'CsrfRejected');
    assert.equal(r.headers.get('set-cookie'), null);
  });

  test('a same-origin request with Origin and Sec-Fetch-Site passes', { timeout: 10_000 }, async () => {
    const r = await call('PUT', `/api/v1/owner/buckets/${BUCKET}/cors`, {
      cookie: bobCookie,
      json: { template: 'read-anywhere' },
      headers: { origin: admin, 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(r.status, 200, r.text);
    await call('DELETE', `/api/v1/owner/buckets/${BUCKET}/cors`, { cookie: bobCookie });
  });

  const OPERATOR: [string, string][] = [
    ['GET', '/api/v1/addons'],
    ['POST', '/api/v1/addons'],
    ['GET', '/api/v1/addons/ID'],
    ['DELETE', '/api/v1/addons/ID'],
    ['POST', '/api/v1/addons/ID/keys'],
    ['GET', '/api/v1/addons/ID/s3cfg'],
    ['GET', '/api/v1/addons/ID/buckets'],
    ['GET', '/api/v1/certificates'],
    ['GET', '/api/v1/domains/example.com/check'],
    ['GET', '/api/v1/domains/example.com/token'],
  ];
  for (const [method, route] of OPERATOR) {
    test(`operator route ${method} ${route}: an owner session is 401`, { timeout: 10_000 }, async () => {
      const before = t.cellar.storage.listAddons().length;
      for (const id of [alice.id, bob.id]) {
        const a = await call(method, route.replace('ID', id), { cookie: aliceCookie });
        assertError(a, 401, 'Unauthorized');
      }
      assert.equal(t.cellar.storage.listAddons().length, before);
      assert.notEqual(t.cellar.storage.addon(bob.id), null);
    });
  }

  test('the upload of another owner cannot be completed, even by naming it under their own bucket', {
    timeout: 10_000,
  }, async () => {
    await call('POST', '/api/v1/owner/buckets', { cookie: aliceCookie, json: { name: 'alice-decoy' } });
    const before = snapshot();
    assertError(
      await call('POST', `/api/v1/owner/buckets/alice-decoy/uploads/${uploadId}/complete`, {
        cookie: aliceCookie,
        json: { key: 'big.bin', parts: [{ partNumber: 1, etag: partEtag }] },
      }),
      404,
      'NoSuchUpload',
    );
    assertError(
      await call('PUT', `/api/v1/owner/buckets/alice-decoy/uploads/${uploadId}/parts/2?key=big.bin`, {
        cookie: aliceCookie,
        body: 'x',
      }),
      404,
      'NoSuchUpload',
    );
    assertError(
      await call('DELETE', `/api/v1/owner/buckets/alice-decoy/uploads/${uploadId}?key=big.bin`, {
        cookie: aliceCookie,
      }),
      404,
      'NoSuchUpload',
    );
    assert.equal(snapshot(), before);
  });
});

describe('expiry and the login limit (own server)', () => {
  let s: TestCellar;
  let base: string;
  before(async () => {
    s = await startTestCellar({ dashboardSessionSeconds: 1 });
    base = `http://127.0.0.1:${s.cellar.admin.port}`;
  });
  after(async () => {
    await s.stop();
  });

  test('an expired session is refused on every route', { timeout: 20_000 }, async () => {
    const cookie = await login(s.owner, base);
    assert.equal((await call('GET', '/api/v1/owner/buckets', { cookie, base })).status, 200);
    await new Promise((r) => setTimeout(r, 1500));
    assertError(await call('GET', '/api/v1/owner/buckets', { cookie, base }), 401, 'NoSession');
    assertError(
      await call('POST', '/api/v1/owner/buckets', { cookie, base, json: { name: 'late' } }),
      401,
      'NoSession',
    );
    assert.equal(s.cellar.storage.bucket('late'), null);
  });

  test('10 failed logins from one address: the 11th try is 429 with Retry-After, even with the right keys', {
    timeout: 20_000,
  }, async () => {
    const wrong = { accessKeyId: s.owner.accessKeyId, secretAccessKey: 'wrong-secret' };
    for (let i = 0; i < 10; i++)
      assertError(await call('POST', '/api/v1/owner/session', { json: wrong, base }), 401, 'InvalidCredentials');
    const right = { accessKeyId: s.owner.accessKeyId, secretAccessKey: s.owner.secretAccessKey };
    const r = await call('POST', '/api/v1/owner/session', { json: right, base });
    assertError(r, 429, 'TooManyAttempts');
    const wait = Number(r.headers.get('retry-after'));
    assert.ok(wait >= 1 && wait <= 60, String(wait));
    assert.equal(r.headers.get('set-cookie'), null);
  });
});
