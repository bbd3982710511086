/**
 * Crash safety of multipart uploads against `cellar serve` as a child process: SIGKILL right
 * after CompleteMultipartUpload is sent leaves the previous object or the whole new one, never
 * a mix; parts acknowledged before a SIGKILL survive the restart and the upload completes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand, ListPartsCommand, PutObjectCommand,
  S3Client, UploadPartCommand, UploadPartCopyCommand, type CompletedPart,
} from '@aws-sdk/client-s3';
import { MiB, sha256Stream } from './helpers/large.js';
import { startServer, type E2eServer } from './helpers/server.js';

const BUCKET = 'crash';
const PARTS = 12;
/** How long after sending Complete the server is killed, one round each. */
const KILL_DELAYS_MS = [0, 1, 2, 4, 6, 9, 14, 25];

let server: E2eServer;

before(async () => {
  server = await startServer();
  const s3 = client();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  s3.destroy();
});

after(async () => {
  await server?.dispose();
});

/** A fresh client per phase: keep-alive sockets do not outlive a killed server. One attempt, so nothing is retried behind our back. */
function client(): S3Client {
  return new S3Client({
    endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1,
    credentials: { accessKeyId: server.owner.accessKeyId, secretAccessKey: server.owner.secretAccessKey },
  });
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function objectSha256(s3: S3Client, key: string): Promise<string> {
  const r = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return sha256Stream(r.Body as AsyncIterable<Uint8Array>);
}

test(`SIGKILL right after CompleteMultipartUpload leaves the old object or the whole new one (${KILL_DELAYS_MS.length} rounds)`, async () => {
  const seed = randomBytes(5 * MiB);
  const previous = randomBytes(3 * MiB);
  const newSha = sha256(Buffer.concat(Array.from({ length: PARTS }, () => seed)));
  const outcomes: string[] = [];
  let s3 = client();
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'seed', Body: seed }));
  for (const delay of KILL_DELAYS_MS) {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'target', Body: previous }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'target' }));
    const parts: CompletedPart[] = [];
    for (let n = 1; n <= PARTS; n++) {
      const r = await s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: 'target', UploadId, PartNumber: n, CopySource: `${BUCKET}/seed` }));
      parts.push({ PartNumber: n, ETag: r.CopyPartResult!.ETag });
    }
    const complete = new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'target', UploadId, MultipartUpload: { Parts: parts } });
    const sent = s3.send(complete).then(() => 'answered', () => 'cut');
    await new Promise((r) => setTimeout(r, delay));
    await server.kill9();
    const answer = await sent;
    s3.destroy();
    await server.restart();
    s3 = client();

    const sha = await objectSha256(s3, 'target');
    assert.ok(sha === newSha || sha === sha256(previous), `round ${delay} ms: the object is neither the old nor the new body`);
    if (answer === 'answered') assert.equal(sha, newSha, `round ${delay} ms: an acknowledged completion was lost`);
    const outcome = sha === newSha ? 'new' : 'old';
    outcomes.push(`${delay}ms:${outcome}${answer === 'answered' ? '(acked)' : ''}`);
    if (outcome === 'old') {
      // Not committed: the upload is intact and completes now.
      const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'target', UploadId }));
      assert.equal(listed.Parts?.length, PARTS);
      await s3.send(complete);
      assert.equal(await objectSha256(s3, 'target'), newSha);
    } else {
      await assert.rejects(s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'target', UploadId })), { name: 'NoSuchUpload' });
    }
  }
  s3.destroy();
  console.log(`kill after Complete: ${outcomes.join(' ')}`);
});

test('parts accepted before a SIGKILL survive the restart; ListParts shows them and Complete works', async () => {
  let s3 = client();
  const bodies = [randomBytes(5 * MiB), randomBytes(5 * MiB + 1), randomBytes(1024)];
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'survivor', ContentType: 'application/x-test', Metadata: { kept: 'yes' } }));
  const parts: CompletedPart[] = [];
  for (const [i, Body] of bodies.entries()) {
    const r = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'survivor', UploadId, PartNumber: i + 1, Body }));
    parts.push({ PartNumber: i + 1, ETag: r.ETag });
  }
  s3.destroy();
  await server.kill9();
  await server.restart();
  s3 = client();
  const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'survivor', UploadId }));
  assert.deepEqual(listed.Parts?.map((p) => [p.PartNumber, p.ETag, p.Size]), parts.map((p, i) => [p.PartNumber, p.ETag, bodies[i]!.length]));
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: 'survivor', UploadId, MultipartUpload: { Parts: parts } }));
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'survivor' }));
  assert.equal(got.ContentType, 'application/x-test');
  assert.deepEqual(got.Metadata, { kept: 'yes' });
  assert.equal(await sha256Stream(got.Body as AsyncIterable<Uint8Array>), sha256(Buffer.concat(bodies)));
  s3.destroy();
});
