/**
 * Upstream mode, large bodies: a 2 GiB object goes up through the gateway (one PutObject, the
 * SDK's default aws-chunked body with a trailing CRC32, decoded by the gateway) and comes back
 * down with a pause only back-pressure survives, while the gateway's resident set is sampled.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { startCeph, type Rgw } from './helpers/ceph.js';
import { startGateway, type Gateway } from './helpers/gateway.js';
import { MiB, randomSource, sampleRss, statusKiB, throughput } from './helpers/large.js';

// Issue 10's size: 2 GiB, ten times the bound.
const SIZE = 2048 * MiB;
// The embedded mode's bound (e2e/large-memory.test.ts).
const LIMIT_MIB = 200;
const BUCKET = 'upstream-large';

let rgw: Rgw;
let gw: Gateway;
let sdk: S3Client;

before(
  async () => {
    // Bluestore on a sparse file in the temporary directory: memstore would hold the 2 GiB (and
    // RGW's copies while it writes) in RAM, on a machine the other test files share.
    rgw = await startCeph({ CEPH_STORE: 'bluestore', CEPH_OSD_GB: '8' });
    gw = await startGateway(rgw);
    const created = await gw.cli(['addon', 'create', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const a = JSON.parse(created.stdout) as { accessKeyId: string; secretAccessKey: string };
    sdk = new S3Client({
      endpoint: gw.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: a.accessKeyId, secretAccessKey: a.secretAccessKey },
    });
    await sdk.send(new CreateBucketCommand({ Bucket: BUCKET }));
  },
  { timeout: 660_000 },
);

after(
  async () => {
    sdk?.destroy();
    await gw?.stop();
    await rgw?.down();
  },
  { timeout: 120_000 },
);

test(`gateway peak RSS stays under ${LIMIT_MIB} MiB while 2 GiB go up and down through it`, {
  // 2 GiB each way: 400 s measured on the shared development machine under heavy load.
  timeout: 1_200_000,
}, async () => {
  const idleMiB = statusKiB(gw.pid, 'VmRSS') / 1024;
  const sampler = sampleRss(gw.pid);
  const src = randomSource(SIZE);
  let started = Date.now();
  await sdk.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'two-gib.bin', Body: src.stream, ContentLength: SIZE }));
  const upMs = Date.now() - started;

  started = Date.now();
  const got = await sdk.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'two-gib.bin' }));
  const hash = createHash('sha256');
  let read = 0;
  let paused = false;
  for await (const chunk of got.Body as Readable) {
    hash.update(chunk as Buffer);
    read += (chunk as Buffer).length;
    if (!paused && read > 256 * MiB) {
      // A gateway that ignored back-pressure would keep reading RGW's answer into memory meanwhile.
      paused = true;
      await new Promise((r) => setTimeout(r, 3000));
    }
  }
  const downMs = Date.now() - started;
  const rss = sampler.stop();
  console.log(
    `2 GiB via gateway: upload ${throughput(SIZE, upMs)}, download ${throughput(SIZE, downMs)}; ` +
      `gateway RSS idle ${idleMiB.toFixed(0)} MiB, peak sampled ${rss.peakSampleMiB.toFixed(0)} MiB over ${rss.samples} samples, VmHWM ${rss.hwmMiB.toFixed(0)} MiB`,
  );
  assert.equal(read, SIZE);
  assert.equal(hash.digest('hex'), src.sha256());
  assert.ok(rss.peakSampleMiB < LIMIT_MIB, `peak sampled RSS ${rss.peakSampleMiB.toFixed(0)} MiB`);
  assert.ok(rss.hwmMiB < LIMIT_MIB, `VmHWM ${rss.hwmMiB.toFixed(0)} MiB`);
  await sdk.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'two-gib.bin' }));
});

test('the gateway logged no internal error meanwhile', { timeout: 5_000 }, () => {
  assert.deepEqual(
    gw
      .stderr()
      .split('\n')
      .filter((l) => l.includes('"level":"error"')),
    [],
  );
});
