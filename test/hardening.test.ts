/**
 * Findings of the hardening probe (issue 12) through the real server and raw sockets: each test
 * names the finding it covers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CreateBucketCommand, PutBucketPolicyCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { signV4, UNSIGNED_PAYLOAD, type Addon } from '#storage';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { assertS3Error, raw, sha256Hex } from './helpers/raw.js';

let t: TestCellar;
let s3: S3Client;

before(async () => {
  t = await startTestCellar();
  s3 = t.client();
  await s3.send(new CreateBucketCommand({ Bucket: 'hard' }));
  await s3.send(new PutObjectCommand({ Bucket: 'hard', Key: 'k', Body: 'hello' }));
});
after(() => t.stop());

describe('F5: response-* overrides', () => {
  test('CR/LF in a signed response-content-disposition is InvalidArgument, nothing injected', {
    timeout: 10_000,
  }, async () => {
    for (const param of ['response-content-disposition', 'response-content-type', 'response-cache-control']) {
      const r = await raw(t.endpoint, {
        path: `/hard/k?${param}=attachment%0D%0AX-Injected%3A%201`,
        auth: { type: 'v4', addon: t.owner },
      });
      assertS3Error(r, 400, 'InvalidArgument');
      assert.equal(r.headers['x-injected'], undefined);
      assert.match(r.text, new RegExp(`<ArgumentName>${param}</ArgumentName>`));
    }
    const ok = await raw(t.endpoint, {
      path: '/hard/k?response-content-disposition=attachment',
      auth: { type: 'v4', addon: t.owner },
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['content-disposition'], 'attachment');
  });
});

describe('F7: website folder redirect', () => {
  test('a key starting with / never yields a protocol-relative Location', { timeout: 10_000 }, async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'site' }));
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'site',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::site/*' }],
        }),
      }),
    );
    const put = await raw(t.endpoint, {
      method: 'PUT',
      path: '/site//evil.example/index.html',
      body: 'not evil',
      auth: { type: 'v4', addon: t.owner },
    });
    assert.equal(put.status, 200, put.text);
    const web = (path: string) =>
      raw(t.endpoint, { path: '/', wirePath: path, headers: { host: `site.localhost:${t.port}` } });
    const r = await web('//evil.example');
    assert.equal(r.status, 302);
    const location = String(r.headers.location);
    assert.doesNotMatch(location, /^[/\\]{2}/, location);
    assert.equal(new URL(location, 'http://site.localhost/').host, 'site.localhost');
    const followed = await web(location);
    assert.equal(followed.status, 200);
    assert.equal(followed.text, 'not evil');
  });
});

/** Opens a raw connection, sends `head` (and nothing more), and collects what comes back until the server closes or `waitMs` passes. */
async function exchange(
  head: string | Buffer,
  opts: { port?: number; waitMs?: number; localAddress?: string; then?: (s: net.Socket) => void } = {},
): Promise<{ text: string; closed: boolean }> {
  const socket = net.connect({ host: '127.0.0.1', port: opts.port ?? t.port, localAddress: opts.localAddress });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(head);
  opts.then?.(socket);
  const closed = await Promise.race([
    once(socket, 'close').then(() => true),
    delay(opts.waitMs ?? 5000).then(() => false),
  ]);
  socket.destroy();
  return { text: Buffer.concat(chunks).toString('latin1'), closed };
}

function signedHead(
  method: string,
  path: string,
  headers: Record<string, string>,
  payloadHash = UNSIGNED_PAYLOAD,
  addon: Addon = t.owner,
  port = t.port,
): string {
  const url = {
    host: `127.0.0.1:${port}`,
    pathname: path.split('?')[0],
    search: path.includes('?') ? `?${path.split('?')[1]}` : '',
  } as URL;
  const signed = signV4({
    method,
    url,
    headers,
    payloadHash,
    accessKeyId: addon.accessKeyId,
    secretKey: addon.secretAccessKey,
    region: 'us-east-1',
    now: new Date(),
  });
  return `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n${Object.entries(signed)
    .filter(([k]) => k !== 'host')
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n`;
}

