import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { request } from 'node:http';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { auditBlobs } from './helpers/blob-audit.js';
import { startServer, type E2eServer } from './helpers/server.js';

const BUCKET = 'durable';
const WRITERS = 8;
/** Acknowledged writes per round before the SIGKILL; the writers keep going, so several are mid-body when it lands. */
const ACKS_BEFORE_KILL = 48;

/**
 * What each write sent for a key would leave, in the order sent (one writer owns a key): the
 * body's MD5 for a PUT, null for a DELETE; and the index of the last one acknowledged.
 */
interface KeyHistory {
  states: (string | null)[];
  acked: number;
}

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

let server: E2eServer;
const history = new Map<string, KeyHistory>();

function client(): S3Client {
  // One attempt: a retry after the kill would hit the restarted server and blur what was acknowledged.
  return new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: server.owner.accessKeyId, secretAccessKey: server.owner.secretAccessKey },
  });
}

/**
 * A PUT that announces 1 MiB and sends half, then waits: whatever the timing, it is mid-body
 * when the server dies, so it can never have been acknowledged. Resolves once the half is
 * handed to the kernel; `cut` settles when the connection ends, with whatever came back.
 */
async function heldPut(key: string): Promise<{ cut: Promise<string> }> {
  const signer = client();
  const url = await getSignedUrl(signer, new PutObjectCommand({ Bucket: BUCKET, Key: key }), { expiresIn: 300 });
  signer.destroy();
  return new Promise((resolveSent) => {
    let reply = '';
    const cut = new Promise<string>((resolveCut) => {
      const req = request(url, { method: 'PUT', headers: { 'content-length': 1024 * 1024 } }, (res) => {
        reply = `HTTP ${res.statusCode}`;
        res.resume();
      });
      req.on('error', () => resolveCut(reply));
      req.on('close', () => resolveCut(reply));
      req.write(randomBytes(512 * 1024), () => resolveSent({ cut }));
    });
  });
}

