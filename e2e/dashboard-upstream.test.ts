/**
 * The dashboard's owner API in upstream mode (a gateway in front of a test RGW): an add-on owner
 * (an RGW user) logs in, and every bucket route works through RGW's S3 API signed as that owner:
 * buckets with RGW's usage stats, create and delete, streamed and multipart uploads, the public
 * policy (the site then answers visitors), website and SPA settings, CORS, versioning with a
 * version restored, and the custom-domain view. Another owner's bucket reads as missing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startCeph, type Rgw } from './helpers/ceph.js';
import { startGateway, type Gateway } from './helpers/gateway.js';
import { run } from './helpers/run.js';
import { freePort } from './helpers/server.js';

let rgw: Rgw;
let gw: Gateway;
let admin: string;
let cookie: string;
let otherCookie: string;

interface Owner {
  id: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const BUCKET = 'upstream-dash';
/** CELLAR_UPSTREAM_REVALIDATE_MS: how stale the gateway's website cache may be. */
const REVALIDATE_MS = 200;

async function newOwner(name: string): Promise<Owner> {
  const created = await gw.cli(['addon', 'create', '--name', name, '--json']);
  assert.equal(created.code, 0, created.stderr);
  return JSON.parse(created.stdout) as Owner;
}

interface Answer {
  status: number;
  json: unknown;
  text: string;
}

async function call(
  method: string,
  route: string,
  o: { json?: unknown; body?: string | Buffer; type?: string; as?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'x-cellar-dashboard': '1', cookie: o.as ?? cookie };
  let body = o.body;
  if (o.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(o.json);
  } else if (o.type !== undefined) headers['content-type'] = o.type;
  const res = await fetch(`${admin}/api/v1/owner${route}`, { method, headers, body: body as BodyInit | undefined });
  const text = await res.text();
  const json = (res.headers.get('content-type') ?? '').startsWith('application/json') ? JSON.parse(text) : null;
  return { status: res.status, json, text };
}