describe('F3: no body work before permission', () => {
  test('DeleteObjects by a caller no grant lets delete is refused before its body is read', {
    timeout: 15_000,
  }, async () => {
    const stranger = t.newAddon('stranger');
    const head = signedHead(
      'POST',
      '/hard?delete',
      { 'content-length': '2000000', 'content-md5': 'AAAAAAAAAAAAAAAAAAAAAA==' },
      UNSIGNED_PAYLOAD,
      stranger,
    );
    const r = await exchange(head);
    assert.match(r.text, /^HTTP\/1\.1 403 /, r.text || 'no answer without the body');
    assert.match(r.text, /<Code>AccessDenied<\/Code>/);
    const anon = await exchange(`POST /hard?delete HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 2000000\r\n\r\n`);
    assert.match(anon.text, /^HTTP\/1\.1 403 /, anon.text || 'no answer without the body');
  });
});

describe('F6: a body longer than its Content-Length', () => {
  test('the PUT is answered first and the connection closes; the surplus is no second answer', {
    timeout: 15_000,
  }, async () => {
    const head = signedHead('PUT', '/hard/exact', { 'content-length': '5' }, sha256Hex('hello'));
    const r = await exchange(`${head}helloGARBAGE-AFTER-THE-BODY\r\n\r\n`);
    assert.match(r.text, /^HTTP\/1\.1 200 /, r.text);
    assert.equal(r.text.match(/HTTP\/1\.1 \d{3}/g)?.length, 1, r.text);
    assert.equal(r.closed, true, 'the connection closes after the PUT answer');
    const got = await raw(t.endpoint, { path: '/hard/exact', auth: { type: 'v4', addon: t.owner } });
    assert.equal(got.text, 'hello');
  });
});

describe('F8: Expect', () => {
  test('100 Continue only after authentication and authorization', { timeout: 15_000 }, async () => {
    const stranger = t.newAddon('intruder');
    const refused = await exchange(
      signedHead(
        'PUT',
        '/hard/big',
        { 'content-length': '1000000', expect: '100-continue' },
        UNSIGNED_PAYLOAD,
        stranger,
      ),
    );
    assert.match(refused.text, /^HTTP\/1\.1 403 /, refused.text || 'no answer');
    assert.doesNotMatch(refused.text, /100 Continue/);
    const anon = await exchange(
      `PUT /hard/big HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 1000000\r\nexpect: 100-continue\r\n\r\n`,
    );
    assert.match(anon.text, /^HTTP\/1\.1 403 /, anon.text || 'no answer');
    // The owner is invited, sends, and gets the object stored.
    const socket = net.connect({ host: '127.0.0.1', port: t.port });
    await once(socket, 'connect');
    socket.write(signedHead('PUT', '/hard/continued', { 'content-length': '3', expect: '100-continue' }));
    const [first] = (await once(socket, 'data')) as [Buffer];
    assert.match(first.toString('latin1'), /^HTTP\/1\.1 100 Continue/);
    socket.write('abc');
    let text = first.toString('latin1');
    while (!/HTTP\/1\.1 200 /.test(text)) text += ((await once(socket, 'data')) as [Buffer])[0].toString('latin1');
    socket.destroy();
    assert.equal(
      (await raw(t.endpoint, { path: '/hard/continued', auth: { type: 'v4', addon: t.owner } })).text,
      'abc',
    );
  });

  test('another expectation gets an S3 error document', { timeout: 10_000 }, async () => {
    const r = await exchange(
      `PUT /hard/x HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 3\r\nexpect: something-else\r\n\r\n`,
    );
    assert.match(r.text, /^HTTP\/1\.1 417 /, r.text);
    assert.match(r.text, /content-type: application\/xml/i);
    assert.match(r.text, /<Error><Code>ExpectationFailed<\/Code>/);
  });
});

