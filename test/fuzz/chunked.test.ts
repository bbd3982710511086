/**
 * Fuzz target: aws-chunked framing (src/storage/auth/chunked.ts). Any byte stream, cut into
 * any pieces, ends in exactly the payload or a StorageError, and ends: the decoder never waits
 * for bytes after the client has finished. A valid signed stream, however it is cut, gives
 * the payload; a signed stream with bytes flipped, added or removed gives the payload (when the
 * change only touched framing the signatures do not cover) or a StorageError.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { isStorageError } from '../../src/storage/errors.js';
import { AwsChunkedDecoder, type ChunkedDecoderOptions, type StreamingMode } from '../../src/storage/auth/chunked.js';
import { chunkSignature, deriveSigningKey, trailerSignature } from '../../src/storage/auth/sigv4.js';
import { check, timeout } from './harness.js';

const MODES: StreamingMode[] = [
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
];
// The example of https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
const SIGNING = {
  signingKey: deriveSigningKey('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '20130524', 'us-east-1', 's3'),
  seedSignature: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
  amzDate: '20130524T000000Z',
  scope: '20130524/us-east-1/s3/aws4_request',
};
const CRC32 = 'x-amz-checksum-crc32';

/** Encodes `data` as the SDKs do; the trailer modes carry the CRC32 of the data. */
function encode(mode: StreamingMode, data: Buffer, chunkSize: number): Buffer {
  const signed = mode !== 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
  let previous = SIGNING.seedSignature;
  const sign = (piece: Buffer): string => {
    if (!signed) return '';
    const chunkSha256Hex = createHash('sha256').update(piece).digest('hex');
    previous = chunkSignature({ ...SIGNING, previousSignature: previous, chunkSha256Hex });
    return `;chunk-signature=${previous}`;
  };
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += chunkSize) {
    const piece = data.subarray(at, at + chunkSize);
    out.push(Buffer.from(`${piece.length.toString(16)}${sign(piece)}\r\n`), piece, Buffer.from('\r\n'));
  }
  out.push(Buffer.from(`0${sign(Buffer.alloc(0))}\r\n`));
  if (mode !== 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD') {
    const value = crc32Base64(data);
    out.push(Buffer.from(`${CRC32}:${value}\r\n`));
    if (mode === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER') {
      const sig = trailerSignature({ ...SIGNING, previousSignature: previous, trailerText: `${CRC32}:${value}\n` });
      out.push(Buffer.from(`x-amz-trailer-signature:${sig}\r\n`));
    }
  }
  out.push(Buffer.from('\r\n'));
  return Buffer.concat(out);
}

/** CRC-32 (IEEE), base64 of the big-endian value, as x-amz-checksum-crc32 carries it. */
function crc32Base64(data: Buffer): string {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  const out = Buffer.alloc(4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}

function options(mode: StreamingMode, decodedContentLength: number): ChunkedDecoderOptions {
  return {
    mode,
    decodedContentLength,
    signing: mode === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' ? undefined : SIGNING,
    declaredTrailers: mode === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' ? [] : [CRC32],
    maxChunkSize: 4096,
  };
}

type Outcome = { ok: true; data: Buffer } | { ok: false; error: unknown };

/**
 * Writes `wire` in pieces cut at `cuts`, then ends; resolves with what came out or the error.
 * A decoder still undecided once the input is over and the event loop has turned a few hundred
 * times is a hang: it waits for bytes that will never come.
 */
async function decode(o: ChunkedDecoderOptions, wire: Buffer, cuts: number[]): Promise<Outcome | 'hang'> {
  let decoder: AwsChunkedDecoder;
  try {
    decoder = new AwsChunkedDecoder(o);
  } catch (error) {
    return { ok: false, error };
  }
  const out: Buffer[] = [];
  const result = new Promise<Outcome>((resolve) => {
    decoder.on('data', (c: Buffer) => out.push(c));
    decoder.once('end', () => resolve({ ok: true, data: Buffer.concat(out) }));
    decoder.once('error', (error) => resolve({ ok: false, error }));
  });
  let at = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b)) {
    decoder.write(wire.subarray(at, cut));
    at = cut;
  }
  decoder.end(wire.subarray(at));
  let settled: Outcome | undefined;
  void result.then((r) => {
    settled = r;
  });
  for (let i = 0; i < 300 && settled === undefined; i++) await new Promise((r) => setImmediate(r));
  return settled ?? 'hang';
}