async function login(o: Owner): Promise<string> {
  const res = await fetch(`${admin}/api/v1/owner/session`, {
    method: 'POST',
    headers: { 'x-cellar-dashboard': '1', 'content-type': 'application/json' },
    body: JSON.stringify({ accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return (res.headers.get('set-cookie') ?? '').split(';')[0]!;
}

/** A visitor of the bucket's website, after the gateway's cache may have revalidated. */
async function site(path = '/'): Promise<{ status: string; body: string }> {
  await new Promise((r) => setTimeout(r, REVALIDATE_MS * 2));
  const host = `${BUCKET}.localhost:${gw.port}`;
  const r = await run(
    'curl',
    ['-sS', '--max-time', '20', '-w', '\n%{http_code}', '--resolve', `${host}:127.0.0.1`, `http://${host}${path}`],
    { timeoutMs: 30_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  const at = r.stdout.lastIndexOf('\n');
  return { status: r.stdout.slice(at + 1), body: r.stdout.slice(0, at) };
}

function bucketRow(a: Answer): Record<string, unknown> {
  assert.equal(a.status < 300, true, a.text);
  return a.json as Record<string, unknown>;
}

before(
  async () => {
    rgw = await startCeph();
    const adminPort = await freePort();
    gw = await startGateway(rgw, {
      CELLAR_ADMIN_PORT: String(adminPort),
      CELLAR_UPSTREAM_REVALIDATE_MS: String(REVALIDATE_MS),
    });
    admin = `http://127.0.0.1:${adminPort}`;
    const owner = await newOwner('dash-owner');
    cookie = await login(owner);
    otherCookie = await login(await newOwner('dash-other'));
  },
  { timeout: 600_000 },
);

after(
  async () => {
    await gw?.stop();
    await rgw?.down();
  },
  { timeout: 120_000 },
);

test('session and s3cfg: the bucket features are on', { timeout: 60_000 }, async () => {
  const who = await call('GET', '/session');
  assert.equal((who.json as { buckets: boolean }).buckets, true);
  const cfg = await call('GET', '/s3cfg');
  assert.equal(cfg.status, 200);
  assert.match(cfg.text, /^access_key = /m);
});

test('create a bucket, upload (streamed and in parts), list with RGW usage', { timeout: 120_000 }, async () => {
  const created = await call('POST', '/buckets', { json: { name: BUCKET } });
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(
    (({ name, objects, bytes, public: p, website, cors, versioning }) => ({
      name,
      objects,
      bytes,
      public: p,
      website,
      cors,
      versioning,
    }))(created.json as Record<string, unknown>),
    { name: BUCKET, objects: 0, bytes: 0, public: false, website: null, cors: null, versioning: null },
  );
  assert.equal((await call('POST', '/buckets', { json: { name: 'Bad_Name' } })).status, 400);

  const put = await call('PUT', `/buckets/${BUCKET}/objects?key=index.html`, {
    body: '<h1>one</h1>',
    type: 'text/html',
  });
  assert.equal(put.status, 201, put.text);
  assert.deepEqual(put.json, {
    key: 'index.html',
    size: 12,
    etag: createHash('md5').update('<h1>one</h1>').digest('hex'),
  });

  // A multipart upload: a 5 MiB part and a last small one, forwarded as UploadPart requests.
  const up = await call('POST', `/buckets/${BUCKET}/uploads`, {
    json: { key: 'big.bin', contentType: 'application/octet-stream' },
  });
  assert.equal(up.status, 201, up.text);
  const uploadId = (up.json as { uploadId: string }).uploadId;
  const parts = [];
  for (const [n, body] of [
    [1, Buffer.alloc(5 * 1024 * 1024, 1)],
    [2, Buffer.alloc(1000, 2)],
  ] as const) {
    const p = await call('PUT', `/buckets/${BUCKET}/uploads/${encodeURIComponent(uploadId)}/parts/${n}?key=big.bin`, {
      body,
    });
    assert.equal(p.status, 200, p.text);
    parts.push({ partNumber: n, etag: (p.json as { etag: string }).etag });
  }
  const done = await call('POST', `/buckets/${BUCKET}/uploads/${encodeURIComponent(uploadId)}/complete`, {
    json: { key: 'big.bin', parts },
  });
  assert.equal(done.status, 201, done.text);
  assert.equal((done.json as { size: number }).size, 5 * 1024 * 1024 + 1000);
  assert.match((done.json as { etag: string }).etag, /-2$/);

  // An aborted upload leaves nothing.
  const gone = await call('POST', `/buckets/${BUCKET}/uploads`, { json: { key: 'gone.bin' } });
  const goneId = (gone.json as { uploadId: string }).uploadId;
  assert.equal(
    (await call('DELETE', `/buckets/${BUCKET}/uploads/${encodeURIComponent(goneId)}?key=gone.bin`)).status,
    204,
  );

  const files = await call('GET', `/buckets/${BUCKET}/objects`);
  assert.deepEqual(
    (files.json as { objects: { key: string; size: number }[] }).objects.map((o) => [o.key, o.size]),
    [
      ['big.bin', 5 * 1024 * 1024 + 1000],
      ['index.html', 12],
    ],
  );
  const list = await call('GET', '/buckets');
  const row = (list.json as Record<string, unknown>[]).find((b) => b.name === BUCKET)!;
  assert.equal(row.objects, 2);
  assert.equal(row.bytes, 5 * 1024 * 1024 + 1000 + 12);
});

test('public, website with SPA, CORS: RGW holds them and the site answers visitors', { timeout: 120_000 }, async () => {
  assert.equal((await site()).status, '403');
  assert.equal(bucketRow(await call('PUT', `/buckets/${BUCKET}/public`, { json: { public: true } })).public, true);
  assert.deepEqual(await site(), { status: '200', body: '<h1>one</h1>' });

  assert.equal(
    (await call('PUT', `/buckets/${BUCKET}/objects?key=404.html`, { body: '<p>gone</p>', type: 'text/html' })).status,
    201,
  );
  const w = bucketRow(
    await call('PUT', `/buckets/${BUCKET}/website`, { json: { index: 'index.html', error: '404.html' } }),
  );
  assert.deepEqual(w.website, { index: 'index.html', error: '404.html', spa: false });
  assert.deepEqual(await site('/no/such/page'), { status: '404', body: '<p>gone</p>' });
  // RGW 16.2 refuses the SPA rule (a 200 "redirect"): a clear 501, and the settings stay as they were.
  const spa = await call('PUT', `/buckets/${BUCKET}/website`, { json: { index: 'index.html', spa: true } });
  assert.equal(spa.status, 501, spa.text);
  assert.match((spa.json as { error: { message: string } }).error.message, /RGW 16\.2/);
  const rows = (await call('GET', '/buckets')).json as { name: string; website: unknown }[];
  assert.deepEqual(rows.find((b) => b.name === BUCKET)?.website, {
    index: 'index.html',
    error: '404.html',
    spa: false,
  });
  assert.equal(bucketRow(await call('DELETE', `/buckets/${BUCKET}/website`)).website, null);

  assert.equal(
    bucketRow(await call('PUT', `/buckets/${BUCKET}/cors`, { json: { template: 'read-anywhere' } })).cors,
    'read-anywhere',
  );
  const up = bucketRow(
    await call('PUT', `/buckets/${BUCKET}/cors`, {
      json: { template: 'uploads-from-origin', origin: 'https://app.example.com' },
    }),
  );
  assert.equal(up.cors, 'uploads-from-origin');
  assert.equal(bucketRow(await call('DELETE', `/buckets/${BUCKET}/cors`)).cors, null);

  const dom = await call('GET', `/buckets/${BUCKET}/domain`);
  assert.equal(dom.status, 200, dom.text);
  const view = dom.json as { host: string; report: { decision: { steps: { step: string; ok: boolean | null }[] } } };
  assert.equal(view.host, BUCKET);
  assert.ok(view.report.decision.steps.length > 0);
  const cert = await call('POST', `/buckets/${BUCKET}/domain/certificate`);
  assert.equal(cert.status, 501, cert.text);

  assert.equal(bucketRow(await call('PUT', `/buckets/${BUCKET}/public`, { json: { public: false } })).public, false);
  assert.equal((await site()).status, '403');
  await call('PUT', `/buckets/${BUCKET}/public`, { json: { public: true } });
});

test('versioning on, upload twice, restore the first: the site serves it again', { timeout: 120_000 }, async () => {
  assert.equal(
    bucketRow(await call('PUT', `/buckets/${BUCKET}/versioning`, { json: { enabled: true } })).versioning,
    'Enabled',
  );
  for (const body of ['<h1>first</h1>', '<h1>second</h1>'])
    assert.equal(
      (await call('PUT', `/buckets/${BUCKET}/objects?key=index.html`, { body, type: 'text/html' })).status,
      201,
    );
  assert.equal((await site()).body, '<h1>second</h1>');
  const h = await call('GET', `/buckets/${BUCKET}/versions?key=index.html`);
  assert.equal(h.status, 200, h.text);
  const versions = (
    h.json as { versions: { versionId: string; isLatest: boolean; size: number; deleteMarker: boolean }[] }
  ).versions;
  // The two uploads, newest first, then the object written before versioning was on.
  assert.deepEqual(
    versions.map((v) => [v.isLatest, v.size, v.deleteMarker]),
    [
      [true, 15, false],
      [false, 14, false],
      [false, 12, false],
    ],
  );
  assert.equal(versions[2]!.versionId, 'null');
  const restored = await call('POST', `/buckets/${BUCKET}/versions/restore`, {
    json: { key: 'index.html', versionId: versions[1]!.versionId },
  });
  assert.equal(restored.status, 201, restored.text);
  assert.equal((restored.json as { size: number }).size, 14);
  assert.equal((await site()).body, '<h1>first</h1>');
  const after = await call('GET', `/buckets/${BUCKET}/versions?key=index.html`);
  assert.equal((after.json as { versions: unknown[] }).versions.length, 4);
  const missing = await call('POST', `/buckets/${BUCKET}/versions/restore`, {
    json: { key: 'index.html', versionId: 'no-such-version' },
  });
  assert.equal(missing.status, 404, missing.text);
  assert.equal(
    bucketRow(await call('PUT', `/buckets/${BUCKET}/versioning`, { json: { enabled: false } })).versioning,
    'Suspended',
  );
});

test('another owner sees none of it; a non-empty bucket is not deleted, an empty one is', {
  timeout: 120_000,
}, async () => {
  assert.deepEqual((await call('GET', '/buckets', { as: otherCookie })).json, []);
  for (const [method, route, json] of [
    ['GET', `/buckets/${BUCKET}/objects`, undefined],
    ['PUT', `/buckets/${BUCKET}/public`, { public: false }],
    ['PUT', `/buckets/${BUCKET}/versioning`, { enabled: false }],
    ['DELETE', `/buckets/${BUCKET}`, undefined],
  ] as const) {
    const r = await call(method, route, { as: otherCookie, json });
    assert.equal(r.status, 404, `${method} ${route}: ${r.text}`);
    assert.equal((r.json as { error: { code: string } }).error.code, 'NoSuchBucket');
  }
  assert.equal((await site()).body, '<h1>first</h1>');

  const refused = await call('DELETE', `/buckets/${BUCKET}`);
  assert.equal(refused.status, 409, refused.text);
  assert.equal((refused.json as { error: { code: string } }).error.code, 'BucketNotEmpty');
  assert.equal((await call('POST', '/buckets', { json: { name: 'upstream-empty' } })).status, 201);
  assert.equal((await call('DELETE', '/buckets/upstream-empty')).status, 204);
  assert.equal(
    ((await call('GET', '/buckets')).json as { name: string }[]).some((b) => b.name === 'upstream-empty'),
    false,
  );
});

test('RGW down: the owner routes answer 503 Unavailable, and work again once it is back', {
  timeout: 180_000,
}, async () => {
  await rgw.stopRgw();
  try {
    for (const route of ['/buckets', `/buckets/${BUCKET}/objects`]) {
      const r = await call('GET', route);
      assert.equal(r.status, 503, `${route}: ${r.text}`);
      assert.equal((r.json as { error: { code: string } }).error.code, 'Unavailable');
    }
  } finally {
    await rgw.startRgw();
  }
  const back = await call('GET', '/buckets');
  assert.equal(back.status, 200, back.text);
});
