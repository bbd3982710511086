import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { chunkSignature, deriveSigningKey, signV4 } from '#storage';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { assertNoStackTrace, assertS3Error, md5Base64, raw, sha256Hex } from './helpers/raw.js';
import { rejects } from './helpers/s3-assert.js';

let t: TestCellar;
let s3: S3Client;
const B = 'bad-input';

before(async () => {
  t = await startTestCellar();
  s3 = t.client();
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'canary', Body: 'still here' }));
});
after(() => t.stop());

// The server runs in this process: a request that makes it throw outside its handlers shows up
// here (and would kill a real server, since Node exits on unhandled rejections).
const escaped: unknown[] = [];
process.on('unhandledRejection', (e) => escaped.push(e));
process.on('uncaughtException', (e) => escaped.push(e));

// After every bad request the server must still serve a normal one.
afterEach(async () => {
  assert.deepEqual(escaped.map(String), []);
  const out = await s3.send(new ListBucketsCommand({}));
  assert.ok(out.Buckets!.some((b) => b.Name === B));
  const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'canary' }));
  assert.equal(head.ContentLength, 10);
});

/** Writes bytes on a bare socket and returns whatever comes back before the server closes (or `waitMs`). */
function rawSocket(
  bytes: Buffer | string,
  opts: { endAfterWrite?: boolean; waitMs?: number; port?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(opts.port ?? t.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => sock.destroy(), opts.waitMs ?? 3000);
    sock.on('connect', () => {
      sock.write(bytes);
      if (opts.endAfterWrite) sock.end();
    });
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

const signed = {
  type: 'v4' as const,
  get addon() {
    return t.owner;
  },
};

describe('malformed XML and bodies', () => {
  const bodies: [string, string, string][] = [
    ['truncated', '<Delete><Object><Key>a</Key></Object>', 'MalformedXML'],
    ['not XML', 'this is not xml at all', 'MalformedXML'],
    ['wrong root', '<Remove><Object><Key>a</Key></Object></Remove>', 'MalformedXML'],
    ['no Object', '<Delete><Quiet>true</Quiet></Delete>', 'MalformedXML'],
    ['empty Key', '<Delete><Object><Key></Key></Object></Delete>', 'MalformedXML'],
    ['mismatched tags', '<Delete><Object><Key>a</Object></Key></Delete>', 'MalformedXML'],
  ];
  for (const [name, body, code] of bodies) {
    test(`DeleteObjects with ${name} XML is ${code}`, { timeout: 120_000 }, async () => {
      assertS3Error(await raw(t.endpoint, { method: 'POST', path: `/${B}?delete`, body, auth: signed }), 400, code);
    });
  }

  test('DeleteObjects whose body does not match its Content-MD5 or x-amz-checksum-crc32 is BadDigest and deletes nothing', {
    timeout: 120_000,
  }, async () => {
    const body = '<Delete><Object><Key>canary</Key></Object></Delete>';
    const lies: Record<string, string>[] = [
      { 'content-md5': md5Base64('other') },
      { 'x-amz-checksum-crc32': 'AAAAAA==' },
      { 'x-amz-checksum-sha256': Buffer.alloc(32).toString('base64') },
    ];
    for (const headers of lies) {
      assertS3Error(
        await raw(t.endpoint, { method: 'POST', path: `/${B}?delete`, body, headers, auth: signed }),
        400,
        'BadDigest',
      );
    }
  });

  test('DeleteObjects with an empty body is MissingRequestBodyError', { timeout: 120_000 }, async () => {
    assertS3Error(
      await raw(t.endpoint, { method: 'POST', path: `/${B}?delete`, body: '', auth: signed }),
      400,
      'MissingRequestBodyError',
    );
  });

  test('DeleteObjects with more than 1000 keys is MalformedXML', { timeout: 120_000 }, async () => {
    const body = `<Delete>${Array.from({ length: 1001 }, (_, i) => `<Object><Key>k${i}</Key></Object>`).join('')}</Delete>`;
    assertS3Error(
      await raw(t.endpoint, { method: 'POST', path: `/${B}?delete`, body, auth: signed }),
      400,
      'MalformedXML',
    );
  });

  test('an entity-expansion (billion laughs) document is refused and deletes nothing', {
    timeout: 120_000,
  }, async () => {
    const lol =
      '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">' +
      '<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]>';
    const res = await raw(t.endpoint, {
      method: 'POST',
      path: `/${B}?delete`,
      body: `${lol}<Delete><Object><Key>canary&f;</Key></Object></Delete>`,
      auth: signed,
    });
    // S3 documents carry no DTD: refused outright, never expanded into a million-byte key; the
    // canary is still there afterwards (afterEach) and the server answers the next request.
    assertS3Error(res, 400, 'MalformedXML');
  });

  test('a body over the XML limit is MaxMessageLengthExceeded, not a crash', { timeout: 120_000 }, async () => {
    const big = `<Delete>${'<Object><Key>k</Key></Object>'.repeat(80_000)}</Delete>`;
    assert.ok(big.length > 2 * 1024 * 1024);
    assertS3Error(
      await raw(t.endpoint, { method: 'POST', path: `/${B}?delete`, body: big, auth: signed }),
      400,
      'MaxMessageLengthExceeded',
    );
    const conf = `<CreateBucketConfiguration>${' '.repeat(1024 * 1024 + 1)}</CreateBucketConfiguration>`;
    assertS3Error(
      await raw(t.endpoint, { method: 'PUT', path: '/too-big-config', body: conf, auth: signed }),
      400,
      'MaxMessageLengthExceeded',
    );
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket: 'too-big-config', Key: 'x' })), 'NotFound', 404);
  });

  test('a chunked body over the XML limit (no Content-Length) is MaxMessageLengthExceeded', {
    timeout: 120_000,
  }, async () => {
    const url = new URL(`${t.endpoint}/${B}?delete`);
    const headers = signV4({
      method: 'POST',
      url,
      headers: { 'transfer-encoding': 'chunked', connection: 'close' },
      payloadHash: 'UNSIGNED-PAYLOAD',
      accessKeyId: t.owner.accessKeyId,
      secretKey: t.owner.secretAccessKey,
      region: 'us-east-1',
      now: new Date(),
    });
    const head = `POST /${B}?delete HTTP/1.1\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n')}\r\n\r\n`;
    const chunk = '<Object><Key>canary</Key></Object>'.repeat(2000);
    const body = `${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n`.repeat(40) + '0\r\n\r\n';
    const text = await rawSocket(head + '5\r\n<Dele\r\n4\r\nte>\n\r\n' + body);
    assert.match(text, /^HTTP\/1\.1 400 /);
    assert.match(text, /<Code>MaxMessageLengthExceeded<\/Code>/);
  });
});

