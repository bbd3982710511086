/**
 * Findings of the hardening probe (issue 12) through the real server and raw sockets: each test
 * names the finding it covers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateBucketCommand, PutBucketPolicyCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
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
