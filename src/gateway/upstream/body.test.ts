import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { createChecksummer, isStorageError } from '#storage';
import { forwardBody, HoldLastByte } from './body.js';

/** Everything that came out before the stream ended or failed, and how it ended. */
async function drain(r: Readable): Promise<{ bytes: Buffer; error: unknown }> {
  const chunks: Buffer[] = [];
  return new Promise((resolve) => {
    r.on('data', (c: Buffer) => chunks.push(c));
    r.on('end', () => resolve({ bytes: Buffer.concat(chunks), error: null }));
    r.on('error', (e) => resolve({ bytes: Buffer.concat(chunks), error: e }));
  });
}

function crc32(b: Buffer): string {
  const s = createChecksummer('CRC32');
  s.update(b);
  return s.digestBase64();
}

/** An unsigned aws-chunked body with a trailing checksum, as the SDKs send by default. */
function chunked(data: Buffer, chunk: number, trailer: string): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) {
    const c = data.subarray(i, i + chunk);
    parts.push(Buffer.from(`${c.length.toString(16)}\r\n`), c, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`0\r\nx-amz-checksum-crc32:${trailer}\r\n\r\n`));
  return Buffer.concat(parts);
}

const HEADERS = (n: number) => ({ 'x-amz-decoded-content-length': String(n), 'x-amz-trailer': 'x-amz-checksum-crc32' });

test('HoldLastByte releases the last byte only when verification passes', { timeout: 30_000 }, async () => {
  const ok = await drain(Readable.from([Buffer.from('abc'), Buffer.from('de')]).pipe(new HoldLastByte()));
  assert.equal(ok.bytes.toString(), 'abcde');
  const held = new HoldLastByte(() => {
    throw new Error('bad');
  });
  const failed = await drain(
    Readable.from([Buffer.from('abc'), Buffer.from('de')])
      .pipe(held)
      .on('error', () => undefined),
  );
  assert.equal(failed.bytes.toString(), 'abcd');
});

test('an aws-chunked body is decoded; a wrong trailer checksum fails before its last byte is released', {
  timeout: 30_000,
}, async () => {
  const data = Buffer.from('x'.repeat(10_000) + 'END');
  for (const [trailer, wantError] of [
    [crc32(data), null],
    [crc32(Buffer.from('other')), 'BadDigest'],
  ] as const) {
    const wire = chunked(data, 4096, trailer);
    const body = forwardBody(
      Readable.from([wire.subarray(0, 5000), wire.subarray(5000)]),
      HEADERS(data.length),
      'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      null,
    );
    const out = drain(body.stream);
    body.start();
    const { bytes, error } = await out;
    if (wantError === null) {
      assert.equal(error, null);
      assert.ok(bytes.equals(data));
      assert.deepEqual(body.verifiedChecksum(), { header: 'x-amz-checksum-crc32', value: trailer });
    } else {
      assert.ok(isStorageError(error) && error.code === wantError, String(error));
      assert.ok(bytes.length < data.length, 'the body never completes upstream');
      assert.equal(body.verifiedChecksum(), null, 'a checksum that failed is not reported');
    }
  }
});

test('a checksum sent as a header is verified the same way; bad framing headers are refused up front', {
  timeout: 30_000,
}, async () => {
  const data = Buffer.from('hello header checksum');
  for (const [value, ok] of [
    [crc32(data), true],
    [crc32(Buffer.from('nope')), false],
  ] as const) {
    const body = forwardBody(Readable.from([data]), { 'x-amz-checksum-crc32': value }, null, null);
    assert.equal(body.verifiedChecksum(), null, 'nothing is verified before the body ends');
    const out = drain(body.stream);
    body.start();
    const { bytes, error } = await out;
    assert.equal(error === null, ok);
    assert.equal(bytes.length, ok ? data.length : data.length - 1);
    assert.deepEqual(body.verifiedChecksum(), ok ? { header: 'x-amz-checksum-crc32', value } : null);
  }
  assert.throws(
    () => forwardBody(Readable.from([]), {}, 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', null),
    (e: unknown) => isStorageError(e) && e.code === 'InvalidRequest',
  );
  assert.throws(
    () => forwardBody(Readable.from([]), HEADERS(1), 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', null),
    (e: unknown) => isStorageError(e) && e.code === 'InvalidRequest',
  );
  assert.throws(
    () => forwardBody(Readable.from([]), { 'x-amz-checksum-crc32': 'not base64!' }, null, null),
    (e: unknown) => isStorageError(e) && e.code === 'InvalidRequest',
  );
});

test('a plain body passes through untouched and only flows after start()', { timeout: 30_000 }, async () => {
  const src = Readable.from([Buffer.from('plain')]);
  const body = forwardBody(src, {}, null, null);
  let seen = 0;
  body.stream.pipe(
    new Writable({
      write(c: Buffer, _e, cb) {
        seen += c.length;
        cb();
      },
    }),
  );
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(seen, 0);
  body.start();
  await new Promise((r) => body.stream.once('end', r));
  assert.equal(seen, 5);
});
