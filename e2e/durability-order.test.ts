import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { run } from './helpers/run.js';
import { startServer, type E2eServer } from './helpers/server.js';
import { startWrapped, type WrappedServer } from './helpers/wrapped-server.js';

/**
 * Issue 12, power loss: the order of the system calls behind every acknowledged write, seen by
 * `strace -f` on the real server. A kill -9 never loses the page cache, so only this (and
 * power-cut.test.ts) can tell whether the fsyncs are there and in the right place:
 *   PUT, UploadPart: fsync(tmp/<id>) < rename(tmp/<id>, blobs/xx/<id>) < fsync(blobs/xx)
 *   CopyObject:      link(blobs/.., tmp/<id>) < rename < fsync(blobs/xx)
 *   then, for all (and Complete, Delete): WAL pwrite < fsync(meta.db-wal) < the response's
 *   first byte on the socket, found by the request id in its headers.
 * "a < b" means a returned before b was entered.
 */
const BUCKET = 'order';
const SYNC = /^f(data)?sync$/;

let server: E2eServer;
let traced: WrappedServer;
let s3: S3Client;
let dir: string;
let tracePath: string;

before(async () => {
  const which = await run('sh', ['-c', 'command -v strace']);
  assert.equal(which.code, 0, 'strace is not installed (scripts/install-test-deps.sh installs it)');
  server = await startServer();
  await server.stop();
  dir = mkdtempSync(path.join(tmpdir(), 'cellar-strace-'));
  tracePath = path.join(dir, 'trace');
  const wrapper = [
    'strace',
    '-f',
    '-qq',
    // -yy: descriptors shown with their path or TCP endpoints; -s: enough of a write to see the headers.
    '-yy',
    '-s',
    '4096',
    '-o',
    tracePath,
    '-e',
    'trace=fsync,fdatasync,rename,renameat,renameat2,link,linkat,write,writev,pwrite64,sendmsg,sendto',
  ];
  // Thread-pool fsyncs, not io_uring: strace sees each call (libuv would otherwise be free to batch).
  traced = await startWrapped(wrapper, { ...server.env(), UV_USE_IO_URING: '0' }, server.endpoint);
  s3 = new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: server.owner.accessKeyId, secretAccessKey: server.owner.secretAccessKey },
  });
});

after(async () => {
  s3?.destroy();
  await traced?.stop();
  await server?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Call {
  name: string;
  args: string;
  /** Line index where the call was entered and where it returned. */
  start: number;
  end: number;
  ok: boolean;
}

/** strace -f -o output: `PID name(args) = ret`, split into `<unfinished ...>` / `<... name resumed>` under concurrency. */
function parseTrace(text: string): Call[] {
  const calls: Call[] = [];
  const open = new Map<string, Call>();
  text.split('\n').forEach((line, i) => {
    const m = /^(\d+) +(.*)$/.exec(line);
    if (!m) return;
    const [, pid, rest] = m as unknown as [string, string, string];
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest);
    if (resumed) {
      const c = open.get(pid);
      if (c) {
        c.args += resumed[2];
        c.end = i;
        c.ok = !/\) += -1 /.test(resumed[2]!);
        open.delete(pid);
      }
      return;
    }
    const call = /^(\w+)\((.*)$/.exec(rest);
    if (!call) return;
    const c: Call = { name: call[1]!, args: call[2]!, start: i, end: i, ok: true };
    if (rest.endsWith('<unfinished ...>')) open.set(pid, c);
    else c.ok = !/\) += -1 /.test(rest);
    calls.push(c);
  });
  return calls;
}

/** The descriptor's path as strace -y prints it: `fsync(23</data/tmp/abc>)`. */
const fdPath = (c: Call): string => /^\d+<([^>]*)>/.exec(c.args)?.[1] ?? '';
const strings = (c: Call): string[] => [...c.args.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);

function firstAfter(calls: Call[], from: number, to: number, pred: (c: Call) => boolean): Call | undefined {
  return calls.find((c) => c.start > from && c.end < to && c.ok && pred(c));
}

interface Ack {
  what: string;
  requestId: string;
  blob: 'written' | 'linked' | null;
}

