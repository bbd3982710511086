/**
 * Memory is a correctness property: the server's resident set must not grow with object size.
 * A 2 GiB object is streamed up (one PutObject, the SDK's default aws-chunked body) and down
 * (with a pause that only back-pressure survives) while /proc is sampled.
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
  type S3Client,
} from '@aws-sdk/client-s3';
import { MiB, randomSource, sampleRss, serverPid, statusKiB, throughput } from './helpers/large.js';
import { sdkClient, startServer, type E2eServer } from './helpers/server.js';

const BUCKET = 'memory';
const SIZE = 2048 * MiB;
const LIMIT_MIB = 200;

let server: E2eServer;
let sdk: S3Client;

before(async () => {
  server = await startServer();
  sdk = sdkClient(server);
  await sdk.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

after(async () => {
  sdk?.destroy();
  await server?.dispose();
});

test(`server peak RSS stays under ${LIMIT_MIB} MiB while a 2 GiB object is uploaded and downloaded`, {
  timeout: 300_000,
}, async () => {
  const pid = serverPid(server.dataDir);
  const idleMiB = statusKiB(pid, 'VmRSS') / 1024;
  const sampler = sampleRss(pid);
  const framing: string[] = [];
  sdk.middlewareStack.add(
    (next) => async (args) => {
      const headers = (args.request as { headers?: Record<string, string> }).headers ?? {};
      framing.push(headers['x-amz-content-sha256'] ?? '');
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordFraming' },
  );

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
      // A server that ignored back-pressure would keep reading the file into memory meanwhile.
      paused = true;
      await new Promise((r) => setTimeout(r, 3000));
    }
  }
  const downMs = Date.now() - started;
  const rss = sampler.stop();
  console.log(
    `2 GiB: upload ${throughput(SIZE, upMs)} (${framing[0]}), download ${throughput(SIZE, downMs)}; ` +
      `server RSS idle ${idleMiB.toFixed(0)} MiB, peak sampled ${rss.peakSampleMiB.toFixed(0)} MiB over ${rss.samples} samples, VmHWM ${rss.hwmMiB.toFixed(0)} MiB`,
  );
  assert.equal(read, SIZE);
  assert.equal(hash.digest('hex'), src.sha256());
  assert.ok(rss.peakSampleMiB < LIMIT_MIB, `peak sampled RSS ${rss.peakSampleMiB.toFixed(0)} MiB`);
  assert.ok(rss.hwmMiB < LIMIT_MIB, `VmHWM ${rss.hwmMiB.toFixed(0)} MiB`);
  await sdk.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'two-gib.bin' }));
});

test('the server logged no internal error meanwhile', { timeout: 300_000 }, () => {
  const errors = server
    .stderr()
    .split('\n')
    .filter((l) => l.includes('"level":"error"'));
  assert.deepEqual(errors, []);
});
