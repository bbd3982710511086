/**
 * rclone (Debian's) as a generic S3 remote: multipart uploads on its defaults (Go's XML encoder
 * writes part ETags as `&#34;...&#34;`), streaming uploads from stdin, server-side multipart
 * copies (UploadPartCopy), check, delete and purge.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { run, type RunResult } from './helpers/run.js';
import { sdkClient, startServer, type E2eServer } from './helpers/server.js';

const MiB = 1024 * 1024;
const BUCKET = 'rclone-tree';
const T = { timeout: 300_000 };

let server: E2eServer;
let sdk: S3Client;
let work: string;
let bigMd5 = '';

/** rclone with a remote named `cellar` defined only in its environment (no config file). */
function rclone(args: string[], input?: Buffer): Promise<RunResult> {
  const { AWS_CA_BUNDLE: _machineCa, ...inherited } = process.env;
  // The AWS SDK for Go inside rclone fails on AWS_CA_BUNDLE over plain HTTP ("HTTPClient's
  // transport unsupported type"); the endpoint here is plain HTTP, so the variable has no job.
  const env = {
    ...inherited,
    RCLONE_CONFIG: path.join(work, 'rclone.conf'),
    RCLONE_CONFIG_CELLAR_TYPE: 's3',
    RCLONE_CONFIG_CELLAR_PROVIDER: 'Other',
    RCLONE_CONFIG_CELLAR_ENDPOINT: server.endpoint,
    RCLONE_CONFIG_CELLAR_ACCESS_KEY_ID: server.owner.accessKeyId,
    RCLONE_CONFIG_CELLAR_SECRET_ACCESS_KEY: server.owner.secretAccessKey,
    RCLONE_CONFIG_CELLAR_REGION: 'us-east-1',
  };
  return run('rclone', args, { env, timeoutMs: 240_000, input });
}

async function rcloneOk(args: string[], input?: Buffer): Promise<RunResult> {
  const r = await rclone(args, input);
  assert.equal(r.code, 0, `rclone ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

async function etagOf(key: string): Promise<string> {
  return (await sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ETag ?? '';
}

/** Writes `size` random bytes to `file` in 1 MiB steps (memory stays flat) and returns their MD5. */
async function randomFile(file: string, size: number): Promise<string> {
  const md5 = createHash('md5');
  const out = createWriteStream(file);
  for (let done = 0; done < size; done += MiB) {
    const chunk = randomBytes(Math.min(MiB, size - done));
    md5.update(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return md5.digest('hex');
}

before(async () => {
  server = await startServer();
  sdk = sdkClient(server);
  work = mkdtempSync(path.join(tmpdir(), 'cellar-e2e-rclone-'));
  writeFileSync(path.join(work, 'rclone.conf'), '');
  const tree = path.join(work, 'tree');
  for (const dir of ['docs', 'docs/deep', 'media']) mkdirSync(path.join(tree, dir), { recursive: true });
  for (let i = 0; i < 20; i++)
    writeFileSync(path.join(tree, i % 2 ? 'docs' : 'docs/deep', `f${i}.txt`), randomBytes(100 + i * 731));
  // Above rclone's default upload_cutoff (200 MiB): uploaded in 5 MiB parts, 4 at a time.
  bigMd5 = await randomFile(path.join(tree, 'media', 'big.bin'), 201 * MiB);
}, T);

after(async () => {
  sdk?.destroy();
  await server?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('copy a tree holding a 201 MiB file (multipart on defaults), then check finds no difference', T, async () => {
  await rcloneOk(['mkdir', `cellar:${BUCKET}`]);
  await rcloneOk(['copy', path.join(work, 'tree'), `cellar:${BUCKET}`]);
  assert.match(
    await etagOf('media/big.bin'),
    /^"[0-9a-f]{32}-\d+"$/,
    'the big file was uploaded as a multipart upload',
  );
  const check = await rcloneOk(['check', path.join(work, 'tree'), `cellar:${BUCKET}`]);
  assert.match(check.stderr, /0 differences found/);
  const md5 = await rcloneOk(['md5sum', `cellar:${BUCKET}/media/big.bin`, '--download']);
  assert.equal(md5.stdout.split(/\s+/)[0], bigMd5);
});

test('rcat streams 30 MiB from stdin as a multipart upload, read back byte-identical', T, async () => {
  const body = randomBytes(30 * MiB);
  await rcloneOk(['rcat', `cellar:${BUCKET}/stream/piped.bin`], body);
  assert.match(await etagOf('stream/piped.bin'), /-\d+"$/);
  const md5 = await rcloneOk(['md5sum', `cellar:${BUCKET}/stream/piped.bin`, '--download']);
  assert.equal(md5.stdout.split(/\s+/)[0], createHash('md5').update(body).digest('hex'));
});

test('server-side copyto with --s3-copy-cutoff 10M copies in parts (UploadPartCopy)', T, async () => {
  await rcloneOk([
    'copyto',
    '--s3-copy-cutoff',
    '10M',
    `cellar:${BUCKET}/media/big.bin`,
    `cellar:${BUCKET}/copies/big-copy.bin`,
    '-v',
  ]);
  const etag = await etagOf('copies/big-copy.bin');
  // 201 MiB in 10 MiB copy parts: 21 parts.
  assert.match(etag, /-21"$/);
  const md5 = await rcloneOk(['md5sum', `cellar:${BUCKET}/copies/big-copy.bin`, '--download']);
  assert.equal(md5.stdout.split(/\s+/)[0], bigMd5);
});

test('delete removes the files it matches and nothing else; purge removes the bucket', T, async () => {
  await rcloneOk(['delete', `cellar:${BUCKET}/docs`]);
  const left = await sdk.send(new ListObjectsV2Command({ Bucket: BUCKET }));
  assert.deepEqual(left.Contents?.map((o) => o.Key).sort(), [
    'copies/big-copy.bin',
    'media/big.bin',
    'stream/piped.bin',
  ]);
  await rcloneOk(['purge', `cellar:${BUCKET}`]);
  const lsd = await rcloneOk(['lsd', 'cellar:']);
  assert.doesNotMatch(lsd.stdout, new RegExp(BUCKET));
});