/** Checks the order for one acknowledged write; `from` is where the previous one's response was written. */
function checkAck(calls: Call[], from: number, ack: Ack, dataDir: string): number {
  const response = calls.find(
    (c) =>
      /^(write|writev|sendmsg|sendto)$/.test(c.name) &&
      fdPath(c).startsWith('TCP:') &&
      c.args.includes(`x-amz-request-id: ${ack.requestId}`),
  );
  assert.ok(response, `${ack.what}: no response with request id ${ack.requestId} in the trace`);
  assert.match(response.args, /HTTP\/1\.1 20[04] /, ack.what);
  const R = response.start;
  let t = from;
  if (ack.blob) {
    const tmpDir = path.join(dataDir, 'tmp');
    let tmp: string;
    if (ack.blob === 'written') {
      const f = firstAfter(calls, from, R, (c) => SYNC.test(c.name) && path.dirname(fdPath(c)) === tmpDir);
      assert.ok(f, `${ack.what}: the temp file is never fsynced before the response`);
      tmp = fdPath(f);
      t = f.end;
    } else {
      const l = firstAfter(
        calls,
        from,
        R,
        (c) => /^link/.test(c.name) && strings(c).some((s) => path.dirname(s) === tmpDir),
      );
      assert.ok(l, `${ack.what}: no hard link into tmp/ before the response`);
      tmp = strings(l).find((s) => path.dirname(s) === tmpDir)!;
      t = l.end;
    }
    const id = path.basename(tmp);
    const final = path.join(dataDir, 'blobs', id.slice(0, 2), id);
    const mv = firstAfter(
      calls,
      t,
      R,
      (c) => /^rename/.test(c.name) && strings(c).includes(tmp) && strings(c).includes(final),
    );
    assert.ok(mv, `${ack.what}: ${tmp} is not renamed to ${final} after its fsync and before the response`);
    const dirSync = firstAfter(calls, mv.end, R, (c) => SYNC.test(c.name) && fdPath(c) === path.dirname(final));
    assert.ok(dirSync, `${ack.what}: ${path.dirname(final)} is not fsynced after the rename and before the response`);
    t = dirSync.end;
  }
  const wal = path.join(dataDir, 'meta.db-wal');
  const walWrites = calls.filter((c) => c.start > t && c.end < R && c.name === 'pwrite64' && fdPath(c) === wal);
  assert.ok(walWrites.length > 0, `${ack.what}: no WAL write between the blob's durability and the response`);
  const lastWrite = walWrites[walWrites.length - 1]!;
  const walSync = firstAfter(calls, lastWrite.end, R, (c) => SYNC.test(c.name) && fdPath(c) === wal);
  assert.ok(walSync, `${ack.what}: the WAL is not fsynced after its last write and before the response`);
  return R;
}

test('every acknowledged write is durable, in order, before its response is written', {
  timeout: 120_000,
}, async () => {
  const acks: Ack[] = [];
  const id = (r: { $metadata: { requestId?: string } }): string => r.$metadata.requestId!;
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  for (const [i, size] of [1, 70_000, 3 * 1024 * 1024].entries()) {
    const r = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `put-${i}`, Body: randomBytes(size) }));
    acks.push({ what: `PutObject of ${size} bytes`, requestId: id(r), blob: 'written' });
  }
  const overwrite = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'put-0', Body: 'again' }));
  acks.push({ what: 'PutObject over an existing key', requestId: id(overwrite), blob: 'written' });
  const mpu = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mpu' }));
  const parts = [];
  for (const [n, size] of [
    [1, 5 * 1024 * 1024],
    [2, 1000],
  ] as const) {
    const p = await s3.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key: 'mpu',
        UploadId: mpu.UploadId,
        PartNumber: n,
        Body: randomBytes(size),
      }),
    );
    acks.push({ what: `UploadPart ${n}`, requestId: id(p), blob: 'written' });
    parts.push({ PartNumber: n, ETag: p.ETag });
  }
  const done = await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET,
      Key: 'mpu',
      UploadId: mpu.UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
  acks.push({ what: 'CompleteMultipartUpload', requestId: id(done), blob: null });
  const copy = await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy', CopySource: `${BUCKET}/put-1` }));
  acks.push({ what: 'CopyObject', requestId: id(copy), blob: 'linked' });
  const del = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'put-2' }));
  acks.push({ what: 'DeleteObject', requestId: id(del), blob: null });

  // Stopping the server ends strace, which flushes the whole trace.
  await traced.stop();
  const calls = parseTrace(readFileSync(tracePath, 'utf8'));
  let from = -1;
  for (const ack of acks) from = checkAck(calls, from, ack, server.dataDir);
});
