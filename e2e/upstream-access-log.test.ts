/**
 * Upstream mode's access log and metrics for S3 requests: s3cmd through a gateway in front of a
 * real RGW. Each line names the client's Host (not RGW's), the S3 operation, the add-on, the
 * bucket, RGW's error code, and the request id the client saw (RGW's, or the gateway's own for
 * an error the gateway answers itself).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startCeph, type Rgw } from './helpers/ceph.js';
import { startGateway, type Gateway } from './helpers/gateway.js';
import { run } from './helpers/run.js';

let rgw: Rgw;
let g: Gateway;
let work: string;
let logPath: string;
let owner: { id: string };

before(
  async () => {
    rgw = await startCeph();
    work = mkdtempSync(path.join(tmpdir(), 'cellar-upstream-log-'));
    logPath = path.join(work, 'access.log');
    g = await startGateway(rgw, { CELLAR_ACCESS_LOG: logPath, CELLAR_ADMIN_PORT: '0' });
    const created = await g.cli(['addon', 'create', '--name', 'log-owner', '--json']);
    assert.equal(created.code, 0, created.stderr);
    owner = JSON.parse(created.stdout) as { id: string };
  },
  { timeout: 660_000 },
);

after(
  async () => {
    await g?.stop();
    await rgw?.down();
    if (work) rmSync(work, { recursive: true, force: true });
  },
  { timeout: 120_000 },
);

type Line = Record<string, unknown>;

test('s3cmd through the gateway: each S3 line carries the fields of an embedded one and the id the client saw', {
  timeout: 240_000,
}, async () => {
  const s3cfg = path.join(work, 's3cfg');
  const cfg = await g.cli(['addon', 's3cfg', owner.id]);
  assert.equal(cfg.code, 0, cfg.stderr);
  writeFileSync(s3cfg, cfg.stdout);
  const host = `localhost:${g.port}`;
  const s3cmd = (args: string[]) =>
    run('s3cmd', ['-d', '-c', s3cfg, `--host=${host}`, `--host-bucket=${host}`, ...args], { timeoutMs: 60_000 });
  const file = path.join(work, 'hello.txt');
  const content = 'hello through the gateway\n'.repeat(100);
  writeFileSync(file, content);

  const mb = await s3cmd(['mb', 's3://logged']);
  assert.equal(mb.code, 0, mb.stderr);
  const put = await s3cmd(['put', file, 's3://logged/hello.txt']);
  assert.equal(put.code, 0, put.stderr);
  // s3cmd -d prints every response's headers; the last one of the put is PutObject's.
  const putIds = [...(put.stdout + put.stderr).matchAll(/'x-amz-request-id': '([^']+)'/g)].map((m) => m[1]!);
  assert.ok(putIds.length > 0, `s3cmd printed no request id:\n${put.stderr}`);
  // s3cmd get asks HEAD first: RGW's 404 to a HEAD has no body, so no error code to read.
  const missing = await s3cmd(['get', 's3://logged/no-such-key', path.join(work, 'out.txt')]);
  assert.notEqual(missing.code, 0);
  const headId = /'x-amz-request-id': '([^']+)'/.exec(missing.stdout + missing.stderr)?.[1];
  assert.ok(headId, `s3cmd printed no request id:\n${missing.stderr}`);
  const noBucket = await s3cmd(['ls', 's3://no-such-bucket-here']);
  assert.notEqual(noBucket.code, 0);
  const printed = /ErrorXML: RequestId: '([^']+)'/.exec(noBucket.stdout + noBucket.stderr);
  assert.ok(printed, `s3cmd printed no error request id:\n${noBucket.stderr}`);

  // An error the gateway answers itself (RGW never sees it): its own id, in the header and log.
  const bogus = await fetch(`${g.endpoint}/logged`, {
    headers: {
      authorization:
        'AWS4-HMAC-SHA256 Credential=NOSUCHKEY0000000000/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00',
      'x-amz-date': '20250101T000000Z',
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
    },
  });
  assert.equal(bogus.status, 403);
  assert.match(await bogus.text(), /<Code>InvalidAccessKeyId<\/Code>/);
  const bogusId = bogus.headers.get('x-amz-request-id');
  assert.ok(bogusId);

  const adminUrl = /Admin API: (http:\/\/\S+)\/api\/v1/.exec(g.stdout())?.[1];
  assert.ok(adminUrl, g.stdout());
  const metrics = await (await fetch(`${adminUrl}/metrics`)).text();

  // The log is written asynchronously; a graceful stop flushes it.
  await g.stop();
  const lines = readFileSync(logPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => l.side === 's3');
  const byId = (id: string): Line => {
    const l = lines.find((x) => x.requestId === id);
    assert.ok(l, `no access-log line with request id ${id}:\n${JSON.stringify(lines, null, 1)}`);
    return l;
  };
  // s3cmd's Host (fetch's below is 127.0.0.1), never RGW's.
  for (const l of lines) if (l.requestId !== bogusId) assert.equal(l.host, host, JSON.stringify(l));

  const created = lines.find((l) => l.op === 'CreateBucket');
  assert.ok(created, JSON.stringify(lines, null, 1));
  assert.equal(created.bucket, 'logged');
  assert.equal(created.addon, owner.id);
  assert.equal(created.status, 200);

  const stored = byId(putIds.at(-1)!);
  assert.equal(stored.op, 'PutObject');
  assert.equal(stored.method, 'PUT');
  assert.equal(stored.path, '/logged/hello.txt');
  assert.equal(stored.bucket, 'logged');
  assert.equal(stored.addon, owner.id);
  assert.equal(stored.status, 200);
  assert.equal(stored.error, null);
  assert.ok((stored.bytesIn as number) >= content.length, JSON.stringify(stored));
  assert.ok((stored.bytesOut as number) > 0, JSON.stringify(stored));
  assert.equal(typeof stored.ms, 'number');

  const head = byId(headId);
  assert.equal(head.op, 'HeadObject');
  assert.equal(head.bucket, 'logged');
  assert.equal(head.addon, owner.id);
  assert.equal(head.status, 404);
  assert.equal(head.error, null);

  const failed = byId(printed[1]!);
  assert.equal(failed.op, 'ListObjects');
  assert.equal(failed.bucket, 'no-such-bucket-here');
  assert.equal(failed.addon, owner.id);
  assert.equal(failed.status, 404);
  assert.equal(failed.error, 'NoSuchBucket');

  const refused = byId(bogusId);
  assert.equal(refused.op, 'ListObjects');
  assert.equal(refused.host, `127.0.0.1:${g.port}`);
  assert.equal(refused.bucket, 'logged');
  assert.equal(refused.addon, null);
  assert.equal(refused.status, 403);
  assert.equal(refused.error, 'InvalidAccessKeyId');

  // The metrics count the same operations (router names, a bounded set).
  assert.match(metrics, /^cellar_requests_total\{side="s3",operation="PutObject",status_class="2xx"\} [1-9]/m);
  assert.match(metrics, /^cellar_requests_total\{side="s3",operation="HeadObject",status_class="4xx"\} [1-9]/m);
  assert.match(metrics, /^cellar_requests_total\{side="s3",operation="ListObjects",status_class="4xx"\} [1-9]/m);
});
