/**
 * HTTP/2 in upstream mode, end to end: one Ceph RGW (scripts/ceph/up.sh), one gateway with an
 * HTTPS listener holding an operator certificate (openssl, CELLAR_CERTS_DIR). The SDK over
 * NodeHttp2Handler puts (aws-chunked, trailing CRC32), uploads in parts, reads whole and ranged,
 * gets an S3 error, and streams 64 MiB each way through http-proxy to RGW; curl --http2 and
 * --http1.1 see the same website answers; a stream reset mid-upload leaves nothing on RGW.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { NodeHttp2Handler } from '@smithy/node-http-handler';
import { startCeph, type Rgw } from './helpers/ceph.js';
import { startGateway, type Gateway } from './helpers/gateway.js';
import { selfSignedLeaf } from './helpers/pebble.js';
import { assertH2LikeH1, curlHttps, type CurlReply } from './helpers/curl-https.js';
import { run } from './helpers/run.js';
import { freePort } from './helpers/server.js';

const DOMAIN = 'cellar.test';
const BUCKET = `h2-${process.pid}`;
const SITE = `h2site-${process.pid}`;
const MiB = 1024 * 1024;
const CSS = 'h1 { color: rgb(10, 20, 30); }\n' + '/* padding */\n'.repeat(400);

interface Addon {
  accessKeyId: string;
  secretAccessKey: string;
}

let rgw: Rgw;
let gw: Gateway;
let httpsPort: number;
let work: string;
let certFile: string;
let ca: string;
let owner: Addon;
let s3: S3Client;

/** The service domain resolves nowhere: TLS and :authority name it, the socket goes to 127.0.0.1. */
const localLookup = ((_host: string, opts: unknown, cb: unknown) => {
  const done = (typeof opts === 'function' ? opts : cb) as (...a: unknown[]) => void;
  const all = typeof opts === 'object' && opts !== null && (opts as { all?: boolean }).all === true;
  if (all) done(null, [{ address: '127.0.0.1', family: 4 }]);
  else done(null, '127.0.0.1', 4);
}) as never;

/**
 * The SDK's flexible-checksums middleware marks a streamed aws-chunked body `Transfer-Encoding:
 * chunked` whatever the protocol, and node:http2 refuses to send that field (RFC 9113 §8.2.2):
 * HTTP/2 frames the body itself, so the field is dropped on the way out, as an h2 client must.
 */
class H2Handler extends NodeHttp2Handler {
  override handle(...args: Parameters<NodeHttp2Handler['handle']>): ReturnType<NodeHttp2Handler['handle']> {
    delete args[0].headers['transfer-encoding'];
    return super.handle(...args);
  }
}

function sdkOverH2(): S3Client {
  return new S3Client({
    endpoint: `https://${DOMAIN}:${httpsPort}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: owner,
    requestHandler: new H2Handler({
      nodeHttp2ConnectOptions: { ca, lookup: localLookup } as http2.SecureClientSessionOptions,
    }),
  });
}

/** Straight to RGW (no gateway): what RGW holds. */
function sdkToRgw(): S3Client {
  return new S3Client({ endpoint: rgw.url, region: 'us-east-1', forcePathStyle: true, credentials: owner });
}

/** `size` pseudo-random bytes in 1 MiB chunks, and their SHA-256 once read. */
function source(size: number): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  const block = randomBytes(MiB);
  let sent = 0;
  const stream = new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(MiB, size - sent);
      // Each chunk differs (its offset mixed in), so a repeated or dropped chunk changes the hash.
      const chunk = Buffer.from(block.subarray(0, n));
      chunk.writeUInt32BE(sent / MiB, 0);
      sent += n;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, sha256: () => hash.digest('hex') };
}

async function bytesOf(body: unknown): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body as Readable) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

before(
  async () => {
    work = mkdtempSync(path.join(tmpdir(), 'cellar-upstream-h2-'));
    const certs = path.join(work, 'certs', 'operator');
    mkdirSync(certs, { recursive: true });
    certFile = selfSignedLeaf(certs, DOMAIN, 2, [`DNS:*.${DOMAIN}`]).certPath;
    ca = readFileSync(certFile, 'utf8');
    [rgw, httpsPort] = await Promise.all([startCeph(), freePort()]);
    gw = await startGateway(rgw, {
      CELLAR_DOMAIN: DOMAIN,
      CELLAR_HTTPS_PORT: String(httpsPort),
      CELLAR_CERTS_DIR: path.join(work, 'certs'),
      CELLAR_SYSTEM_BUCKET: `fleet-system-${process.pid}`,
      CELLAR_UPSTREAM_TIMEOUT_MS: '10000',
    });
    const created = await gw.cli(['addon', 'create', '--name', 'h2-owner', '--json']);
    assert.equal(created.code, 0, created.stderr);
    owner = JSON.parse(created.stdout) as Addon;
    s3 = sdkOverH2();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new CreateBucketCommand({ Bucket: SITE }));
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: SITE,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${SITE}/*` }],
        }),
      }),
    );
    await s3.send(new PutObjectCommand({ Bucket: SITE, Key: 'site.css', Body: CSS, ContentType: 'text/css' }));
  },
  { timeout: 720_000 },
);

