import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { runOk } from './helpers/run.js';
import { startServer, type E2eServer } from './helpers/server.js';
import { startWrapped, type WrappedServer } from './helpers/wrapped-server.js';

/**
 * Issue 12, power loss: a simulated power cut that discards everything not fsynced. The server
 * runs with an LD_PRELOAD shim (helpers/sync-recorder.c, built here with gcc) that records, at
 * each fsync, the file's bytes and path, or the directory's listing. After a burst of writes the
 * server is killed and the data directory rebuilt from the last clean state plus those records
 * only: what a power cut leaves on a file system that keeps exactly what was synced (a file
 * fsync also keeps the file's current name, as ext4 does). Every acknowledged write must be
 * there, whole, when a server starts on the rebuilt directory.
 * (dm-flakey / dm-log-writes were the other option; this kernel has no device mapper.)
 */
const BUCKET = 'powercut';
const SHIM_SOURCE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../e2e/helpers/sync-recorder.c');

let server: E2eServer;
let recorded: WrappedServer | undefined;
let rebuiltServer: WrappedServer | undefined;
let work: string;

before(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'cellar-powercut-'));
  await runOk('gcc', ['-shared', '-fPIC', '-O2', '-o', path.join(work, 'sync-recorder.so'), SHIM_SOURCE, '-ldl']);
  server = await startServer();
});

after(async () => {
  await recorded?.stop('SIGKILL');
  await rebuiltServer?.stop();
  await server?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

function client(endpoint: string, s: E2eServer): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: s.owner.accessKeyId, secretAccessKey: s.owner.secretAccessKey },
  });
}

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

/** Directories and regular files (with inode numbers) under `root`, relative paths. */
function walk(root: string): { dirs: string[]; files: { rel: string; ino: number }[] } {
  const dirs: string[] = [''];
  const files: { rel: string; ino: number }[] = [];
  for (let i = 0; i < dirs.length; i++) {
    for (const e of readdirSync(path.join(root, dirs[i]!), { withFileTypes: true })) {
      const rel = path.join(dirs[i]!, e.name);
      if (e.isDirectory()) dirs.push(rel);
      else if (e.isFile()) files.push({ rel, ino: statSync(path.join(root, rel)).ino });
    }
  }
  return { dirs, files };
}

/**
 * The data directory as the power cut leaves it: the clean state (`baseline`, copied with the
 * inode numbers its files had) with the recorded fsyncs applied in order.
 */
function rebuild(dataDir: string, baseline: string, inodes: Map<string, number>, logDir: string, out: string): void {
  const { dirs } = walk(baseline);
  const entries = new Map<string, Map<string, number>>(dirs.map((d) => [d, new Map()]));
  const content = new Map<number, string>();
  for (const [rel, ino] of inodes) {
    entries.get(path.dirname(rel) === '.' ? '' : path.dirname(rel))!.set(path.basename(rel), ino);
    content.set(ino, path.join(baseline, rel));
  }
  for (const meta of readdirSync(logDir)
    .filter((f) => f.endsWith('.meta'))
    .sort()) {
    const [kind, ino, abs] = readFileSync(path.join(logDir, meta), 'utf8').trimEnd().split('\t') as [
      string,
      string,
      string,
    ];
    const data = path.join(logDir, meta.replace(/\.meta$/, '.data'));
    const rel = path.relative(dataDir, abs);
    if (kind === 'file') {
      content.set(Number(ino), data);
      const dir = path.dirname(rel) === '.' ? '' : path.dirname(rel);
      if (!entries.has(dir)) entries.set(dir, new Map());
      entries.get(dir)!.set(path.basename(rel), Number(ino));
    } else {
      const listing = new Map<string, number>();
      for (const line of readFileSync(data, 'utf8').split('\n').filter(Boolean)) {
        const tab = line.indexOf('\t');
        listing.set(line.slice(tab + 1), Number(line.slice(0, tab)));
      }
      entries.set(rel === '' ? '' : rel, listing);
    }
  }
  for (const [dir, names] of entries) {
    mkdirSync(path.join(out, dir), { recursive: true });
    for (const [name, ino] of names) {
      const from = content.get(ino);
      // A name that survived without its bytes ever synced: an empty file, the worst case.
      if (from) copyFileSync(from, path.join(out, dir, name));
      else writeFileSync(path.join(out, dir, name), '');
    }
  }
}

