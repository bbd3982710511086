/**
 * The admin API over a real server in this process: every route, with the operator token, a
 * wrong one and none; bad JSON and unknown ids. Plus /healthz, /readyz and /metrics.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, ListBucketsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { parsePrometheus, sampleValue } from './helpers/prom.js';

let t: TestCellar;
let admin: string;
let token: string;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

async function call(
  method: string,
  route: string,
  opts: { token?: string | null; body?: string; type?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  const tok = opts.token === undefined ? token : opts.token;
  if (tok !== null) headers.authorization = `Bearer ${tok}`;
  if (opts.body !== undefined) headers['content-type'] = opts.type ?? 'application/json';
  const res = await fetch(admin + route, { method, headers, body: opts.body });
  const text = await res.text();
  let json: unknown = null;
  if ((res.headers.get('content-type') ?? '').startsWith('application/json')) json = JSON.parse(text);
  return { status: res.status, headers: res.headers, text, json };
}

function assertError(a: Answer, status: number, code: string): void {
  assert.equal(a.status, status, a.text);
  const e = (a.json as { error?: { code?: unknown; message?: unknown } }).error;
  assert.equal(e?.code, code);
  assert.equal(typeof e?.message, 'string');
}

before(async () => {
  t = await startTestCellar();
  admin = `http://127.0.0.1:${t.cellar.admin.port}`;
  token = t.cellar.admin.token;
});
after(async () => {
  await t.stop();
});

describe('token', () => {
  test('generated on first start, kept 0600 in the data dir', { timeout: 10_000 }, () => {
    assert.equal(t.cellar.admin.generated, true);
    const file = path.join(t.cellar.config.dataDir, 'admin-token');
    assert.equal(readFileSync(file, 'utf8').trim(), token);
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  const routes: [string, string][] = [
    ['GET', '/api/v1/addons'],
    ['POST', '/api/v1/addons'],
    ['GET', '/api/v1/addons/x'],
    ['DELETE', '/api/v1/addons/x'],
    ['POST', '/api/v1/addons/x/keys'],
    ['GET', '/api/v1/addons/x/s3cfg'],
    ['GET', '/api/v1/addons/x/buckets'],
    ['GET', '/api/v1/certificates'],
    ['GET', '/api/v1/domains/example.com/check'],
    ['GET', '/api/v1/domains/example.com/token'],
    ['GET', '/api/v1/nothing-here'],
  ];
  for (const [method, route] of routes) {
    test(`${method} ${route}: 401 without a token, with a wrong one, with another scheme`, {
      timeout: 10_000,
    }, async () => {
      assertError(await call(method, route, { token: null }), 401, 'Unauthorized');
      assertError(await call(method, route, { token: `${token}x` }), 401, 'Unauthorized');
      assertError(await call(method, route, { token: 'short' }), 401, 'Unauthorized');
      const basic = await fetch(admin + route, { method, headers: { authorization: `Basic ${token}` } });
      assert.equal(basic.status, 401);
      await basic.arrayBuffer();
    });
  }
});

describe('add-ons', () => {
  test('create with the CLI --json shape, then get, list and s3cfg', { timeout: 10_000 }, async () => {
    const body = JSON.stringify({
      name: 'shop',
      email: 'a@example.com',
      accessKeyId: 'SHOPKEY123',
      secretAccessKey: 'shop-secret-1',
    });
    const created = await call('POST', '/api/v1/addons', { body });
    assert.equal(created.status, 201, created.text);
    const a = created.json as Record<string, string>;
    assert.deepEqual(Object.keys(a).sort(), ['accessKeyId', 'email', 'id', 'name', 'secretAccessKey']);
    assert.equal(a.name, 'shop');
    assert.equal(a.accessKeyId, 'SHOPKEY123');
    assert.equal(created.headers.get('location'), `/api/v1/addons/${a.id}`);

    const got = await call('GET', `/api/v1/addons/${a.id}`);
    assert.deepEqual(got.json, a);
    const list = (await call('GET', '/api/v1/addons')).json as { id: string }[];
    assert.deepEqual(list.map((x) => x.id).sort(), [t.owner.id, a.id].sort());
    const cfg = await call('GET', `/api/v1/addons/${a.id}/s3cfg`);
    assert.equal(cfg.status, 200);
    assert.match(cfg.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(cfg.text, /^access_key = SHOPKEY123$/m);
    assert.match(cfg.text, /^secret_key = shop-secret-1$/m);
  });

  test('an empty body creates an add-on with generated keys', { timeout: 10_000 }, async () => {
    const r = await call('POST', '/api/v1/addons');
    assert.equal(r.status, 201, r.text);
    assert.match((r.json as { accessKeyId: string }).accessKeyId, /^[A-Z0-9]{20}$/);
  });

  test('bad JSON, wrong shapes and non-JSON bodies are 400/415', { timeout: 10_000 }, async () => {
    assertError(await call('POST', '/api/v1/addons', { body: '{"name": ' }), 400, 'BadJson');
    assertError(await call('POST', '/api/v1/addons', { body: '[1,2]' }), 400, 'InvalidArgument');
    assertError(await call('POST', '/api/v1/addons', { body: '"x"' }), 400, 'InvalidArgument');
    assertError(await call('POST', '/api/v1/addons', { body: '{"id":"cellar_mine"}' }), 400, 'InvalidArgument');
    assertError(await call('POST', '/api/v1/addons', { body: '{"name":5}' }), 400, 'InvalidArgument');
    assertError(await call('POST', '/api/v1/addons', { body: '{"accessKeyId":"ONLYKEY123"}' }), 400, 'InvalidArgument');
    assertError(
      await call('POST', '/api/v1/addons', { body: 'name=x', type: 'text/plain' }),
      415,
      'UnsupportedMediaType',
    );
  });

  test('an access key already in use is a 409 conflict', { timeout: 10_000 }, async () => {
    const body = JSON.stringify({ accessKeyId: t.owner.accessKeyId, secretAccessKey: 'whatever-secret' });
    assertError(await call('POST', '/api/v1/addons', { body }), 409, 'Conflict');
  });

  test('unknown ids are 404 on every add-on route', { timeout: 10_000 }, async () => {
    for (const [method, route] of [
      ['GET', ''],
      ['DELETE', ''],
      ['POST', '/keys'],
      ['GET', '/s3cfg'],
      ['GET', '/buckets'],
    ] as const) {
      assertError(await call(method, `/api/v1/addons/cellar_nosuchaddon${route}`), 404, 'NoSuchAddon');
    }
  });

  test('rotating keys: the new ones work, the old ones stop at once', { timeout: 20_000 }, async () => {
    const a = (await call('POST', '/api/v1/addons', { body: '{"name":"rot"}' })).json as {
      id: string;
      accessKeyId: string;
      secretAccessKey: string;
    };
    const before = t.client({ ...a, name: 'rot', email: '', createdAt: new Date() });
    await before.send(new ListBucketsCommand({}));
    const r = await call('POST', `/api/v1/addons/${a.id}/keys`);
    assert.equal(r.status, 200, r.text);
    const b = r.json as typeof a;
    assert.equal(b.id, a.id);
    assert.notEqual(b.accessKeyId, a.accessKeyId);
    assert.notEqual(b.secretAccessKey, a.secretAccessKey);
    await assert.rejects(before.send(new ListBucketsCommand({})), { name: 'InvalidAccessKeyId' });
    await t.client({ ...b, name: 'rot', email: '', createdAt: new Date() }).send(new ListBucketsCommand({}));
  });

  test('buckets with usage; an add-on owning buckets cannot be deleted (409); then it can', {
    timeout: 20_000,
  }, async () => {
    const a = (await call('POST', '/api/v1/addons', { body: '{"name":"b"}' })).json as {
      id: string;
      accessKeyId: string;
      secretAccessKey: string;
    };
    const s3: S3Client = t.client({ ...a, name: 'b', email: '', createdAt: new Date() });
    await s3.send(new CreateBucketCommand({ Bucket: 'usage-a' }));
    await s3.send(new CreateBucketCommand({ Bucket: 'usage-b' }));
    await s3.send(new PutObjectCommand({ Bucket: 'usage-a', Key: 'one', Body: 'x'.repeat(1000) }));
    await s3.send(new PutObjectCommand({ Bucket: 'usage-a', Key: 'two', Body: 'y'.repeat(24) }));
    const r = await call('GET', `/api/v1/addons/${a.id}/buckets`);
    assert.equal(r.status, 200, r.text);
    const rows = (r.json as { name: string; objects: number; bytes: number; createdAt: string }[]).sort((x, y) =>
      x.name.localeCompare(y.name),
    );
    assert.deepEqual(
      rows.map(({ name, objects, bytes }) => ({ name, objects, bytes })),
      [
        { name: 'usage-a', objects: 2, bytes: 1024 },
        { name: 'usage-b', objects: 0, bytes: 0 },
      ],
    );
    assert.ok(!Number.isNaN(Date.parse(rows[0]!.createdAt)));
    // Another add-on's buckets are not listed.
    assert.deepEqual((await call('GET', `/api/v1/addons/${t.owner.id}/buckets`)).json, []);

    assertError(await call('DELETE', `/api/v1/addons/${a.id}`), 409, 'AddonHasBuckets');
    await t.cellar.storage.deleteObject('usage-a', 'one');
    await t.cellar.storage.deleteObject('usage-a', 'two');
    t.cellar.storage.deleteBucket('usage-a');
    t.cellar.storage.deleteBucket('usage-b');
    const del = await call('DELETE', `/api/v1/addons/${a.id}`);
    assert.equal(del.status, 204);
    assertError(await call('GET', `/api/v1/addons/${a.id}`), 404, 'NoSuchAddon');
  });
});

describe('certificates and domains', () => {
  test('certificates: a JSON list (empty without any)', { timeout: 10_000 }, async () => {
    const r = await call('GET', '/api/v1/certificates');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, []);
  });

  test('domain check explains the gate; token is the TXT record', { timeout: 20_000 }, async () => {
    const check = await call('GET', '/api/v1/domains/no-such-bucket.localhost/check');
    assert.equal(check.status, 200, check.text);
    const report = check.json as { decision: { allowed: boolean }; certificate: unknown; onDemand: boolean };
    assert.equal(report.decision.allowed, false);
    assert.equal(report.certificate, null);
    assert.equal(report.onDemand, false);
    const tok = await call('GET', '/api/v1/domains/WWW.Example.COM./token');
    assert.equal(tok.status, 200);
    const rec = tok.json as { name: string; type: string; value: string };
    assert.equal(rec.name, '_cellar-challenge.www.example.com');
    assert.equal(rec.type, 'TXT');
    assert.match(rec.value, /\S{16,}/);
    assertError(await call('GET', '/api/v1/domains/bad_host!/token'), 400, 'InvalidArgument');
  });

  test('unknown routes are 404 in the same error shape', { timeout: 10_000 }, async () => {
    assertError(await call('GET', '/api/v1/buckets'), 404, 'NoSuchRoute');
    assertError(await call('GET', '/api/v2/addons'), 404, 'NoSuchRoute');
  });
});

describe('health and metrics', () => {
  test('/healthz and /readyz need no token and say ok', { timeout: 10_000 }, async () => {
    const h = await call('GET', '/healthz', { token: null });
    assert.equal(h.status, 200);
    assert.deepEqual(h.json, { status: 'ok' });
    const r = await call('GET', '/readyz', { token: null });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'ready', checks: { storage: 'ok', listeners: 'ok' } });
  });

  test('/metrics parses by the text format rules and its counters follow a known workload', {
    timeout: 30_000,
  }, async () => {
    const scrape = async () => {
      const r = await call('GET', '/metrics', { token: null });
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      return parsePrometheus(r.text);
    };
    const s3 = t.client();
    await s3.send(new CreateBucketCommand({ Bucket: 'metrics-site' }));
    const m0 = await scrape();
    for (const k of ['index.html', 'a.css', 'b.css'])
      await s3.send(new PutObjectCommand({ Bucket: 'metrics-site', Key: k, Body: 'hello', ACL: 'public-read' }));
    await assert.rejects(s3.send(new PutObjectCommand({ Bucket: 'metrics-missing', Key: 'k', Body: 'x' })));
    // Website: the first view misses the cache, the next two hit it.
    for (let i = 0; i < 3; i++) assert.equal((await view('metrics-site', '/a.css')).status, 200);
    const m1 = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sampleValue(m1, name, labels) - sampleValue(m0, name, labels);
    assert.equal(delta('cellar_requests_total', { side: 's3', operation: 'PutObject', status_class: '2xx' }), 3);
    assert.equal(delta('cellar_requests_total', { side: 's3', operation: 'PutObject', status_class: '4xx' }), 1);
    assert.equal(delta('cellar_requests_total', { side: 'website', status_class: '2xx' }), 3);
    assert.equal(delta('cellar_website_cache_requests_total', { result: 'miss' }), 1);
    assert.equal(delta('cellar_website_cache_requests_total', { result: 'hit' }), 2);
    assert.equal(delta('cellar_request_duration_seconds_count', { side: 's3', operation: 'PutObject' }), 4);
    assert.ok(delta('cellar_http_bytes_total', { side: 's3', direction: 'in' }) >= 3 * 5);
    assert.ok(delta('cellar_http_bytes_total', { side: 'website', direction: 'out' }) >= 3 * 5);
    assert.ok(delta('cellar_sqlite_commit_seconds_count') >= 3);
    assert.ok(sampleValue(m1, 'cellar_storage', { what: 'objects' }) >= 3);
    assert.ok(sampleValue(m1, 'cellar_storage', { what: 'buckets' }) >= 1);
    assert.ok(sampleValue(m1, 'cellar_website_cache_bytes') > 0);
    assert.ok(m1.some((s) => s.name.startsWith('nodejs_eventloop_lag')));
    // Bounded labels: no bucket, key, host or add-on id anywhere.
    for (const s of m1)
      for (const v of Object.values(s.labels))
        assert.ok(!/metrics-site|a\.css|localhost|cellar_/.test(v), `${s.name} has label value ${v}`);
  });

  test('the parser rejects what Prometheus rejects', { timeout: 10_000 }, () => {
    assert.throws(() => parsePrometheus('a 1'), /line feed/);
    assert.throws(() => parsePrometheus('a{b="c} 1\n'));
    assert.throws(() => parsePrometheus('a 1\na 2\n'), /duplicate/);
    assert.throws(() => parsePrometheus('1a 1\n'));
    assert.throws(() => parsePrometheus('# TYPE a countr\n'));
    assert.deepEqual(parsePrometheus('# HELP a x\n# TYPE a counter\na{b="c\\"d"} 1.5e3\n'), [
      { name: 'a', labels: { b: 'c"d' }, value: 1500 },
    ]);
  });
});

function view(bucket: string, p: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: t.port, path: p, headers: { host: `${bucket}.localhost:${t.port}` } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}