/** Writers PUT and DELETE until `ACKS_BEFORE_KILL` are acknowledged, then the server is SIGKILLed under them. */
async function writeAndKill(
  round: number,
): Promise<{ acked: number; inFlightAtKill: number; cutWrites: number; heldReply: string }> {
  const s3 = client();
  let acked = 0;
  let inFlight = 0;
  let inFlightAtKill = -1;
  let cutWrites = 0;
  let stop = false;
  let killing: Promise<string> | null = null;
  const kill = async (): Promise<string> => {
    const held = await heldPut(heldKey(round));
    // A short random delay after the threshold lets the other writers get their bodies under way.
    await new Promise((r) => setTimeout(r, randomInt(5, 40)));
    stop = true;
    inFlightAtKill = inFlight;
    await server.kill9();
    return held.cut;
  };
  const writer = async (w: number): Promise<void> => {
    const mine = [...history.keys()].filter((k) => k.startsWith(`w${w}/`));
    for (let n = 0; ; n++) {
      // A quarter of the writes overwrite an earlier key and one in ten deletes one: a crash must
      // not leave a half-replaced or half-deleted object either.
      const reuse = mine.length > 0 && randomInt(4) === 0;
      const key = reuse ? mine[randomInt(mine.length)]! : `w${w}/r${round}-${n}`;
      const body = reuse && randomInt(10) < 4 ? null : randomBytes(randomInt(1024, 2 * 1024 * 1024 + 1));
      if (stop) return;
      if (!mine.includes(key)) mine.push(key);
      const h = history.get(key) ?? { states: [], acked: -1 };
      history.set(key, h);
      h.states.push(body ? md5(body) : null);
      const index = h.states.length - 1;
      inFlight++;
      try {
        if (body) {
          const res = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
          assert.equal(res.ETag, `"${h.states[index]}"`, `ETag of ${key}`);
        } else {
          await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
        }
        h.acked = index;
        acked++;
        if (acked >= ACKS_BEFORE_KILL && killing === null) killing = kill();
      } catch (e) {
        if (e instanceof assert.AssertionError || !stop) throw e;
        cutWrites++;
        return;
      } finally {
        inFlight--;
      }
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  const heldReply = await killing!;
  s3.destroy();
  return { acked, inFlightAtKill, cutWrites, heldReply };
}

const heldKey = (round: number): string => `held/r${round}`;

/**
 * Everything acknowledged is intact; nothing present is partial; nothing is left in tmp/ or
 * orphaned in blobs/. Returns how many keys had to hold exactly their acknowledged bytes (no
 * later write was sent for them).
 */
async function verify(): Promise<number> {
  assert.deepEqual(readdirSync(path.join(server.dataDir, 'tmp')), [], 'startup collection empties <datadir>/tmp');

  const s3 = client();
  try {
    const listed = new Map<string, number>();
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: token }));
      for (const o of page.Contents ?? []) listed.set(o.Key!, o.Size!);
      token = page.NextContinuationToken;
    } while (token);

    for (const key of listed.keys()) assert.ok(history.has(key), `listed key ${key} was never written`);
    let exact = 0;
    for (const [key, h] of history) {
      // Before any acknowledgement the key may also still be absent.
      const valid = h.acked >= 0 ? h.states.slice(h.acked) : [null, ...h.states];
      if (h.acked >= 0 && h.acked === h.states.length - 1) exact++;
      if (!listed.has(key)) {
        assert.ok(valid.includes(null), `acknowledged object ${key} is missing after the restart`);
        continue;
      }
      const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      const body = await res.Body!.transformToByteArray();
      const sum = md5(body);
      assert.ok(
        valid.includes(sum),
        `${key}: ${body.length} bytes with MD5 ${sum}: not what a write sent${h.acked >= 0 ? ' at or after the acknowledged one' : ''} would leave`,
      );
      assert.equal(res.ETag, `"${sum}"`, `${key}: ETag matches the bytes`);
      assert.equal(listed.get(key), body.length, `${key}: listed size matches the bytes`);
    }

    // The one look inside: object bytes are files under blobs/<2 hex>/, and unreferenced ones must
    // be gone once the start-up sweep (which runs behind the listener) has finished.
    const blobDir = path.join(server.dataDir, 'blobs');
    const countBlobs = (): number =>
      readdirSync(blobDir).reduce((n, d) => n + readdirSync(path.join(blobDir, d)).length, 0);
    for (let i = 0; i < 100 && countBlobs() !== listed.size; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(
      countBlobs(),
      listed.size,
      'every blob file belongs to a listed object (orphans are collected after start-up)',
    );
    return exact;
  } finally {
    s3.destroy();
  }
}

before(async () => {
  server = await startServer();
  const s3 = client();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  s3.destroy();
});

after(async () => {
  await server?.dispose();
});

for (const round of [1, 2]) {
  test(`round ${round}: concurrent PUTs, SIGKILL, restart: acknowledged objects intact, none partial`, {
    timeout: 300_000,
  }, async (t) => {
    const { acked, inFlightAtKill, cutWrites, heldReply } = await writeAndKill(round);
    const leftovers = readdirSync(path.join(server.dataDir, 'tmp')).length;
    // The kill landed mid-flight: the half-sent PUT was cut unanswered, and writers had PUTs under way.
    assert.equal(heldReply, '', 'the half-sent PUT was never answered');
    assert.ok(inFlightAtKill > 0, 'the kill must land while the writers have PUTs in flight');
    await server.restart();
    const exact = await verify();
    t.diagnostic(
      `acknowledged ${acked}, in flight at the kill ${inFlightAtKill}, cut ${cutWrites}, temp files left by it ${leftovers}, keys so far ${history.size}, held to their exact acknowledged bytes ${exact}`,
    );
    assert.ok(exact > 0, 'some keys were checked against exactly the bytes of their acknowledged write');
    const s3 = client();
    try {
      await assert.rejects(
        s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: heldKey(round) })),
        { name: 'NotFound' },
        'a PUT cut mid-body leaves no object',
      );
    } finally {
      s3.destroy();
    }
  });
}

