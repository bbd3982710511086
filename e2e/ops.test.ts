/**
 * Operations with real processes and real clients: the access-log line of a failed s3cmd request
 * carries the request id s3cmd printed; `cellar addon` talks to a running server with --url;
 * SIGTERM during a large upload finishes it or refuses it whole, and the process exits in time.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { run } from './helpers/run.js';
import { sdkClient, startServer, type E2eServer } from './helpers/server.js';

function adminUrl(s: E2eServer): string {
  const m = /Admin API: (http:\/\/\S+)\/api\/v1/.exec(s.stdout());
  assert.ok(m, `no admin URL in:\n${s.stdout()}`);
  return m[1]!;
}

function accessLog(s: E2eServer): Record<string, unknown>[] {
  return readFileSync(path.join(s.dataDir, 'access.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('access log and admin API with real clients', () => {
  let s: E2eServer;
  before(async () => {
    s = await startServer();
  });
  after(async () => {
    await s.dispose();
  });

  test('a failed s3cmd request: its access-log line carries the request id s3cmd printed', {
    timeout: 60_000,
  }, async () => {
    const r = await run('s3cmd', ['-d', '-c', s.s3cfgPath, 'ls', 's3://no-such-bucket-here'], { timeoutMs: 30_000 });
    assert.notEqual(r.code, 0);
    const printed = /ErrorXML: RequestId: '([0-9A-F]+)'/.exec(r.stdout + r.stderr);
    assert.ok(printed, `s3cmd printed no request id:\n${r.stderr}`);
    // The log is written asynchronously; a graceful stop flushes it.
    const exit = await s.stop();
    assert.deepEqual(exit, { code: 0, signal: null });
    const line = accessLog(s).find((l) => l.requestId === printed[1]);
    assert.ok(line, `no access-log line with request id ${printed[1]}`);
    assert.equal(line.status, 404);
    assert.equal(line.error, 'NoSuchBucket');
    assert.equal(line.side, 's3');
    assert.equal(line.bucket, 'no-such-bucket-here');
    assert.equal(line.addon, s.owner.id);
    await s.restart();
  });

  test('cellar addon create|list|s3cfg|delete --url/--token: same output as offline', { timeout: 60_000 }, async () => {
    const url = adminUrl(s);
    const token = readFileSync(path.join(s.dataDir, 'admin-token'), 'utf8').trim();
    const remote = (args: string[]) => s.cli(['addon', ...args, `--url=${url}`, `--token=${token}`]);
    const created = await remote(['create', '--name', 'remote', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const a = JSON.parse(created.stdout) as { id: string; name: string; accessKeyId: string };
    assert.equal(a.name, 'remote');
    const listed = await remote(['list']);
    const offline = await s.cli(['addon', 'list']);
    assert.equal(listed.stdout, offline.stdout);
    assert.match(listed.stdout, new RegExp(`^${a.id}\\tremote\\t`, 'm'));
    const cfgRemote = await remote(['s3cfg', a.id]);
    const cfgOffline = await s.cli(['addon', 's3cfg', a.id]);
    assert.equal(cfgRemote.code, 0, cfgRemote.stderr);
    assert.equal(cfgRemote.stdout, cfgOffline.stdout);
    const bad = await s.cli(['addon', 'list', `--url=${url}`, '--token=wrong-token-wrong-token']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /401/);
    const del = await remote(['delete', a.id]);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stdout, `deleted add-on ${a.id}\n`);
    const again = await remote(['delete', a.id]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /404/);
  });

  test('curl /metrics and /readyz on the admin listener', { timeout: 30_000 }, async () => {
    const url = adminUrl(s);
    // A known workload: one failed listing.
    const ls = await run('s3cmd', ['-c', s.s3cfgPath, 'ls', 's3://no-such-bucket-here'], { timeoutMs: 30_000 });
    assert.notEqual(ls.code, 0);
    const ready = await run('curl', ['-s', '-w', '\\n%{http_code}', `${url}/readyz`], { timeoutMs: 10_000 });
    assert.match(ready.stdout, /"status":"ready"[\s\S]*\n200$/);
    const m = await run('curl', ['-s', `${url}/metrics`], { timeoutMs: 10_000 });
    assert.match(m.stdout, /^# TYPE cellar_requests_total counter$/m);
    assert.match(m.stdout, /^cellar_requests_total\{side="s3",operation="ListObjects",status_class="4xx"\} [1-9]/m);
  });
});

/** A deterministic body of `size` bytes, sent in 1 MiB chunks, one every `gapMs`. */
function slowPut(
  url: string,
  size: number,
  gapMs: number,
  onSent: (bytes: number) => void,
): { done: Promise<{ status: number } | { error: string }>; md5: string } {
  const chunk = Buffer.alloc(1 << 20, 7);
  const md5 = createHash('md5');
  for (let i = 0; i < size / chunk.length; i++) md5.update(chunk);
  const done = new Promise<{ status: number } | { error: string }>((resolve) => {
    const req = http.request(url, { method: 'PUT', headers: { 'content-length': size } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', (e) => resolve({ error: e.message }));
    let sent = 0;
    const next = (): void => {
      if (sent >= size || req.destroyed) {
        req.end();
        return;
      }
      req.write(chunk, () => {
        sent += chunk.length;
        onSent(sent);
        setTimeout(next, gapMs);
      });
    };
    next();
  });
  return { done, md5: md5.digest('hex') };
}

describe('SIGTERM during a large upload', () => {
  test('within the deadline the upload completes and the process then exits 0', { timeout: 120_000 }, async () => {
    const s = await startServer({ CELLAR_SHUTDOWN_DEADLINE_MS: '4000' });
    try {
      const s3 = sdkClient(s);
      await s3.send(new CreateBucketCommand({ Bucket: 'drain' }));
      const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'drain', Key: 'big' }), { expiresIn: 600 });
      const size = 64 << 20;
      let stopping: Promise<unknown> | null = null;
      const up = slowPut(url, size, 20, (sent) => {
        if (sent >= 8 << 20 && stopping === null) stopping = s.stop();
      });
      const result = await up.done;
      assert.deepEqual(result, { status: 200 });
      assert.deepEqual(await stopping, { code: 0, signal: null });
      await s.restart();
      const head = await sdkClient(s).send(new HeadObjectCommand({ Bucket: 'drain', Key: 'big' }));
      assert.equal(head.ContentLength, size);
      assert.equal(head.ETag, `"${up.md5}"`);
    } finally {
      await s.dispose();
    }
  });

  test('past the deadline a 1 GiB upload is cut, nothing is stored, and the process exits in time', {
    timeout: 120_000,
  }, async () => {
    // stop() sends SIGTERM and SIGKILL 5 s later: exit code 0 proves the 1 s deadline was kept.
    const s = await startServer({ CELLAR_SHUTDOWN_DEADLINE_MS: '1000' });
    try {
      const s3 = sdkClient(s);
      await s3.send(new CreateBucketCommand({ Bucket: 'cut' }));
      const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'cut', Key: 'huge' }), { expiresIn: 600 });
      let stopping: Promise<unknown> | null = null;
      const up = slowPut(url, 1 << 30, 20, (sent) => {
        if (sent >= 16 << 20 && stopping === null) stopping = s.stop();
      });
      const result = await up.done;
      assert.ok('error' in result || result.status >= 500, JSON.stringify(result));
      assert.deepEqual(await stopping, { code: 0, signal: null });
      await s.restart();
      const c = sdkClient(s);
      await assert.rejects(c.send(new HeadObjectCommand({ Bucket: 'cut', Key: 'huge' })), { name: 'NotFound' });
      const list = await c.send(new ListObjectsV2Command({ Bucket: 'cut' }));
      assert.equal(list.KeyCount, 0);
    } finally {
      await s.dispose();
    }
  });
});