describe('F1: slow and silent clients', () => {
  let u: TestCellar;
  before(async () => {
    u = await startTestCellar({ headersTimeoutMs: 400, bodyIdleTimeoutMs: 400, bodyMinBytesPerSecond: 2000 });
    await u.client().send(new CreateBucketCommand({ Bucket: 'slow' }));
  });
  after(() => u.stop());
  const tmpFiles = (): string[] => readdirSync(path.join(u.cellar.config.dataDir, 'tmp'));
  async function noTempFileLeft(): Promise<void> {
    for (let i = 0; i < 50 && tmpFiles().length > 0; i++) await delay(100);
    assert.deepEqual(tmpFiles(), []);
  }

  test('headers never finished: 400 RequestTimeout, connection closed', { timeout: 15_000 }, async () => {
    const r = await exchange('GET /slow HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ', { port: u.port });
    assert.equal(r.closed, true, 'closed');
    assert.match(r.text, /^HTTP\/1\.1 400 /, r.text);
    assert.match(r.text, /<Code>RequestTimeout<\/Code>/);
    assert.equal((await exchange('', { port: u.port })).closed, true, 'a connection that never sends is closed too');
  });

  test('a body announced and never sent: 400 RequestTimeout, closed, no temp file left', {
    timeout: 15_000,
  }, async () => {
    const r = await exchange(
      signedHead('PUT', '/slow/never', { 'content-length': '100000' }, UNSIGNED_PAYLOAD, u.owner, u.port),
      { port: u.port },
    );
    assert.equal(r.closed, true, 'closed');
    assert.match(r.text, /^HTTP\/1\.1 400 /, r.text);
    assert.match(r.text, /<Code>RequestTimeout<\/Code>/);
    assert.match(r.text, /not read from or written to within the timeout period/);
    await noTempFileLeft();
  });

  test('a body trickled below the minimum rate: 400 RequestTimeout, closed, no temp file left', {
    timeout: 15_000,
  }, async () => {
    let timer: NodeJS.Timeout | undefined;
    const r = await exchange(
      signedHead('PUT', '/slow/trickle', { 'content-length': '100000' }, UNSIGNED_PAYLOAD, u.owner, u.port),
      {
        port: u.port,
        // 10 bytes every 50 ms: 200 B/s, never idle for a whole bodyIdleTimeoutMs.
        // biome-ignore lint/suspicious/noThenProperty: the helper's own option name; this object is never awaited.
        then: (s) => {
          timer = setInterval(() => s.writable && s.write('x'.repeat(10)), 50);
        },
      },
    );
    clearInterval(timer);
    assert.equal(r.closed, true, 'closed');
    assert.match(r.text, /^HTTP\/1\.1 400 /, r.text);
    assert.match(r.text, /<Code>RequestTimeout<\/Code>/);
    await noTempFileLeft();
  });

  test('a brisk upload and a slow reader of a download are not cut', { timeout: 30_000 }, async () => {
    const s3u = u.client();
    const body = Buffer.alloc(8 * 1024 * 1024, 7);
    await s3u.send(new PutObjectCommand({ Bucket: 'slow', Key: 'big', Body: body }));
    const got = await raw(u.endpoint, { path: '/slow/big', auth: { type: 'v4', addon: u.owner } });
    assert.equal(got.body.length, body.length);
  });

  test('a website GET announcing a body is answered without reading it, then closed', { timeout: 15_000 }, async () => {
    const r = await exchange(`GET / HTTP/1.1\r\nhost: slow.localhost:${u.port}\r\ncontent-length: 100000\r\n\r\n`, {
      port: u.port,
    });
    assert.match(r.text, /^HTTP\/1\.1 \d{3} /, r.text || 'no answer');
    assert.equal(r.closed, true, 'closed rather than reading the announced body');
  });
});

describe('F1: connection caps', () => {
  let c: TestCellar;
  before(async () => {
    c = await startTestCellar({ maxConnections: 6, maxConnectionsPerClient: 3 });
  });
  after(() => c.stop());

  async function open(localAddress: string): Promise<net.Socket> {
    const s = net.connect({ host: '127.0.0.1', port: c.port, localAddress });
    s.on('error', () => undefined);
    await once(s, 'connect');
    return s;
  }
  /** Whether the server answers a request on `s` (a refused connection is closed unanswered). */
  async function answers(s: net.Socket): Promise<boolean> {
    const data = new Promise<boolean>((resolve) => {
      s.once('data', () => resolve(true));
      s.once('close', () => resolve(false));
    });
    if (s.writable) s.write('GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    return data;
  }

  test('per client address and in total', { timeout: 20_000 }, async () => {
    const held: net.Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) held.push(await open('127.0.0.1'));
      const fourth = await open('127.0.0.1');
      held.push(fourth);
      assert.equal(await answers(fourth), false, 'a fourth connection from one address is refused');
      for (let i = 0; i < 3; i++) held.push(await open('127.0.0.2'));
      const seventh = await open('127.0.0.3');
      held.push(seventh);
      assert.equal(await answers(seventh), false, 'a seventh connection in all is refused');
      assert.equal(await answers(held[0]!), true, 'the first ones are served');
      assert.equal(await answers(held[4]!), true);
      held[0]!.destroy();
      await delay(100);
      const again = await open('127.0.0.1');
      held.push(again);
      assert.equal(await answers(again), true, 'a freed slot is usable again');
    } finally {
      for (const s of held) s.destroy();
    }
  });
});