/** Sends part of a body for a presigned PUT that announced more, then hangs up. */
function cutUpload(url: string, sent: number, announced: number): Promise<void> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'PUT', headers: { 'content-length': announced } });
    req.on('error', () => resolve());
    req.write(randomBytes(sent), () =>
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 150),
    );
  });
}

test('a client hanging up mid-upload or mid-download leaves the old object, no temp file and no error', {
  timeout: 300_000,
}, async () => {
  const s3 = client();
  try {
    await s3.send(new CreateBucketCommand({ Bucket: 'cutoff' }));
    const old = randomBytes(3 * 1024 * 1024);
    await s3.send(new PutObjectCommand({ Bucket: 'cutoff', Key: 'existing', Body: old }));

    for (const key of ['existing', 'new']) {
      const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'cutoff', Key: key }), { expiresIn: 60 });
      await cutUpload(url, 1024 * 1024, 8 * 1024 * 1024);
    }
    const get = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'cutoff', Key: 'existing' }), { expiresIn: 60 });
    await new Promise<void>((resolve, reject) => {
      request(get, (res) =>
        res.once('data', () => {
          res.destroy();
          resolve();
        }),
      )
        .on('error', reject)
        .end();
    });

    const body = await (
      await s3.send(new GetObjectCommand({ Bucket: 'cutoff', Key: 'existing' }))
    ).Body!.transformToByteArray();
    assert.equal(md5(body), md5(old), 'the cut-off overwrite left the old object whole');
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: 'cutoff', Key: 'new' })), { name: 'NotFound' });
    const tmp = path.join(server.dataDir, 'tmp');
    for (let i = 0; i < 40 && readdirSync(tmp).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(readdirSync(tmp), [], 'the temp file of a cut-off upload is removed at once');
    assert.deepEqual(
      server
        .stderr()
        .split('\n')
        .filter((l) => l.includes('"level":"error"')),
      [],
      'a client hanging up is no server error',
    );
  } finally {
    s3.destroy();
  }
});

test('after two crashes the server still takes and serves writes', { timeout: 300_000 }, async () => {
  const s3 = client();
  try {
    const body = randomBytes(4096);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'after/crash', Body: body }));
    const got = await (
      await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'after/crash' }))
    ).Body!.transformToByteArray();
    assert.equal(md5(got), md5(body));
  } finally {
    s3.destroy();
  }
});

/** One write of the versioned round as sent: the MD5 of a PUT's body, or null for a DELETE (a delete marker). */
interface VersionedWrite {
  key: string;
  md5: string | null;
  /** The version id the server acknowledged; null while unanswered. */
  versionId: string | null;
}

/**
 * The versioned round: writers PUT and DELETE (adding delete markers) in a versioned bucket
 * until the server is SIGKILLed under them. After the restart every acknowledged version is
 * still listed, in the order it was written, and reads back its exact bytes; every listed
 * version is whole and is one a write sent; no blob file is leaked or missing.
 */
