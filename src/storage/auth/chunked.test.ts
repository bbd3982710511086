import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isStorageError, type StorageErrorCode } from '../errors.js';
import { createChecksummer, type ChecksumAlgorithm } from '../checksum/index.js';
import { AwsChunkedDecoder, streamingMode, type ChunkedDecoderOptions, type StreamingMode } from './chunked.js';
import { chunkSignature, deriveSigningKey, trailerSignature } from './sigv4.js';

const SIGNED: StreamingMode = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
const UNSIGNED_TRAILER: StreamingMode = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
const SIGNED_TRAILER: StreamingMode = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
const MODES = [SIGNED, UNSIGNED_TRAILER, SIGNED_TRAILER];

// The example of https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
const SIGNING = {
  signingKey: deriveSigningKey('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '20130524', 'us-east-1', 's3'),
  seedSignature: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
  amzDate: '20130524T000000Z',
  scope: '20130524/us-east-1/s3/aws4_request',
};
const AWS_DATA = Buffer.alloc(66560, 'a');
const AWS_WIRE = Buffer.concat([
  Buffer.from('10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n'),
  AWS_DATA.subarray(0, 65536),
  Buffer.from('\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n'),
  AWS_DATA.subarray(65536),
  Buffer.from('\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n'),
]);
const awsOptions = (): ChunkedDecoderOptions => ({
  mode: SIGNED,
  decodedContentLength: 66560,
  signing: SIGNING,
  declaredTrailers: [],
});

interface Wire {
  mode: StreamingMode;
  data: Buffer;
  chunkSize: number;
  trailers?: [string, string][];
  /** Signed-trailer mode: send a wrong trailer signature, or none at all. */
  trailerSig?: 'good' | 'bad' | 'none';
}

/** Encodes a body the way the SDKs do, signing with SIGNING for the signed modes. */
function encode(w: Wire): Buffer {
  const signed = w.mode !== UNSIGNED_TRAILER;
  let previous = SIGNING.seedSignature;
  const sign = (piece: Buffer): string => {
    if (!signed) return '';
    const chunkSha256Hex = createHash('sha256').update(piece).digest('hex');
    previous = chunkSignature({ ...SIGNING, previousSignature: previous, chunkSha256Hex });
    return `;chunk-signature=${previous}`;
  };
  const out: Buffer[] = [];
  for (let at = 0; at < w.data.length; at += w.chunkSize) {
    const piece = w.data.subarray(at, at + w.chunkSize);
    out.push(Buffer.from(`${piece.length.toString(16)}${sign(piece)}\r\n`), piece, Buffer.from('\r\n'));
  }
  out.push(Buffer.from(`0${sign(Buffer.alloc(0))}\r\n`));
  let trailerText = '';
  for (const [name, value] of w.trailers ?? []) {
    out.push(Buffer.from(`${name}:${value}\r\n`));
    trailerText += `${name.toLowerCase()}:${value}\n`;
  }
  if (w.mode === SIGNED_TRAILER && w.trailerSig !== 'none') {
    const sig = trailerSignature({ ...SIGNING, previousSignature: previous, trailerText });
    out.push(Buffer.from(`x-amz-trailer-signature:${w.trailerSig === 'bad' ? flipHex(sig) : sig}\r\n`));
  }
  out.push(Buffer.from('\r\n'));
  return Buffer.concat(out);
}

function flipHex(s: string, at = 0): string {
  return s.slice(0, at) + (s[at] === '0' ? '1' : '0') + s.slice(at + 1);
}

function options(w: Wire, extra: Partial<ChunkedDecoderOptions> = {}): ChunkedDecoderOptions {
  return {
    mode: w.mode,
    decodedContentLength: w.data.length,
    signing: w.mode === UNSIGNED_TRAILER ? undefined : SIGNING,
    declaredTrailers: (w.trailers ?? []).map(([n]) => n.toLowerCase()),
    ...extra,
  };
}

type Split = 'whole' | 'bytes' | 'random';

function pieces(wire: Buffer, split: Split): Buffer[] {
  if (split === 'whole') return [wire];
  const out: Buffer[] = [];
  for (let at = 0; at < wire.length; ) {
    const n = split === 'bytes' ? 1 : 1 + Math.floor(Math.random() * 300);
    out.push(wire.subarray(at, at + n));
    at += n;
  }
  return out;
}

async function decode(wire: Buffer, o: ChunkedDecoderOptions, split: Split = 'whole') {
  const decoder = new AwsChunkedDecoder(o);
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces(wire, split)), decoder, async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) out.push(c);
  });
  return { data: Buffer.concat(out), trailers: decoder.trailers };
}