after(
  async () => {
    s3?.destroy();
    await gw?.stop();
    await rgw?.down();
    if (work) rmSync(work, { recursive: true, force: true });
  },
  { timeout: 120_000 },
);

test('SDK over h2: PutObject with the default trailing CRC32, GetObject bytes equal, a ranged GET', {
  timeout: 120_000,
}, async () => {
  const body = randomBytes(300_000);
  // A stream body of known length: the SDK sends aws-chunked with a trailing x-amz-checksum-crc32.
  const put = await s3.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: 'a/b.bin', Body: Readable.from([body]), ContentLength: body.length }),
  );
  // RGW's ETag is the MD5 of what it stored: the gateway decoded the aws-chunked framing.
  assert.equal(put.ETag, `"${createHash('md5').update(body).digest('hex')}"`);
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'a/b.bin' }));
  assert.equal(got.ContentLength, body.length);
  assert.ok((await bytesOf(got.Body)).equals(body));
  const ranged = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'a/b.bin', Range: 'bytes=1000-1999' }));
  assert.equal(ranged.$metadata.httpStatusCode, 206);
  assert.equal(ranged.ContentRange, `bytes 1000-1999/${body.length}`);
  assert.ok((await bytesOf(ranged.Body)).equals(body.subarray(1000, 2000)));
  // RGW holds the same bytes.
  const direct = sdkToRgw();
  try {
    const r = await direct.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'a/b.bin' }));
    assert.ok((await bytesOf(r.Body)).equals(body));
  } finally {
    direct.destroy();
  }
});

test('SDK over h2: multipart upload', { timeout: 180_000 }, async () => {
  const parts = [randomBytes(5 * MiB), randomBytes(MiB + 7)];
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'multi.bin' }));
  assert.ok(UploadId);
  const etags: string[] = [];
  for (const [i, part] of parts.entries()) {
    const r = await s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: 'multi.bin', UploadId, PartNumber: i + 1, Body: part }),
    );
    etags.push(r.ETag!);
  }
  const done = await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET,
      Key: 'multi.bin',
      UploadId,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }),
  );
  assert.equal(done.$metadata.httpStatusCode, 200);
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'multi.bin' }));
  assert.match(got.ETag ?? '', /-2"$/);
  assert.ok((await bytesOf(got.Body)).equals(Buffer.concat(parts)));
});

test('SDK over h2: a missing key is NoSuchKey (404, S3 XML from RGW)', { timeout: 60_000 }, async () => {
  await assert.rejects(
    () => s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'nothing-here' })),
    (e: unknown) => {
      assert.ok(e instanceof S3ServiceException);
      assert.equal(e.name, 'NoSuchKey');
      assert.equal(e.$metadata.httpStatusCode, 404);
      return true;
    },
  );
});

test('SDK over h2: 64 MiB streamed up and down through the proxy', { timeout: 600_000 }, async () => {
  const size = 64 * MiB;
  const src = source(size);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'big.bin', Body: src.stream, ContentLength: size }));
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big.bin' }));
  assert.equal(got.ContentLength, size);
  const hash = createHash('sha256');
  let read = 0;
  for await (const c of got.Body as Readable) {
    hash.update(c as Buffer);
    read += (c as Buffer).length;
  }
  assert.equal(read, size);
  assert.equal(hash.digest('hex'), src.sha256());
});

function curl(version: '--http2' | '--http1.1', p: string, extra: string[] = []): Promise<CurlReply> {
  return curlHttps({ version, host: `${SITE}.${DOMAIN}`, port: httpsPort, caFile: certFile, path: p, extra });
}

test('website of a public bucket: curl --http2 gets the same bytes, ETag and 304 as --http1.1', {
  timeout: 180_000,
}, async () => {
  await assertH2LikeH1(curl, '/site.css', CSS);
});

