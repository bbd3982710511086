/**
 * Large files through real clients, against `cellar serve` as a child process: s3cmd multipart
 * (15 MiB chunks) at 100 MiB, and 1 GiB with Debian's aws-cli 2.x and with Debian's boto3 (its
 * transfer manager, a CRC32 checksum on every part). Each round trip is compared by SHA-256.
 * Every client is a Debian package that scripts/install-test-deps.sh installs, so the same tests
 * run on every machine; speed belongs to bench/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { awsEnv, fileSha256, MiB, randomFile } from './helpers/large.js';
import { runOk } from './helpers/run.js';
import { sdkClient, startServer, type E2eServer } from './helpers/server.js';

const BUCKET = 'large-clients';
const GiB = 1024 * MiB;
// Debian's, by path: another aws or python3 earlier on PATH (pyenv, pip) must not change what runs.
const AWS_V2 = '/usr/bin/aws';
const PYTHON = '/usr/bin/python3';

let server: E2eServer;
let sdk: S3Client;
let work: string;
let big: { file: string; sha256: string } | undefined;

before(async () => {
  server = await startServer();
  sdk = sdkClient(server);
  await sdk.send(new CreateBucketCommand({ Bucket: BUCKET }));
  work = mkdtempSync(path.join(tmpdir(), 'cellar-e2e-large-'));
});

after(async () => {
  sdk?.destroy();
  await server?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function bigFile(): Promise<{ file: string; sha256: string }> {
  if (!big) {
    const file = path.join(work, '1GiB.bin');
    big = { file, sha256: await randomFile(file, GiB) };
  }
  return big;
}

async function etagOf(key: string): Promise<string> {
  return (await sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ETag ?? '';
}

test('s3cmd put of 100 MiB in 15 MiB parts and s3cmd get round-trip byte-identically', {
  timeout: 600_000,
}, async () => {
  const file = path.join(work, '100MiB.bin');
  const sha256 = await randomFile(file, 100 * MiB);
  const s3cmd = (args: string[]) =>
    runOk('s3cmd', ['-c', server.s3cfgPath, '--no-progress', ...args], { timeoutMs: 300_000 });
  await s3cmd(['put', '--multipart-chunk-size-mb=15', file, `s3://${BUCKET}/s3cmd/100MiB.bin`]);
  assert.match(await etagOf('s3cmd/100MiB.bin'), /-7"$/, '100 MiB in 15 MiB chunks is 7 parts');
  const back = path.join(work, '100MiB.back');
  await s3cmd(['get', `s3://${BUCKET}/s3cmd/100MiB.bin`, back]);
  assert.equal(await fileSha256(back), sha256);
  rmSync(file);
  rmSync(back);
});

test('aws s3 cp of 1 GiB both ways with Debian aws-cli 2.x', { timeout: 900_000 }, async () => {
  const { file, sha256 } = await bigFile();
  const env = awsEnv(work, server.owner);
  const aws = (args: string[]) =>
    runOk(AWS_V2, ['--endpoint-url', server.endpoint, ...args], { env, timeoutMs: 600_000 });
  const key = 'aws/1GiB.bin';
  await aws(['s3', 'cp', '--only-show-errors', file, `s3://${BUCKET}/${key}`]);
  assert.match(await etagOf(key), /-\d+"$/, 'uploaded in parts');
  const back = path.join(work, 'aws.back');
  await aws(['s3', 'cp', '--only-show-errors', `s3://${BUCKET}/${key}`, back]);
  assert.equal(await fileSha256(back), sha256);
  rmSync(back);
  await aws(['s3', 'rm', '--only-show-errors', `s3://${BUCKET}/${key}`]);
});

/**
 * boto3's transfer manager, as an application would use it: upload_file in 16 MiB parts, each
 * with a CRC32 checksum (ChecksumAlgorithm), then download_file in ranged GETs.
 */
const BOTO3_ROUND_TRIP = `
import sys, boto3
from botocore.config import Config
from boto3.s3.transfer import TransferConfig
endpoint, bucket, key, src, dst = sys.argv[1:]
s3 = boto3.client('s3', endpoint_url=endpoint, config=Config(s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))
chunks = TransferConfig(multipart_threshold=16 * 1024 * 1024, multipart_chunksize=16 * 1024 * 1024)
s3.upload_file(src, bucket, key, ExtraArgs={'ChecksumAlgorithm': 'CRC32'}, Config=chunks)
s3.download_file(bucket, key, dst, Config=chunks)
`;

test("boto3's upload_file and download_file of 1 GiB with a CRC32 checksum on every part (Debian's python3-boto3)", {
  timeout: 900_000,
}, async () => {
  const { file, sha256 } = await bigFile();
  // Debian's interpreter with Debian's packages only: no user site-packages, no PYTHON* settings from outside.
  const env = Object.fromEntries(Object.entries(awsEnv(work, server.owner)).filter(([k]) => !k.startsWith('PYTHON')));
  const key = 'boto3/1GiB.bin';
  const back = path.join(work, 'boto3.back');
  await runOk(PYTHON, ['-s', '-c', BOTO3_ROUND_TRIP, server.endpoint, BUCKET, key, file, back], {
    env,
    timeoutMs: 900_000,
  });
  assert.equal(await fileSha256(back), sha256);
  rmSync(back);
  const head = await sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
  assert.match(head.ETag ?? '', /-64"$/, '1 GiB in 16 MiB parts is 64 parts');
  // A COMPOSITE checksum is only stored when every part came with its CRC32.
  assert.match(head.ChecksumCRC32 ?? '', /^[A-Za-z0-9+/]{6}==-64$/);
});

test('the server logged no internal error meanwhile', { timeout: 300_000 }, () => {
  const errors = server
    .stderr()
    .split('\n')
    .filter((l) => l.includes('"level":"error"'));
  assert.deepEqual(errors, []);
});
