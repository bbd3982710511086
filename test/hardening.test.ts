/**
 * Findings of the hardening probe (issue 12) through the real server and raw sockets: each test
 * names the finding it covers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { CreateBucketCommand, PutBucketPolicyCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { signV4, UNSIGNED_PAYLOAD, type Addon } from '#storage';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { assertS3Error, raw } from './helpers/raw.js';

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
  test('CR/LF in a signed response-content-disposition is InvalidArgument, nothing injected', { timeout: 10_000 }, async () => {
    for (const param of ['response-content-disposition', 'response-content-type', 'response-cache-control']) {
      const r = await raw(t.endpoint, { path: `/hard/k?${param}=attachment%0D%0AX-Injected%3A%201`, auth: { type: 'v4', addon: t.owner } });
      assertS3Error(r, 400, 'InvalidArgument');
      assert.equal(r.headers['x-injected'], undefined);
      assert.match(r.text, new RegExp(`<ArgumentName>${param}</ArgumentName>`));
    }
    const ok = await raw(t.endpoint, { path: '/hard/k?response-content-disposition=attachment', auth: { type: 'v4', addon: t.owner } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['content-disposition'], 'attachment');
  });
});

describe('F7: website folder redirect', () => {
  test('a key starting with / never yields a protocol-relative Location', { timeout: 10_000 }, async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'site' }));
    await s3.send(new PutBucketPolicyCommand({
      Bucket: 'site',
      Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::site/*' }] }),
    }));
    const put = await raw(t.endpoint, { method: 'PUT', path: '/site//evil.example/index.html', body: 'not evil', auth: { type: 'v4', addon: t.owner } });
    assert.equal(put.status, 200, put.text);
    const web = (path: string) => raw(t.endpoint, { path: '/', wirePath: path, headers: { host: `site.localhost:${t.port}` } });
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
async function exchange(head: string | Buffer, opts: { waitMs?: number; localAddress?: string; then?: (s: net.Socket) => void } = {}): Promise<{ text: string; closed: boolean }> {
  const socket = net.connect({ host: '127.0.0.1', port: t.port, localAddress: opts.localAddress });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(head);
  opts.then?.(socket);
  const closed = await Promise.race([once(socket, 'close').then(() => true), delay(opts.waitMs ?? 5000).then(() => false)]);
  socket.destroy();
  return { text: Buffer.concat(chunks).toString('latin1'), closed };
}

function signedHead(method: string, path: string, headers: Record<string, string>, payloadHash = UNSIGNED_PAYLOAD, addon: Addon = t.owner): string {
  const url = { host: `127.0.0.1:${t.port}`, pathname: path.split('?')[0], search: path.includes('?') ? `?${path.split('?')[1]}` : '' } as URL;
  const signed = signV4({ method, url, headers, payloadHash, accessKeyId: addon.accessKeyId, secretKey: addon.secretAccessKey, region: 'us-east-1', now: new Date() });
  return `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1:${t.port}\r\n${Object.entries(signed).filter(([k]) => k !== 'host').map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
}

describe('F3: no body work before permission', () => {
  test('DeleteObjects by a caller no grant lets delete is refused before its body is read', { timeout: 15_000 }, async () => {
    const stranger = t.newAddon('stranger');
    const head = signedHead('POST', '/hard?delete', { 'content-length': '2000000', 'content-md5': 'AAAAAAAAAAAAAAAAAAAAAA==' }, UNSIGNED_PAYLOAD, stranger);
    const r = await exchange(head);
    assert.match(r.text, /^HTTP\/1\.1 403 /, r.text || 'no answer without the body');
    assert.match(r.text, /<Code>AccessDenied<\/Code>/);
    const anon = await exchange(`POST /hard?delete HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 2000000\r\n\r\n`);
    assert.match(anon.text, /^HTTP\/1\.1 403 /, anon.text || 'no answer without the body');
  });
});