function assertTyped(r: Outcome | 'hang', expected: Buffer | null): void {
  assert.notEqual(r, 'hang', 'the decoder neither ended nor failed after its input ended');
  if (r === 'hang') return;
  if (r.ok) {
    if (expected !== null) assert.ok(r.data.equals(expected), 'decoded bytes differ from the payload');
  } else {
    assert.ok(isStorageError(r.error), `not a StorageError: ${(r.error as Error)?.stack ?? String(r.error)}`);
  }
}

const payload = fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a));
const cuts = fc.array(fc.nat(), { maxLength: 12 });

test('aws-chunked: a valid stream cut anywhere gives exactly the payload', { timeout: timeout() }, () =>
  check(
    fc.asyncProperty(
      fc.constantFrom(...MODES),
      payload,
      fc.integer({ min: 1, max: 4096 }),
      cuts,
      async (mode, data, size, at) => {
        const r = await decode(options(mode, data.length), encode(mode, data, size), at);
        assert.notEqual(r, 'hang');
        if (r === 'hang') return;
        assert.ok(r.ok, `refused a valid stream: ${r.ok ? '' : String(r.error)}`);
        assert.ok(r.data.equals(data));
      },
    ),
    { runs: 400 },
  ),
);

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(wire: Buffer, m: Mutation): Buffer {
  const at = m.at % (wire.length + 1);
  switch (m.kind) {
    case 'flip': {
      const copy = Buffer.from(wire);
      if (at < copy.length) copy[at] = copy[at]! ^ (1 << m.bit);
      return copy;
    }
    case 'insert':
      return Buffer.concat([wire.subarray(0, at), Buffer.from(m.bytes), wire.subarray(at)]);
    case 'delete':
      return Buffer.concat([wire.subarray(0, at), wire.subarray(at + m.n)]);
    case 'truncate':
      return wire.subarray(0, at);
  }
}

test(
  'aws-chunked: a damaged signed stream gives the payload or a StorageError, never other bytes',
  { timeout: timeout() },
  () =>
    check(
      fc.asyncProperty(
        fc.constantFrom<StreamingMode>(
          'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
          'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
        ),
        payload,
        fc.integer({ min: 1, max: 1024 }),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        cuts,
        async (mode, data, size, ms, at) => {
          const wire = ms.reduce(mutate, encode(mode, data, size));
          assertTyped(await decode(options(mode, data.length), wire, at), data);
        },
      ),
      { runs: 1500 },
    ),
);

test(
  'aws-chunked: arbitrary bytes in any mode end in bytes of the declared length or a StorageError',
  { timeout: timeout() },
  () =>
    check(
      fc.asyncProperty(
        fc.constantFrom(...MODES),
        // Bytes as latin1 text, so that the corpus (JSON) can hold them.
        fc.oneof(
          fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a).toString('latin1')),
          fc
            .array(
              fc.constantFrom(
                '0',
                '1',
                'a',
                'f',
                'ffffffff',
                ';',
                'chunk-signature=',
                '\r\n',
                '\r',
                '\n',
                'x-amz-checksum-crc32:',
                'AAAAAA==',
                ':',
                ' ',
              ),
              { maxLength: 40 },
            )
            .map((p) => p.join('')),
        ),
        fc.integer({ min: 0, max: 64 }),
        cuts,
        async (mode, wire, declared, at) => {
          const r = await decode(options(mode, declared), Buffer.from(wire, 'latin1'), at);
          assertTyped(r, null);
          if (r !== 'hang' && r.ok) assert.equal(r.data.length, declared);
        },
      ),
      { runs: 1500, corpus: 'chunked' },
    ),
);