test('S3 answers proxied from RGW over h2 carry no connection-specific headers', { timeout: 60_000 }, async () => {
  // curl refuses a response with Connection or Transfer-Encoding over HTTP/2 (RFC 9113 §8.2.2);
  // a presigned GET goes through http-proxy, which copies RGW's own headers.
  const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: SITE, Key: 'site.css' }), { expiresIn: 600 });
  const r = await run(
    'curl',
    ['-sS', '--http2', '--cacert', certFile, '--resolve', `${DOMAIN}:${httpsPort}:127.0.0.1`, '-D', '-', url],
    { timeoutMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^HTTP\/2 200 ?\r\n/);
  assert.doesNotMatch(r.stdout.slice(0, r.stdout.indexOf('\r\n\r\n')), /^(connection|transfer-encoding|keep-alive):/im);
  assert.ok(r.stdout.endsWith(CSS));
});

/**
 * A presigned PUT of `mib` MiB over a raw HTTP/2 stream: the whole body then END_STREAM, or half
 * of it then RST_STREAM(CANCEL). Node ends a reset stream's body as if it were complete; the
 * gateway must instead cut its request to RGW.
 */
async function rawPut(
  key: string,
  mib: number,
  finish: 'end' | 'reset',
): Promise<{ status: number; rstCode: number; error: string }> {
  // No flexible checksum in the URL: the presigner would otherwise sign the empty body's CRC32.
  const signer = new S3Client({
    endpoint: `https://${DOMAIN}:${httpsPort}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: owner,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  const url = new URL(
    await getSignedUrl(signer, new PutObjectCommand({ Bucket: BUCKET, Key: key, ContentLength: mib * MiB }), {
      expiresIn: 600,
    }),
  );
  signer.destroy();
  const session = http2.connect(`https://127.0.0.1:${httpsPort}`, { ca, servername: DOMAIN });
  let error = '';
  session.on('error', (e: Error) => {
    error ||= `session: ${e.message}`;
  });
  try {
    const stream = session.request(
      {
        ':method': 'PUT',
        ':path': url.pathname + url.search,
        ':authority': url.host,
        ':scheme': 'https',
        'content-length': String(mib * MiB),
      },
      { endStream: false },
    );
    let status = 0;
    stream.once('response', (h) => {
      status = Number(h[':status']);
    });
    const closed = new Promise<number>((resolve) => stream.once('close', () => resolve(stream.rstCode)));
    stream.on('error', (e: Error) => {
      error ||= e.message;
    });
    stream.resume();
    for (let i = 0; i < (finish === 'end' ? mib : mib / 2) && !stream.closed; i++)
      if (!stream.write(randomBytes(MiB))) await Promise.race([new Promise((r) => stream.once('drain', r)), closed]);
    if (finish === 'end') stream.end();
    else {
      // The bytes reach RGW through the proxy before the reset (a short reset would prove less).
      await new Promise((r) => setTimeout(r, 1000));
      stream.close(http2.constants.NGHTTP2_CANCEL);
    }
    const rstCode = await closed;
    return { status, rstCode, error };
  } finally {
    session.close();
  }
}

test('a stream reset mid-upload leaves no object on RGW', { timeout: 180_000 }, async () => {
  const direct = sdkToRgw();
  try {
    // The same upload ended normally is stored: the reset below is what keeps RGW empty.
    const whole = await rawPut('whole.bin', 4, 'end');
    assert.equal(whole.status, 200, JSON.stringify(whole));
    const head = await direct.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'whole.bin' }));
    assert.equal(head.ContentLength, 4 * MiB);

    const reset = await rawPut('reset.bin', 8, 'reset');
    assert.equal(reset.rstCode, http2.constants.NGHTTP2_CANCEL, JSON.stringify(reset));
    // The gateway cuts its request to RGW, which then drops the partial body; a moment for that
    // to happen before RGW is asked (the state is asserted, not how fast it was reached).
    await new Promise((r) => setTimeout(r, 3000));
    const l = await direct.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'reset' }));
    assert.deepEqual(l.Contents ?? [], []);
    await assert.rejects(
      () => direct.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'reset.bin' })),
      (e: unknown) => (e as S3ServiceException).$metadata?.httpStatusCode === 404,
    );
  } finally {
    direct.destroy();
  }
  // The client's next requests are served as before.
  const after = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'a/b.bin' }));
  assert.equal(after.ContentLength, 300_000);
});

test('the gateway logged no internal error meanwhile', { timeout: 5_000 }, () => {
  assert.deepEqual(
    gw
      .stderr()
      .split('\n')
      .filter((l) => l.includes('"level":"error"')),
    [],
  );
});