test('after a power cut every acknowledged write is there, whole', { timeout: 240_000 }, async () => {
  // The clean state: a bucket, then a clean stop (its checkpoint leaves everything in meta.db).
  const plain = client(server.endpoint, server);
  await plain.send(new CreateBucketCommand({ Bucket: BUCKET }));
  plain.destroy();
  await server.stop();
  const baseline = path.join(work, 'baseline');
  const inodes = new Map<string, number>();
  mkdirSync(baseline);
  const before = walk(server.dataDir);
  for (const d of before.dirs) mkdirSync(path.join(baseline, d), { recursive: true });
  for (const f of before.files) {
    copyFileSync(path.join(server.dataDir, f.rel), path.join(baseline, f.rel));
    inodes.set(f.rel, f.ino);
  }

  const logDir = path.join(work, 'log');
  mkdirSync(logDir);
  recorded = await startWrapped(
    [],
    {
      ...server.env(),
      LD_PRELOAD: path.join(work, 'sync-recorder.so'),
      SYNC_RECORDER_ROOT: server.dataDir,
      SYNC_RECORDER_LOG: logDir,
      // Thread-pool fsyncs through libc (the shim's), not io_uring submissions.
      UV_USE_IO_URING: '0',
    },
    server.endpoint,
  );
  const s3 = client(server.endpoint, server);
  // key -> MD5 of the last acknowledged body, or null when the last acknowledged write deleted it.
  const expected = new Map<string, string | null>();
  const put = async (key: string, body: Buffer): Promise<void> => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    expected.set(key, md5(body));
  };
  // Four writers on their own keys, so that commits share group-commit transactions.
  await Promise.all(
    [0, 1, 2, 3].map(async (w) => {
      for (let i = 0; i < 8; i++) {
        const key = `w${w}/k${i % 5}`;
        await put(key, randomBytes(randomInt(1, 200_000)));
        if (i % 4 === 1) {
          await s3.send(
            new CopyObjectCommand({ Bucket: BUCKET, Key: `w${w}/copy${i}`, CopySource: `${BUCKET}/${key}` }),
          );
          expected.set(`w${w}/copy${i}`, expected.get(key)!);
        }
        if (i % 3 === 2) {
          await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
          expected.set(key, null);
        }
      }
    }),
  );
  const mpu = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mpu' }));
  const bodies = [randomBytes(5 * 1024 * 1024), randomBytes(123_456)];
  const parts = [];
  for (const [i, body] of bodies.entries()) {
    const p = await s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: 'mpu', UploadId: mpu.UploadId, PartNumber: i + 1, Body: body }),
    );
    parts.push({ PartNumber: i + 1, ETag: p.ETag });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET,
      Key: 'mpu',
      UploadId: mpu.UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
  expected.set('mpu', md5(Buffer.concat(bodies)));
  await put('last', randomBytes(1000));
  // The cut, right behind the last acknowledgement.
  await recorded.stop('SIGKILL');
  s3.destroy();

  const rebuilt = path.join(work, 'rebuilt');
  rebuild(server.dataDir, baseline, inodes, logDir, rebuilt);
  const db = new Database(path.join(rebuilt, 'meta.db'));
  try {
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  } finally {
    db.close();
  }
  rebuiltServer = await startWrapped([], { ...server.env(), CELLAR_DATA_DIR: rebuilt }, server.endpoint);
  const after = client(server.endpoint, server);
  try {
    for (const [key, sum] of expected) {
      if (sum === null) {
        await assert.rejects(
          after.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })),
          { name: 'NoSuchKey' },
          key,
        );
        continue;
      }
      const r = await after.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      assert.equal(md5(await r.Body!.transformToByteArray()), sum, `${key} after the power cut`);
    }
  } finally {
    after.destroy();
  }
});
