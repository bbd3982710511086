/**
 * HTTP/2 on the HTTPS listener, over real TLS sockets with node:http2 and the AWS SDK's HTTP/2
 * handler: the website and the S3 API answer as over HTTP/1.1, large bodies stream both ways
 * in bounded memory, a reset upload keeps nothing, and sessions are bounded.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import https from 'node:https';
import http2 from 'node:http2';
import path from 'node:path';
import tls from 'node:tls';
import { gunzipSync } from 'node:zlib';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { NodeHttp2Handler } from '@smithy/node-http-handler';
import {
  connect,
  DOMAIN,
  getFrame,
  parseFrames,
  PREFACE,
  request,
  signed,
  startHttpsCellar,
  type HttpsCellar,
} from './helpers/h2.js';

const CSS = 'body { color: rgb(1, 2, 3); }\n'.repeat(200);

async function publicBucket(t: HttpsCellar, bucket: string): Promise<void> {
  const s3 = t.client();
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(
    new PutBucketPolicyCommand({
      Bucket: bucket,
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${bucket}/*` }],
      }),
    }),
  );
}

function sdkOverH2(t: HttpsCellar): S3Client {
  return new S3Client({
    endpoint: `https://${DOMAIN}:${t.httpsPort}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: t.owner.accessKeyId, secretAccessKey: t.owner.secretAccessKey },
    requestHandler: new NodeHttp2Handler({
      // DOMAIN resolves nowhere: the SDK's URL names it (TLS and :authority), the socket goes to 127.0.0.1.
      nodeHttp2ConnectOptions: { ca: t.ca, lookup: localLookup } as http2.SecureClientSessionOptions,
    }),
  });
}

const localLookup = ((_host: string, opts: unknown, cb: unknown) => {
  const done = (typeof opts === 'function' ? opts : cb) as (...a: unknown[]) => void;
  const all = typeof opts === 'object' && opts !== null && (opts as { all?: boolean }).all === true;
  if (all) done(null, [{ address: '127.0.0.1', family: 4 }]);
  else done(null, '127.0.0.1', 4);
}) as never;

function protocolCount(t: HttpsCellar, protocol: string): Promise<number> {
  return t.cellar.obs.metrics.registry
    .getSingleMetric('cellar_requests_by_protocol_total')!
    .get()
    .then((m) => m.values.filter((v) => v.labels.protocol === protocol).reduce((n, v) => n + v.value, 0));
}

function rssSampler(): { peak: () => number; stop: () => void } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  return { peak: () => peak, stop: () => clearInterval(timer) };
}

describe('website and S3 API over HTTP/2', () => {
  let t: HttpsCellar;
  const site = `web.${DOMAIN}`;
  before(async () => {
    t = await startHttpsCellar();
    await publicBucket(t, 'web');
    const s3 = t.client();
    await s3.send(
      new PutObjectCommand({ Bucket: 'web', Key: 'index.html', Body: '<h1>hi</h1>', ContentType: 'text/html' }),
    );
    await s3.send(new PutObjectCommand({ Bucket: 'web', Key: 'style.css', Body: CSS, ContentType: 'text/css' }));
  });
  after(() => t.stop());

  test('website GET: ALPN h2, bytes, ETag, 304, Range 206, gzip, no connection-specific fields', {
    timeout: 60_000,
  }, async () => {
    const s = await connect(t, site);
    try {
      assert.equal(s.alpnProtocol, 'h2');
      const authority = `${site}:${t.httpsPort}`;
      const get = (p: string, h: Record<string, string> = {}) =>
        request(s, { ':method': 'GET', ':path': p, ':authority': authority, ...h });
      const r = await get('/');
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), '<h1>hi</h1>');
      assert.match(String(r.headers.etag), /^"[0-9a-f]{32}"$/);
      for (const h of ['connection', 'keep-alive', 'transfer-encoding', 'upgrade'])
        assert.equal(r.headers[h], undefined, h);
      const again = await get('/');
      assert.equal(again.body.toString(), '<h1>hi</h1>');
      const inm = await get('/', { 'if-none-match': String(r.headers.etag) });
      assert.equal(inm.status, 304);
      assert.equal(inm.body.length, 0);
      const range = await get('/style.css', { range: 'bytes=5-9' });
      assert.equal(range.status, 206);
      assert.equal(range.headers['content-range'], `bytes 5-9/${CSS.length}`);
      assert.equal(range.body.toString(), CSS.slice(5, 10));
      const gz = await get('/style.css', { 'accept-encoding': 'gzip' });
      assert.equal(gz.status, 200);
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.equal(gunzipSync(gz.body).toString(), CSS);
      // A host that is not the :authority makes the request malformed (RFC 9113 §8.3.1).
      const mixed = await get('/', { host: `other.${DOMAIN}` });
      assert.equal(mixed.status, 400);
    } finally {
      s.close();
    }
  });

  test('HTTP/1.1 clients still get the same answer on the HTTPS listener', { timeout: 60_000 }, async () => {
    const r = await new Promise<{ version: string; status: number; etag: unknown; body: string }>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: t.httpsPort,
          servername: site,
          ca: t.ca,
          path: '/',
          headers: { host: `${site}:${t.httpsPort}` },
          agent: false,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d));
          res.on('end', () =>
            resolve({ version: res.httpVersion, status: res.statusCode!, etag: res.headers.etag, body }),
          );
        },
      );
      req.on('error', reject).end();
    });
    assert.deepEqual([r.version, r.status, r.body], ['1.1', 200, '<h1>hi</h1>']);
    assert.match(String(r.etag), /^"[0-9a-f]{32}"$/);
  });

  test('S3 API through the AWS SDK over HTTP/2: signed :authority, PUT, GET, list, delete', {
    timeout: 60_000,
  }, async () => {
    const before = await protocolCount(t, 'HTTP/2');
    const s3 = sdkOverH2(t);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'sdk' }));
      const body = randomBytes(100_000);
      const put = await s3.send(new PutObjectCommand({ Bucket: 'sdk', Key: 'a/b.bin', Body: body }));
      assert.equal(put.ETag, `"${createHash('md5').update(body).digest('hex')}"`);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'sdk', Key: 'a/b.bin' }));
      assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), body);
      const list = await s3.send(new ListObjectsV2Command({ Bucket: 'sdk' }));
      assert.deepEqual(
        list.Contents?.map((o) => o.Key),
        ['a/b.bin'],
      );
      await s3.send(new DeleteObjectCommand({ Bucket: 'sdk', Key: 'a/b.bin' }));
      assert.ok((await protocolCount(t, 'HTTP/2')) >= before + 5, 'the SDK spoke HTTP/2');
    } finally {
      s3.destroy();
    }
  });

  test('a bad signature over HTTP/2 is the S3 error document, not a reset', { timeout: 60_000 }, async () => {
    const s = await connect(t);
    try {
      const h = signed(t.owner, 'GET', `${DOMAIN}:${t.httpsPort}`, '/web/index.html');
      h.authorization = String(h.authorization).replace(/Signature=[0-9a-f]{4}/, 'Signature=0000');
      const r = await request(s, h);
      assert.equal(r.status, 403);
      assert.match(r.body.toString(), /<Code>SignatureDoesNotMatch<\/Code>/);
    } finally {
      s.close();
    }
  });
});

describe('request bodies the handler decides on', () => {
  let t: HttpsCellar;
  before(async () => {
    t = await startHttpsCellar();
    await publicBucket(t, 'web');
    await t
      .client()
      .send(new PutObjectCommand({ Bucket: 'web', Key: 'index.html', Body: 'hi', ContentType: 'text/html' }));
  });
  after(() => t.stop());

  function expectContinue(
    s: http2.ClientHttp2Session,
    headers: http2.OutgoingHttpHeaders,
    body: Buffer,
  ): Promise<{ continued: boolean; status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const st = s.request({ ...headers, expect: '100-continue' }, { endStream: false });
      let continued = false;
      let status = 0;
      let text = '';
      st.once('continue', () => {
        continued = true;
        st.end(body);
      });
      st.once('response', (h) => (status = Number(h[':status'])));
      st.setEncoding('utf8').on('data', (d: string) => (text += d));
      st.once('end', () => resolve({ continued, status, body: text }));
      st.once('error', reject);
    });
  }

  test('Expect: 100-continue over HTTP/2: 100 only once the request is authorized', { timeout: 60_000 }, async () => {
    const s = await connect(t);
    const authority = `${DOMAIN}:${t.httpsPort}`;
    try {
      const body = Buffer.from('continued body');
      const ok = await expectContinue(
        s,
        signed(t.owner, 'PUT', authority, '/web/c.txt', { 'content-length': String(body.length) }),
        body,
      );
      assert.deepEqual([ok.continued, ok.status], [true, 200]);
      const stranger = t.newAddon('stranger');
      const denied = await expectContinue(
        s,
        signed(stranger, 'PUT', authority, '/web/d.txt', { 'content-length': String(body.length) }),
        body,
      );
      assert.deepEqual([denied.continued, denied.status], [false, 403]);
      assert.match(denied.body, /<Code>AccessDenied<\/Code>/);
      const head = await request(s, signed(t.owner, 'HEAD', authority, '/web/d.txt'));
      assert.equal(head.status, 404);
    } finally {
      s.close();
    }
  });

  test('a GET with a body it never finishes is answered, then its stream is closed', { timeout: 60_000 }, async () => {
    const s = await connect(t, `web.${DOMAIN}`);
    try {
      const st = s.request(
        { ':method': 'GET', ':path': '/', ':authority': `web.${DOMAIN}:${t.httpsPort}`, 'content-length': '100000' },
        { endStream: false },
      );
      st.write(Buffer.alloc(1000));
      let status = 0;
      let text = '';
      st.once('response', (h) => (status = Number(h[':status'])));
      st.setEncoding('utf8').on('data', (d: string) => (text += d));
      await new Promise<void>((resolve) => st.once('end', () => resolve()));
      assert.deepEqual([status, text], [200, 'hi']);
      // RST_STREAM(NO_ERROR) after the answer tells the client to stop sending (RFC 9113 §8.1).
      await new Promise<void>((resolve) => (st.closed ? resolve() : st.once('close', () => resolve())));
      assert.equal(st.rstCode, http2.constants.NGHTTP2_NO_ERROR);
      // The session is still good for the next request.
      const next = await request(s, { ':method': 'GET', ':path': '/', ':authority': `web.${DOMAIN}:${t.httpsPort}` });
      assert.equal(next.status, 200);
    } finally {
      s.close();
    }
  });
});

describe('large bodies over HTTP/2', () => {
  let t: HttpsCellar;
  before(async () => {
    t = await startHttpsCellar();
    await t.client().send(new CreateBucketCommand({ Bucket: 'big' }));
  });
  after(() => t.stop());

  test('a 256 MiB PUT and GET stream in bounded memory', { timeout: 600_000 }, async () => {
    const size = 256 * 1024 * 1024;
    const chunk = randomBytes(1024 * 1024);
    const s = await connect(t);
    const authority = `${DOMAIN}:${t.httpsPort}`;
    const sampler = rssSampler();
    const base = process.memoryUsage().rss;
    try {
      async function* body(): AsyncGenerator<Buffer> {
        for (let sent = 0; sent < size; sent += chunk.length) yield chunk;
      }
      const md5 = createHash('md5');
      for (let sent = 0; sent < size; sent += chunk.length) md5.update(chunk);
      const put = await request(
        s,
        signed(t.owner, 'PUT', authority, '/big/blob', { 'content-length': String(size) }),
        body(),
      );
      assert.equal(put.status, 200, put.body.toString());
      assert.equal(put.headers.etag, `"${md5.digest('hex')}"`);
      // The download is hashed as it arrives, never held.
      const got = await new Promise<{ status: number; bytes: number; md5: string }>((resolve, reject) => {
        const st = s.request(signed(t.owner, 'GET', authority, '/big/blob'));
        const h = createHash('md5');
        let bytes = 0;
        let status = 0;
        st.once('response', (hd) => (status = Number(hd[':status'])));
        st.on('data', (c: Buffer) => {
          bytes += c.length;
          h.update(c);
        });
        st.once('end', () => resolve({ status, bytes, md5: h.digest('hex') }));
        st.once('error', reject);
      });
      assert.equal(got.status, 200);
      assert.equal(got.bytes, size);
      assert.equal(`"${got.md5}"`, put.headers.etag);
    } finally {
      sampler.stop();
      s.close();
    }
    const growth = sampler.peak() - base;
    assert.ok(growth < 160 * 1024 * 1024, `RSS grew by ${Math.round(growth / 1048576)} MiB for a 256 MiB body`);
  });

  test('a stream reset mid-upload leaves no object and no temp file', { timeout: 120_000 }, async () => {
    const s = await connect(t);
    const authority = `${DOMAIN}:${t.httpsPort}`;
    const tmp = path.join(t.cellar.config.dataDir, 'tmp');
    try {
      const st = s.request(signed(t.owner, 'PUT', authority, '/big/cut', { 'content-length': String(8 << 20) }), {
        endStream: false,
      });
      st.on('error', () => undefined);
      st.write(randomBytes(1 << 20));
      // Wait until the server is writing the body to a temp file, then cut the stream.
      const deadline = Date.now() + 60_000;
      while (readdirSync(tmp).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(readdirSync(tmp).length > 0, 'the upload reached storage');
      st.close(http2.constants.NGHTTP2_CANCEL);
      while (readdirSync(tmp).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(readdirSync(tmp), []);
      const head = await request(s, signed(t.owner, 'HEAD', authority, '/big/cut'));
      assert.equal(head.status, 404);
      // The session survives the reset: other streams still work.
      const ok = await request(s, signed(t.owner, 'GET', authority, '/big?list-type=2'));
      assert.equal(ok.status, 200);
      assert.doesNotMatch(ok.body.toString(), /<Key>cut<\/Key>/);
    } finally {
      s.close();
    }
  });
});

describe('HTTP/2 session limits', () => {
  let t: HttpsCellar;
  before(async () => {
    t = await startHttpsCellar({
      http2MaxConcurrentStreams: 2,
      http2IdleTimeoutMs: 500,
      http2MaxStreamsPerSecond: 5,
      headersTimeoutMs: 1000,
      bodyIdleTimeoutMs: 1000,
    });
    await publicBucket(t, 'web');
    await t
      .client()
      .send(new PutObjectCommand({ Bucket: 'web', Key: 'index.html', Body: 'x', ContentType: 'text/html' }));
  });
  after(() => t.stop());

  test('the session advertises the stream cap; streams beyond it are refused', { timeout: 60_000 }, async () => {
    const s = await connect(t);
    await new Promise((r) => (s.remoteSettings.maxConcurrentStreams === 2 ? r(null) : s.once('remoteSettings', r)));
    assert.equal(s.remoteSettings.maxConcurrentStreams, 2);
    s.close();
    // A client ignoring the setting: ten streams in one flight.
    const frames = await new Promise<ReturnType<typeof parseFrames>['frames']>((resolve, reject) => {
      const sock = tls.connect({
        host: '127.0.0.1',
        port: t.httpsPort,
        servername: `web.${DOMAIN}`,
        ca: t.ca,
        ALPNProtocols: ['h2'],
      });
      let buf: Buffer = Buffer.alloc(0);
      const all: ReturnType<typeof parseFrames>['frames'] = [];
      sock.once('secureConnect', () => {
        const streams = Array.from({ length: 10 }, (_, i) => getFrame(1 + 2 * i, `web.${DOMAIN}`));
        sock.write(Buffer.concat([PREFACE, ...streams]));
      });
      sock.on('data', (d: Buffer) => {
        const p = parseFrames(Buffer.concat([buf, d]));
        buf = p.rest;
        all.push(...p.frames);
        // Every stream answered one way or the other, or the connection told to go away.
        const settled = new Set(all.filter((f) => f.type === 1 || f.type === 3).map((f) => f.streamId));
        if (settled.size >= 10 || all.some((f) => f.type === 7)) {
          sock.destroy();
          resolve(all);
        }
      });
      sock.once('error', reject);
      sock.once('close', () => resolve(all));
    });
    const answered = new Set(frames.filter((f) => f.type === 1).map((f) => f.streamId));
    const refused = frames.filter((f) => f.type === 3 || f.type === 7);
    assert.ok(answered.size <= 2, `${answered.size} streams answered`);
    assert.ok(refused.length > 0, 'the excess was refused (RST_STREAM or GOAWAY)');
  });

  test('a header section over 16 KiB resets the stream, as HTTP/1.1 refuses it with 400', {
    timeout: 60_000,
  }, async () => {
    const s = await connect(t, `web.${DOMAIN}`);
    try {
      // The limit holds once the client acknowledged the server's SETTINGS (sent with its own).
      await new Promise((r) => (s.remoteSettings.maxConcurrentStreams === 2 ? r(null) : s.once('remoteSettings', r)));
      const authority = `web.${DOMAIN}:${t.httpsPort}`;
      const st = s.request({ ':method': 'GET', ':path': '/', ':authority': authority, 'x-big': 'x'.repeat(20 * 1024) });
      st.on('error', () => undefined);
      st.resume();
      await new Promise((r) => st.once('close', r));
      assert.equal(st.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      const ok = await request(s, { ':method': 'GET', ':path': '/', ':authority': authority, 'x-small': 'y' });
      assert.equal(ok.status, 200);
    } finally {
      s.close();
    }
  });

  test('an idle session is closed with GOAWAY', { timeout: 60_000 }, async () => {
    const s = await connect(t, `web.${DOMAIN}`);
    const r = await request(s, { ':method': 'GET', ':path': '/', ':authority': `web.${DOMAIN}:${t.httpsPort}` });
    assert.equal(r.status, 200);
    const code = await new Promise<number>((resolve) => s.once('goaway', (c: number) => resolve(c)));
    assert.equal(code, http2.constants.NGHTTP2_NO_ERROR);
    await new Promise((r) => (s.closed ? r(null) : s.once('close', r)));
    assert.ok(s.closed || s.destroyed);
  });

  test('a session that never opens a stream is closed', { timeout: 60_000 }, async () => {
    const s = await connect(t, `web.${DOMAIN}`);
    const code = await new Promise<number>((resolve) => s.once('goaway', (c: number) => resolve(c)));
    assert.equal(code, http2.constants.NGHTTP2_NO_ERROR);
    s.destroy();
  });

  test('a session opening streams faster than the rate is told to go away', { timeout: 60_000 }, async () => {
    const s = await connect(t, `web.${DOMAIN}`);
    s.on('error', () => undefined);
    // Within the stream cap (the client queues the rest), so only the rate can stop them.
    await new Promise((r) => (s.remoteSettings.maxConcurrentStreams === 2 ? r(null) : s.once('remoteSettings', r)));
    const goaway = new Promise<number>((resolve) => s.once('goaway', (c: number) => resolve(c)));
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        request(s, { ':method': 'GET', ':path': '/', ':authority': `web.${DOMAIN}:${t.httpsPort}` }),
      ),
    );
    assert.equal(await goaway, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    const ok = results.filter((r) => r.status === 'fulfilled' && r.value.status === 200).length;
    assert.ok(ok >= 1 && ok < 20, `${ok} of 20 streams served`);
    s.destroy();
  });

  test('a body that stops is answered 400 RequestTimeout on its stream', { timeout: 60_000 }, async () => {
    const s = await connect(t);
    try {
      const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const st = s.request(
          signed(t.owner, 'PUT', `${DOMAIN}:${t.httpsPort}`, '/web/slow', { 'content-length': '1000' }),
          { endStream: false },
        );
        let status = 0;
        let body = '';
        st.once('response', (h) => (status = Number(h[':status'])));
        st.setEncoding('utf8').on('data', (d: string) => (body += d));
        st.once('end', () => resolve({ status, body }));
        st.once('error', reject);
        st.write(Buffer.alloc(10));
      });
      assert.equal(r.status, 400);
      assert.match(r.body, /<Code>RequestTimeout<\/Code>/);
    } finally {
      s.close();
    }
  });
});
