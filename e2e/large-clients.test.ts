/**
 * Large files through the real command line clients, against `cellar serve` as a child process:
 * s3cmd multipart (15 MiB chunks) at 100 MiB, and 1 GiB with Debian's aws-cli 2.x and with the
 * machine's other aws-cli (1.4x, flexible checksums on by default) when it is installed. Each
 * round trip is compared by SHA-256; throughput is printed, never asserted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { awsEnv, fileSha256, MiB, randomFile, throughput } from './helpers/large.js';
import { runOk } from './helpers/run.js';
import { sdkClient, startServer, type E2eServer } from './helpers/server.js';

const BUCKET = 'large-clients';
const GiB = 1024 * MiB;
const AWS_V2 = '/usr/bin/aws';
// The pyenv shim in front of Debian's aws on PATH: aws-cli 1.4x with botocore's default CRC32 checksums.
const AWS_V1 = '/root/.pyenv/shims/aws';

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

async function timed<T>(fn: () => Promise<T>): Promise<number> {
  const started = Date.now();
  await fn();
  return Date.now() - started;
}

async function etagOf(key: string): Promise<string> {
  return (await sdk.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ETag ?? '';
}

test('s3cmd put of 100 MiB in 15 MiB parts and s3cmd get round-trip byte-identically', async () => {
  const file = path.join(work, '100MiB.bin');
  const sha256 = await randomFile(file, 100 * MiB);
  const s3cmd = (args: string[]) => runOk('s3cmd', ['-c', server.s3cfgPath, '--no-progress', ...args], { timeoutMs: 300_000 });
  const up = await timed(() => s3cmd(['put', '--multipart-chunk-size-mb=15', file, `s3://${BUCKET}/s3cmd/100MiB.bin`]));
  assert.match(await etagOf('s3cmd/100MiB.bin'), /-7"$/, '100 MiB in 15 MiB chunks is 7 parts');
  const back = path.join(work, '100MiB.back');
  const down = await timed(() => s3cmd(['get', `s3://${BUCKET}/s3cmd/100MiB.bin`, back]));
  assert.equal(await fileSha256(back), sha256);
  console.log(`s3cmd 100 MiB: put ${throughput(100 * MiB, up)}, get ${throughput(100 * MiB, down)}`);
  rmSync(file);
  rmSync(back);
});

async function awsRoundTrip(bin: string, label: string): Promise<void> {
  const { file, sha256 } = await bigFile();
  const env = awsEnv(work, server.owner);
  const aws = (args: string[]) => runOk(bin, ['--endpoint-url', server.endpoint, ...args], { env, timeoutMs: 600_000 });
  const version = (await aws(['--version'])).stdout.trim() || (await aws(['--version'])).stderr.trim();
  const key = `aws/${label}/1GiB.bin`;
  const up = await timed(() => aws(['s3', 'cp', '--only-show-errors', file, `s3://${BUCKET}/${key}`]));
  assert.match(await etagOf(key), /-\d+"$/, 'uploaded in parts');
  const back = path.join(work, `${label}.back`);
  const down = await timed(() => aws(['s3', 'cp', '--only-show-errors', `s3://${BUCKET}/${key}`, back]));
  assert.equal(await fileSha256(back), sha256);
  rmSync(back);
  await aws(['s3', 'rm', '--only-show-errors', `s3://${BUCKET}/${key}`]);
  console.log(`${version}: 1 GiB aws s3 cp upload ${throughput(GiB, up)}, download ${throughput(GiB, down)}`);
}

test('aws s3 cp of 1 GiB both ways with Debian aws-cli 2.x', async () => {
  await awsRoundTrip(AWS_V2, 'v2');
});

// aws-cli 1.x is an optional extra on this kind of machine: the test exists where the binary does.
if (existsSync(AWS_V1)) {
  test("aws s3 cp of 1 GiB both ways with aws-cli 1.x (botocore's default CRC32 checksums)", async () => {
    await awsRoundTrip(AWS_V1, 'v1');
  });
}

test('the server logged no internal error meanwhile', () => {
  const errors = server.stderr().split('\n').filter((l) => l.includes('"level":"error"'));
  assert.deepEqual(errors, []);
});
