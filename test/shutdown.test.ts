/**
 * Graceful shutdown in process: while a request is in flight the server stops accepting and
 * /readyz says draining; the request still completes and is stored; then everything closes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { rmSync } from 'node:fs';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Storage } from '#storage';
import { startTestCellar } from './helpers/cellar.js';

test('draining: new connections refused, /readyz 503, the upload in flight completes', {
  timeout: 30_000,
}, async () => {
  const t = await startTestCellar();
  const dataDir = t.cellar.config.dataDir;
  const admin = `http://127.0.0.1:${t.cellar.admin.port}`;
  const s3 = t.client();
  await s3.send(new CreateBucketCommand({ Bucket: 'drain' }));
  const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'drain', Key: 'k' }), { expiresIn: 600 });
  s3.destroy();
  const half = Buffer.alloc(512 * 1024, 1);
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  const upload = new Promise<number>((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', headers: { 'content-length': half.length * 2 } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.write(half, () => {
      released.then(() => req.end(half), reject);
    });
  });
  // The first half is on its way: the request is in flight.
  while (t.cellar.obs.inFlight === 0) await new Promise((r) => setTimeout(r, 10));
  const stopped = t.cellar.shutdown(20_000);
  const ready = await fetch(`${admin}/readyz`);
  assert.equal(ready.status, 503);
  assert.equal(((await ready.json()) as { checks: { shutdown?: string } }).checks.shutdown, 'draining');
  await assert.rejects(fetch(`${t.endpoint}/`), /fetch failed/);
  release();
  assert.equal(await upload, 200);
  await stopped;
  const storage = await Storage.open({ dataDir, maxObjectSize: 1 << 30, gcGraceMs: 0, collectOnOpen: false });
  try {
    assert.equal(storage.headObject('drain', 'k')?.size, half.length * 2);
  } finally {
    storage.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