describe('bad request shape', () => {
  test('an oversized header section is a 400 S3 error and the server keeps serving', { timeout: 120_000 }, async () => {
    const text = await rawSocket(
      `GET /${B}/canary HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Meta-Huge: ${'h'.repeat(20 * 1024)}\r\n\r\n`,
    );
    assert.match(text, /^HTTP\/1\.1 400 /);
    assert.match(text, /content-type: application\/xml/i);
    assert.match(text, /<Error><Code>RequestHeaderSectionTooLarge<\/Code>/);
    assertNoStackTrace(text);
  });

  test('a malformed request line gets a 400, never a stack trace', { timeout: 120_000 }, async () => {
    const text = await rawSocket('THIS IS NOT HTTP\r\n\r\n');
    assert.match(text, /^HTTP\/1\.1 400 /);
    assertNoStackTrace(text);
  });

  test('invalid percent-encoding in the path is InvalidURI', { timeout: 120_000 }, async () => {
    for (const path of [`/${B}/bad%zzkey`, `/${B}/trunc%E2%82`, `/${B}/%`, '/%ff%fe']) {
      assertS3Error(await raw(t.endpoint, { path, auth: signed }), 400, 'InvalidURI');
      assertS3Error(await raw(t.endpoint, { path }), 400, 'InvalidURI');
    }
  });

  test('unknown and unsupported sub-resources', { timeout: 120_000 }, async () => {
    // Sub-resources AWS has but Cellar does not serve: NotImplemented, never a silent listing.
    for (const path of [
      `/${B}?inventory`,
      `/${B}?analytics`,
      `/${B}?metrics`,
      `/${B}/canary?torrent`,
      `/${B}/canary?restore`,
    ]) {
      assertS3Error(await raw(t.endpoint, { path, auth: signed }), 501, 'NotImplemented');
    }
    // Parameters S3 does not know are ignored, as on AWS.
    const listing = await raw(t.endpoint, { path: `/${B}?no-such-subresource=1`, auth: signed });
    assert.equal(listing.status, 200);
    assert.match(listing.text, /<ListBucketResult/);
  });

  test('unsupported methods are MethodNotAllowed', { timeout: 120_000 }, async () => {
    for (const [method, path] of [
      ['PATCH', `/${B}/canary`],
      ['POST', `/${B}/canary`],
      ['PUT', '/'],
      ['DELETE', '/'],
    ] as const) {
      assertS3Error(await raw(t.endpoint, { method, path, auth: signed }), 405, 'MethodNotAllowed');
    }
  });

  test('bad header values are the S3 errors AWS gives', { timeout: 120_000 }, async () => {
    const cases: [Record<string, string>, number, string][] = [
      [{ 'x-amz-storage-class': 'PLATINUM' }, 400, 'InvalidStorageClass'],
      [{ 'x-amz-website-redirect-location': 'ftp://x' }, 400, 'InvalidArgument'],
      [{ 'x-amz-checksum-crc32': 'not base64!' }, 400, 'InvalidRequest'],
      [
        { 'x-amz-checksum-crc32': 'AAAAAA==', 'x-amz-checksum-sha1': 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' },
        400,
        'InvalidRequest',
      ],
      [{ 'x-amz-meta-big': 'm'.repeat(2100) }, 400, 'MetadataTooLarge'],
    ];
    for (const [headers, status, code] of cases) {
      const res = await raw(t.endpoint, { method: 'PUT', path: `/${B}/bad-headers`, body: 'x', headers, auth: signed });
      assertS3Error(res, status, code);
    }
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: 'bad-headers' })), 'NotFound', 404);
  });

  test('a request to a missing bucket is NoSuchBucket with the bucket named', { timeout: 120_000 }, async () => {
    const res = await raw(t.endpoint, { path: '/no-such-bucket-zz/key', auth: signed });
    assertS3Error(res, 404, 'NoSuchBucket');
    assert.match(res.text, /<BucketName>no-such-bucket-zz<\/BucketName>/);
    assert.match(res.text, /<Resource>\/no-such-bucket-zz\/key<\/Resource>/);
  });

  test('dot segments are part of the key, not a path escape', { timeout: 120_000 }, async () => {
    const put = await raw(t.endpoint, { method: 'PUT', path: `/${B}/../../etc/passwd`, body: 'dots', auth: signed });
    assert.equal(put.status, 200, put.text);
    const got = await raw(t.endpoint, { path: `/${B}/../../etc/passwd`, auth: signed });
    assert.equal(got.text, 'dots');
    const list = await raw(t.endpoint, { path: `/${B}?prefix=..`, auth: signed });
    assert.match(list.text, /<Key>\.\.\/\.\.\/etc\/passwd<\/Key>/);
    await s3.send(new PutObjectCommand({ Bucket: B, Key: './x/../y', Body: 'sdk dots' }));
    const sdk = await raw(t.endpoint, { path: `/${B}/./x/../y`, auth: signed });
    assert.equal(sdk.text, 'sdk dots');
  });
});