async function assertFails(p: Promise<unknown>, code: StorageErrorCode, message?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isStorageError(e), `expected a StorageError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message !== undefined) assert.equal(e.message, message);
    return true;
  });
}

const digestOf = (alg: ChecksumAlgorithm, data: Buffer): string => {
  const c = createChecksummer(alg);
  c.update(data);
  return c.digestBase64();
};

test('streamingMode recognises the three supported modes and refuses SigV4a ones', { timeout: 30_000 }, () => {
  for (const m of MODES) assert.equal(streamingMode(m), m);
  for (const v of [
    undefined,
    'UNSIGNED-PAYLOAD',
    'STREAMING-UNSIGNED-PAYLOAD',
    'streaming-aws4-hmac-sha256-payload',
    createHash('sha256').digest('hex'),
  ]) {
    assert.equal(streamingMode(v), null, String(v));
  }
  for (const v of ['STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD', 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER']) {
    assert.throws(
      () => streamingMode(v),
      (e: unknown) => isStorageError(e) && e.code === 'NotImplemented',
    );
  }
});

test('AWS published example decodes, whole, byte by byte and in random pieces', { timeout: 30_000 }, async () => {
  assert.deepEqual(
    encode({ mode: SIGNED, data: AWS_DATA, chunkSize: 65536 }),
    AWS_WIRE,
    'test encoder reproduces the AWS example',
  );
  for (const split of ['whole', 'bytes', 'random'] as const) {
    const { data, trailers } = await decode(AWS_WIRE, awsOptions(), split);
    assert.ok(data.equals(AWS_DATA), split);
    assert.deepEqual(trailers, {});
  }
});

test('AWS example with a tampered byte, signature, seed or key fails with SignatureDoesNotMatch', {
  timeout: 30_000,
}, async () => {
  const sigAt = (n: number) => {
    let at = -1;
    for (let i = 0; i <= n; i++) at = AWS_WIRE.indexOf('chunk-signature=', at + 1);
    return at + 'chunk-signature='.length;
  };
  const tamper = (at: number) => {
    const w = Buffer.from(AWS_WIRE);
    w[at] = w[at] === 0x30 ? 0x31 : w[at] === 0x61 ? 0x62 : 0x30;
    return w;
  };
  const cases: [string, Buffer, ChunkedDecoderOptions][] = [
    ['data byte in chunk 1', tamper(sigAt(0) + 70), awsOptions()],
    ['data byte in chunk 2', tamper(AWS_WIRE.length - 100), awsOptions()],
    ['signature of chunk 1', tamper(sigAt(0) + 5), awsOptions()],
    ['signature of chunk 2', tamper(sigAt(1)), awsOptions()],
    ['signature of the final chunk', tamper(sigAt(2) + 63), awsOptions()],
    [
      'seed signature',
      AWS_WIRE,
      { ...awsOptions(), signing: { ...SIGNING, seedSignature: flipHex(SIGNING.seedSignature) } },
    ],
    [
      'signing key',
      AWS_WIRE,
      {
        ...awsOptions(),
        signing: { ...SIGNING, signingKey: deriveSigningKey('other', '20130524', 'us-east-1', 's3') },
      },
    ],
  ];
  for (const [name, wire, o] of cases) {
    for (const split of ['whole', 'random'] as const) {
      await assertFails(decode(wire, o, split), 'SignatureDoesNotMatch').catch((e) =>
        assert.fail(`${name} (${split}): ${e}`),
      );
    }
  }
});

test('unsigned and signed trailers: each checksum verifies, a wrong one is BadDigest', {
  timeout: 30_000,
}, async () => {
  const data = randomBytes(30000);
  for (const mode of [UNSIGNED_TRAILER, SIGNED_TRAILER]) {
    for (const alg of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const) {
      const name = `x-amz-checksum-${alg.toLowerCase()}`;
      const good: Wire = { mode, data, chunkSize: 8192, trailers: [[name, digestOf(alg, data)]] };
      const result = await decode(encode(good), options(good), 'random');
      assert.ok(result.data.equals(data), `${mode} ${alg}`);
      assert.deepEqual(result.trailers, { [name]: digestOf(alg, data) });

      const wrong: Wire = { ...good, trailers: [[name, digestOf(alg, Buffer.from('other'))]] };
      await assertFails(
        decode(encode(wrong), options(wrong)),
        'BadDigest',
        `The ${alg} you specified did not match the calculated checksum.`,
      );
      const invalid: Wire = { ...good, trailers: [[name, 'bm90IGJhc2U2NA']] };
      await assertFails(
        decode(encode(invalid), options(invalid)),
        'InvalidRequest',
        `Value for ${name} trailing header is invalid.`,
      );
      await assertFails(decode(encode({ ...good, trailers: [] }), options(good)), 'MalformedTrailerError');
    }
  }
});

test('trailer section errors', { timeout: 30_000 }, async () => {
  const data = randomBytes(10000);
  const crc = digestOf('CRC32', data);
  const w = (mode: StreamingMode, trailers: [string, string][], trailerSig?: Wire['trailerSig']): Wire => ({
    mode,
    data,
    chunkSize: 4000,
    trailers,
    trailerSig,
  });
  const declaredCrc32 = { declaredTrailers: ['x-amz-checksum-crc32'] };
  const cases: [string, Wire, Partial<ChunkedDecoderOptions>, StorageErrorCode][] = [
    [
      'undeclared trailer',
      w(UNSIGNED_TRAILER, [['x-amz-checksum-crc32', crc]]),
      { declaredTrailers: [] },
      'MalformedTrailerError',
    ],
    [
      'other trailer than declared',
      w(UNSIGNED_TRAILER, [['x-amz-checksum-crc32c', digestOf('CRC32C', data)]]),
      declaredCrc32,
      'MalformedTrailerError',
    ],
    [
      'duplicate trailer',
      w(UNSIGNED_TRAILER, [
        ['x-amz-checksum-crc32', crc],
        ['x-amz-checksum-crc32', crc],
      ]),
      declaredCrc32,
      'MalformedTrailerError',
    ],
    [
      'trailer line without colon',
      w(UNSIGNED_TRAILER, [['x-amz-checksum-crc32' + crc, '']]),
      declaredCrc32,
      'MalformedTrailerError',
    ],
    [
      'trailer in a mode without trailers',
      w(SIGNED, [['x-amz-checksum-crc32', crc]]),
      { declaredTrailers: [] },
      'MalformedTrailerError',
    ],
    ['declared trailer in a mode without trailers', w(SIGNED, []), declaredCrc32, 'MalformedTrailerError'],
    [
      'trailer signature in unsigned mode',
      w(UNSIGNED_TRAILER, [
        ['x-amz-checksum-crc32', crc],
        ['x-amz-trailer-signature', '0'.repeat(64)],
      ]),
      declaredCrc32,
      'MalformedTrailerError',
    ],
    ['bad trailer signature', w(SIGNED_TRAILER, [['x-amz-checksum-crc32', crc]], 'bad'), {}, 'SignatureDoesNotMatch'],
    [
      'missing trailer signature',
      w(SIGNED_TRAILER, [['x-amz-checksum-crc32', crc]], 'none'),
      {},
      'MalformedTrailerError',
    ],
  ];
  for (const [name, wire, extra, code] of cases) {
    await assertFails(decode(encode(wire), options(wire, extra)), code).catch((e) => assert.fail(`${name}: ${e}`));
  }
});

test('signed trailer: a changed trailer value is caught by the trailer signature; the signature must come last', {
  timeout: 30_000,
}, async () => {
  const data = randomBytes(9000);
  const good: Wire = {
    mode: SIGNED_TRAILER,
    data,
    chunkSize: 8192,
    trailers: [['x-amz-checksum-crc64nvme', digestOf('CRC64NVME', data)]],
  };
  const wire = encode(good).toString('latin1');
  const forged = wire.replace(digestOf('CRC64NVME', data), digestOf('CRC64NVME', Buffer.from('x')));
  assert.notEqual(forged, wire);
  await assertFails(decode(Buffer.from(forged, 'latin1'), options(good)), 'SignatureDoesNotMatch');
  const lines = wire.split('\r\n');
  const sigLine = lines.findIndex((l) => l.startsWith('x-amz-trailer-signature:'));
  [lines[sigLine - 1], lines[sigLine]] = [lines[sigLine]!, lines[sigLine - 1]!];
  await assertFails(decode(Buffer.from(lines.join('\r\n'), 'latin1'), options(good)), 'MalformedTrailerError');
  // Trailer names are case-insensitive on the wire; the signature covers the lower-case form.
  const upper: Wire = { ...good, trailers: [['X-Amz-Checksum-CRC64NVME', digestOf('CRC64NVME', data)]] };
  const result = await decode(encode(upper), options(upper));
  assert.deepEqual(result.trailers, { 'x-amz-checksum-crc64nvme': digestOf('CRC64NVME', data) });
});

test('every proper prefix of a body fails with IncompleteBody (never hangs)', { timeout: 60_000 }, async () => {
  const data = randomBytes(50);
  for (const mode of MODES) {
    const trailers: [string, string][] = mode === SIGNED ? [] : [['x-amz-checksum-crc32', digestOf('CRC32', data)]];
    const w: Wire = { mode, data, chunkSize: 20, trailers };
    const wire = encode(w);
    for (let cut = 0; cut < wire.length; cut++) {
      await assertFails(decode(wire.subarray(0, cut), options(w)), 'IncompleteBody').catch((e) =>
        assert.fail(`${mode} cut=${cut}: ${e}`),
      );
    }
    assert.ok((await decode(wire, options(w), 'bytes')).data.equals(data));
  }
});

test('malformed framing and length errors', { timeout: 30_000 }, async () => {
  const data = randomBytes(100);
  const unsigned: Wire = { mode: UNSIGNED_TRAILER, data, chunkSize: 64 };
  const signed: Wire = { mode: SIGNED, data, chunkSize: 64 };
  const u = encode(unsigned).toString('latin1');
  const s = encode(signed).toString('latin1');
  const bin = (x: string) => Buffer.from(x, 'latin1');
  const replaceSize = (size: string) => bin(u.replace(/^40\r\n/, `${size}\r\n`));
  const cases: [string, Buffer, ChunkedDecoderOptions, StorageErrorCode][] = [
    ['extra bytes after the end', bin(u + 'x'), options(unsigned), 'IncompleteBody'],
    ['a second body after the end', bin(u + u), options(unsigned), 'IncompleteBody'],
    ['non-hex size', replaceSize('zz'), options(unsigned), 'IncompleteBody'],
    ['empty size', replaceSize(''), options(unsigned), 'IncompleteBody'],
    ['negative size', replaceSize('-40'), options(unsigned), 'IncompleteBody'],
    ['size with 0x', replaceSize('0x40'), options(unsigned), 'IncompleteBody'],
    ['size with spaces', replaceSize(' 40'), options(unsigned), 'IncompleteBody'],
    ['17 hex digits', replaceSize('00000000000000040'), options(unsigned), 'IncompleteBody'],
    ['size one too big', replaceSize('41'), options(unsigned), 'IncompleteBody'],
    ['size one too small', replaceSize('3f'), options(unsigned), 'IncompleteBody'],
    ['LF line endings', bin(u.replaceAll('\r\n', '\n')), options(unsigned), 'IncompleteBody'],
    [
      'chunk signature in unsigned mode',
      bin(u.replace(/^40\r\n/, `40;chunk-signature=${'0'.repeat(64)}\r\n`)),
      options(unsigned),
      'IncompleteBody',
    ],
    [
      'no chunk signature in signed mode',
      bin(s.replace(/^40;chunk-signature=[0-9a-f]{64}\r\n/, '40\r\n')),
      options(signed),
      'IncompleteBody',
    ],
    [
      'short chunk signature',
      bin(s.replace(/^(40;chunk-signature=[0-9a-f]{63})[0-9a-f]/, '$1')),
      options(signed),
      'SignatureDoesNotMatch',
    ],
    ['endless header line', bin('4'.repeat(5000)), options(unsigned), 'IncompleteBody'],
    [
      'decoded length above the data',
      encode(unsigned),
      options(unsigned, { decodedContentLength: 101 }),
      'IncompleteBody',
    ],
    [
      'decoded length below the data',
      encode(unsigned),
      options(unsigned, { decodedContentLength: 99 }),
      'IncompleteBody',
    ],
    ['decoded length 0 with data', encode(signed), options(signed, { decodedContentLength: 0 }), 'IncompleteBody'],
    ['chunk above maxChunkSize', encode(unsigned), options(unsigned, { maxChunkSize: 63 }), 'InvalidArgument'],
  ];
  for (const [name, wire, o, code] of cases) {
    await assertFails(decode(wire, o), code).catch((e) => assert.fail(`${name}: ${e}`));
  }
  assert.ok(
    (await decode(encode(unsigned), options(unsigned, { maxChunkSize: 64 }))).data.equals(data),
    'a chunk of exactly maxChunkSize passes',
  );
});

test('constructor rejects bad options', { timeout: 30_000 }, () => {
  const base: ChunkedDecoderOptions = { mode: UNSIGNED_TRAILER, decodedContentLength: 1, declaredTrailers: [] };
  const cases: [Partial<ChunkedDecoderOptions>, StorageErrorCode][] = [
    [{ declaredTrailers: ['x-amz-checksum-crc32', 'x-amz-checksum-sha1'] }, 'InvalidRequest'],
    [{ declaredTrailers: ['x-amz-meta-color'] }, 'InvalidRequest'],
    [{ declaredTrailers: ['x-amz-checksum-md5'] }, 'InvalidRequest'],
    [{ decodedContentLength: -1 }, 'InvalidArgument'],
    [{ decodedContentLength: 1.5 }, 'InvalidArgument'],
    [{ decodedContentLength: Number.NaN }, 'InvalidArgument'],
    [{ mode: SIGNED }, 'InternalError'],
    [{ mode: SIGNED_TRAILER }, 'InternalError'],
  ];
  for (const [extra, code] of cases) {
    assert.throws(
      () => new AwsChunkedDecoder({ ...base, ...extra }),
      (e: unknown) => isStorageError(e) && e.code === code,
      JSON.stringify(extra),
    );
  }
});

test('empty objects in every mode', { timeout: 30_000 }, async () => {
  for (const mode of MODES) {
    for (const trailers of mode === SIGNED
      ? [[]]
      : ([[], [['x-amz-checksum-crc32', 'AAAAAA==']]] as [string, string][][])) {
      const w: Wire = { mode, data: Buffer.alloc(0), chunkSize: 1, trailers };
      const { data, trailers: got } = await decode(encode(w), options(w), 'bytes');
      assert.equal(data.length, 0);
      assert.deepEqual(got, Object.fromEntries(trailers));
    }
  }
});

test('random bodies, chunk sizes and network splits round-trip in every mode', { timeout: 30_000 }, async () => {
  for (let round = 0; round < 30; round++) {
    const mode = MODES[round % 3]!;
    const data = randomBytes(Math.floor(Math.random() * 40000));
    const trailers: [string, string][] = mode === SIGNED ? [] : [['x-amz-checksum-crc32c', digestOf('CRC32C', data)]];
    const w: Wire = { mode, data, chunkSize: 1 + Math.floor(Math.random() * 9000), trailers };
    const { data: out, trailers: got } = await decode(encode(w), options(w), 'random');
    assert.ok(out.equals(data), `${mode} len=${data.length} chunk=${w.chunkSize}`);
    assert.deepEqual(got, Object.fromEntries(trailers));
  }
});

test('back-pressure: a slow consumer bounds what is read ahead, and output is only data', {
  timeout: 30_000,
}, async () => {
  const data = randomBytes(8 * 1024 * 1024);
  const w: Wire = { mode: SIGNED, data, chunkSize: 65536 };
  const wire = encode(w);
  let produced = 0;
  let consumed = 0;
  let maxLead = 0;
  const hash = createHash('sha256');
  const source = new Readable({
    highWaterMark: 16384,
    read() {
      const piece = wire.subarray(produced, produced + 16384);
      produced += piece.length;
      maxLead = Math.max(maxLead, produced - consumed);
      this.push(piece.length ? piece : null);
    },
  });
  const sink = new Writable({
    highWaterMark: 16384,
    write(chunk: Buffer, _enc, cb) {
      consumed += chunk.length;
      hash.update(chunk);
      setImmediate(cb);
    },
  });
  await pipeline(source, new AwsChunkedDecoder(options(w)), sink);
  assert.equal(consumed, data.length);
  assert.equal(hash.digest('hex'), createHash('sha256').update(data).digest('hex'));
  assert.ok(maxLead < 256 * 1024, `read ahead ${maxLead} bytes`);
});