test('versioned bucket: concurrent PUTs and DELETEs, SIGKILL, restart: no acknowledged version lost, none partial', {
  timeout: 300_000,
}, async (t) => {
  const bucket = 'durable-versions';
  const s3 = client();
  const writes: VersionedWrite[] = [];
  let acked = 0;
  let stop = false;
  let killing: Promise<void> | null = null;
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    const writer = async (w: number): Promise<void> => {
      while (!stop) {
        // Few keys per writer, so each key gathers several versions and markers.
        const key = `v${w}/${randomInt(3)}`;
        const body = randomInt(5) === 0 ? null : randomBytes(randomInt(1, 1024 * 1024));
        const write: VersionedWrite = { key, md5: body ? md5(body) : null, versionId: null };
        writes.push(write);
        try {
          write.versionId = body
            ? ((await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))).VersionId ?? null)
            : ((await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))).VersionId ?? null);
          assert.ok(write.versionId, `a versioned ${body ? 'PUT' : 'DELETE'} answers a version id`);
          acked++;
          if (acked >= ACKS_BEFORE_KILL && killing === null) {
            killing = (async () => {
              await new Promise((r) => setTimeout(r, randomInt(5, 40)));
              stop = true;
              await server.kill9();
            })();
          }
        } catch (e) {
          if (e instanceof assert.AssertionError || !stop) throw e;
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    await killing;
  } finally {
    s3.destroy();
  }
  await server.restart();
  const check = client();
  try {
    const listed: { key: string; id: string; marker: boolean }[] = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    for (;;) {
      const page = await check.send(
        new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker: keyMarker, VersionIdMarker: versionMarker }),
      );
      // Markers and versions come as two lists: merge them back into the listing order by key, keeping each list's order.
      const both = [
        ...(page.Versions ?? []).map((v) => ({ key: v.Key!, id: v.VersionId!, marker: false, when: v.LastModified! })),
        ...(page.DeleteMarkers ?? []).map((v) => ({
          key: v.Key!,
          id: v.VersionId!,
          marker: true,
          when: v.LastModified!,
        })),
      ];
      listed.push(...both);
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      versionMarker = page.NextVersionIdMarker;
    }
    const ids = new Set(listed.map((l) => l.id));
    assert.equal(ids.size, listed.length, 'version ids are unique');
    const sent = new Map(writes.map((w) => [w.key, writes.filter((x) => x.key === w.key)]));
    for (const l of listed) assert.ok(sent.has(l.key), `listed key ${l.key} was never written`);
    for (const w of writes.filter((x) => x.versionId !== null)) {
      const l = listed.find((x) => x.id === w.versionId);
      assert.ok(l, `acknowledged version ${w.key}@${w.versionId} is missing after the restart`);
      assert.equal(l.key, w.key);
      assert.equal(l.marker, w.md5 === null, `${w.key}@${w.versionId}: a DELETE is a marker, a PUT a version`);
    }
    for (const [key, history] of sent) {
      // Newest first in the listing; acknowledged writes of one key were sent one after the other.
      const order = listed.filter((l) => l.key === key).map((l) => l.id);
      const ackedIds = history.filter((w) => w.versionId !== null).map((w) => w.versionId!);
      const positions = ackedIds.map((id) => order.indexOf(id));
      const inVersions = positions.filter((_, i) => history.find((w) => w.versionId === ackedIds[i])!.md5 !== null);
      const inMarkers = positions.filter((_, i) => history.find((w) => w.versionId === ackedIds[i])!.md5 === null);
      for (const run of [inVersions, inMarkers])
        for (let i = 1; i < run.length; i++) assert.ok(run[i]! < run[i - 1]!, `${key}: versions listed newest first`);
    }
    let read = 0;
    for (const l of listed.filter((x) => !x.marker)) {
      const res = await check.send(new GetObjectCommand({ Bucket: bucket, Key: l.key, VersionId: l.id }));
      const sum = md5(await res.Body!.transformToByteArray());
      const acknowledged = writes.find((w) => w.versionId === l.id);
      if (acknowledged) assert.equal(sum, acknowledged.md5, `${l.key}@${l.id}: its acknowledged bytes`);
      else
        assert.ok(
          sent.get(l.key)!.some((w) => w.md5 === sum),
          `${l.key}@${l.id}: an unacknowledged version is whole, one a write sent`,
        );
      read++;
    }
    t.diagnostic(`writes sent ${writes.length}, acknowledged ${acked}, versions listed ${listed.length}, read ${read}`);
    assert.ok(acked >= ACKS_BEFORE_KILL);
  } finally {
    check.destroy();
  }
  // Blob accounting once the start-up sweep (behind the listener) removed what the kill orphaned.
  let problems = auditBlobs(server.dataDir).problems;
  for (let i = 0; i < 100 && problems.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    problems = auditBlobs(server.dataDir).problems;
  }
  assert.deepEqual(problems, [], 'every blob file belongs to exactly one version, none is missing');
});