describe('broken uploads', () => {
  test('a body shorter than Content-Length (client goes away) stores nothing', { timeout: 120_000 }, async () => {
    const url = new URL(`${t.endpoint}/${B}/truncated`);
    const headers = signV4({
      method: 'PUT',
      url,
      headers: { 'content-length': '1000' },
      payloadHash: 'UNSIGNED-PAYLOAD',
      accessKeyId: t.owner.accessKeyId,
      secretKey: t.owner.secretAccessKey,
      region: 'us-east-1',
      now: new Date(),
    });
    const head = `PUT /${B}/truncated HTTP/1.1\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n')}\r\n\r\n`;
    await rawSocket(head + 'only a few bytes', { endAfterWrite: true, waitMs: 1000 });
    await rawSocket(head + 'only a few bytes', { waitMs: 100 });
    await new Promise((r) => setTimeout(r, 200));
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: 'truncated' })), 'NotFound', 404);
    // The half-written temp files are gone too: the write did not hang waiting for bytes that never come.
    assert.deepEqual(readdirSync(path.join(t.cellar.config.dataDir, 'tmp')), []);
  });

  const framings: [string, string, string, string][] = [
    ['garbage chunk header', 'zz;not-a-chunk\r\nhello\r\n', '5', 'IncompleteBody'],
    ['a truncated chunk', '5\r\nhel', '5', 'IncompleteBody'],
    ['fewer bytes than x-amz-decoded-content-length', '5\r\nhello\r\n0\r\n\r\n', '6', 'IncompleteBody'],
    ['a declared trailer missing', '5\r\nhello\r\n0\r\n\r\n', '5', 'MalformedTrailerError'],
    ['a wrong trailing CRC32', '5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n', '5', 'BadDigest'],
  ];
  for (const [name, body, decodedLength, code] of framings) {
    test(`aws-chunked with ${name} is ${code} and stores nothing`, { timeout: 120_000 }, async () => {
      const res = await raw(t.endpoint, {
        method: 'PUT',
        path: `/${B}/bad-chunks`,
        body,
        headers: {
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': decodedLength,
          'x-amz-trailer': 'x-amz-checksum-crc32',
        },
        auth: { type: 'v4', addon: t.owner, payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' },
      });
      assertS3Error(res, 400, code);
      await rejects(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: 'bad-chunks' })), 'NotFound', 404);
    });
  }

  test('an upload over the maximum object size is EntityTooLarge, with or without Content-Length', {
    timeout: 120_000,
  }, async () => {
    const small = await startTestCellar({ maxObjectSize: 1000 });
    try {
      await small.client().send(new CreateBucketCommand({ Bucket: 'small' }));
      const declared = await raw(small.endpoint, {
        method: 'PUT',
        path: '/small/declared',
        body: 'x'.repeat(1001),
        auth: { type: 'v4', addon: small.owner, unsignedPayload: true },
      });
      assertS3Error(declared, 400, 'EntityTooLarge');
      const url = new URL(`${small.endpoint}/small/chunked`);
      const headers = signV4({
        method: 'PUT',
        url,
        headers: { 'transfer-encoding': 'chunked' },
        payloadHash: 'UNSIGNED-PAYLOAD',
        accessKeyId: small.owner.accessKeyId,
        secretKey: small.owner.secretAccessKey,
        region: 'us-east-1',
        now: new Date(),
      });
      const head = `PUT /small/chunked HTTP/1.1\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\r\n')}\r\n\r\n`;
      const text = await rawSocket(head + `258\r\n${'x'.repeat(600)}\r\n`.repeat(5) + '0\r\n\r\n', {
        port: small.port,
      });
      assert.match(text, /^HTTP\/1\.1 400 /);
      assert.match(text, /<Code>EntityTooLarge<\/Code>/);
      await rejects(
        () => small.client().send(new HeadObjectCommand({ Bucket: 'small', Key: 'chunked' })),
        'NotFound',
        404,
      );
      const ok = await raw(small.endpoint, {
        method: 'PUT',
        path: '/small/fits',
        body: 'x'.repeat(1000),
        auth: { type: 'v4', addon: small.owner },
      });
      assert.equal(ok.status, 200);
    } finally {
      await small.stop();
    }
  });

  /** A STREAMING-AWS4-HMAC-SHA256-PAYLOAD body (sigv4-streaming.html), optionally with one bad chunk signature. */
  function signedChunkedPut(
    key: string,
    data: Buffer,
    chunkSize: number,
    corrupt: boolean,
  ): Promise<Awaited<ReturnType<typeof raw>>> {
    const now = new Date();
    const sizes: number[] = [];
    for (let off = 0; off < data.length; off += chunkSize) sizes.push(Math.min(chunkSize, data.length - off));
    sizes.push(0);
    const encodedLength = sizes.reduce(
      (n, s) => n + s.toString(16).length + ';chunk-signature='.length + 64 + 4 + s,
      0,
    );
    const url = new URL(`${t.endpoint}/${B}/${key}`);
    const headers = signV4({
      method: 'PUT',
      url,
      headers: {
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(data.length),
        'content-length': String(encodedLength),
      },
      payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      accessKeyId: t.owner.accessKeyId,
      secretKey: t.owner.secretAccessKey,
      region: 'us-east-1',
      now,
    });
    const seed = /Signature=([0-9a-f]{64})/.exec(headers['authorization']!)![1]!;
    const amzDate = headers['x-amz-date']!;
    const scope = `${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
    const signingKey = deriveSigningKey(t.owner.secretAccessKey, amzDate.slice(0, 8), 'us-east-1', 's3');
    let previous = seed;
    let off = 0;
    const parts: Buffer[] = [];
    for (const [i, size] of sizes.entries()) {
      const chunk = data.subarray(off, off + size);
      off += size;
      let sig = chunkSignature({
        signingKey,
        amzDate,
        scope,
        previousSignature: previous,
        chunkSha256Hex: createHash('sha256').update(chunk).digest('hex'),
      });
      previous = sig;
      if (corrupt && i === 1) sig = sig.replace(/^./, (c) => (c === '0' ? '1' : '0'));
      parts.push(Buffer.from(`${size.toString(16)};chunk-signature=${sig}\r\n`), chunk, Buffer.from('\r\n'));
    }
    const body = Buffer.concat(parts);
    assert.equal(body.length, encodedLength);
    return raw(t.endpoint, { method: 'PUT', path: `/${B}/${key}`, headers, body });
  }

  test('a signed aws-chunked upload is stored exactly; one bad chunk signature stores nothing', {
    timeout: 120_000,
  }, async () => {
    const data = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
    const ok = await signedChunkedPut('signed-chunks', data, 64 * 1024, false);
    assert.equal(ok.status, 200, ok.text);
    const got = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'signed-chunks' }));
    assert.equal(got.ContentLength, data.length);
    const bytes = await raw(t.endpoint, { path: `/${B}/signed-chunks`, auth: signed });
    assert.equal(sha256Hex(bytes.body), sha256Hex(data));
    const bad = await signedChunkedPut('signed-chunks-bad', data, 64 * 1024, true);
    assertS3Error(bad, 403, 'SignatureDoesNotMatch');
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: 'signed-chunks-bad' })), 'NotFound', 404);
  });
});
