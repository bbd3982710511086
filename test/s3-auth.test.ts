import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { presignV4, type Addon } from '#storage';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { assertS3Error, errorCode, md5Base64, presignV2, raw } from './helpers/raw.js';
import { rejects } from './helpers/s3-assert.js';

let t: TestCellar;
let s3: S3Client;
let mallory: Addon;
let s3mallory: S3Client;
const B = 'private-bucket';
const MIN = 60_000;

function clientWith(accessKeyId: string, secretAccessKey: string, region = 'us-east-1'): S3Client {
  return new S3Client({
    endpoint: t.endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
}

before(async () => {
  t = await startTestCellar();
  s3 = t.client();
  mallory = t.newAddon('mallory');
  s3mallory = t.client(mallory);
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: 'secret.txt', Body: 'top secret' }));
  await s3mallory.send(new CreateBucketCommand({ Bucket: 'mallory-bucket' }));
});
after(() => t.stop());

describe('SigV4 header auth', () => {
  test('a wrong secret is SignatureDoesNotMatch', { timeout: 120_000 }, async () => {
    const bad = clientWith(t.owner.accessKeyId, 'wrong-secret-key-000000');
    try {
      await rejects(() => bad.send(new ListBucketsCommand({})), 'SignatureDoesNotMatch', 403);
      await rejects(
        () => bad.send(new PutObjectCommand({ Bucket: B, Key: 'forged', Body: 'x' })),
        'SignatureDoesNotMatch',
        403,
      );
    } finally {
      bad.destroy();
    }
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: 'forged' })), 'NotFound', 404);
  });

  test('an unknown access key is InvalidAccessKeyId', { timeout: 120_000 }, async () => {
    const ghost = clientWith('AKIDOESNOTEXIST0000', 'whatever-secret-0000');
    try {
      const e = await rejects(() => ghost.send(new ListBucketsCommand({})), 'InvalidAccessKeyId', 403);
      assert.match(e.message, /does not exist/);
    } finally {
      ghost.destroy();
    }
  });

  test('any signing region is accepted (DEVIATION in parse.ts)', { timeout: 120_000 }, async () => {
    const eu = clientWith(t.owner.accessKeyId, t.owner.secretAccessKey, 'eu-west-3');
    try {
      const out = await eu.send(new GetObjectCommand({ Bucket: B, Key: 'secret.txt' }));
      assert.equal(await out.Body!.transformToString(), 'top secret');
    } finally {
      eu.destroy();
    }
  });

  test('clock skew over 15 minutes is RequestTimeTooSkewed, under it is fine', { timeout: 120_000 }, async () => {
    for (const offset of [-20 * MIN, 20 * MIN]) {
      const res = await raw(t.endpoint, {
        path: `/${B}/secret.txt`,
        auth: { type: 'v4', addon: t.owner, now: new Date(Date.now() + offset) },
      });
      assertS3Error(res, 403, 'RequestTimeTooSkewed');
    }
    const ok = await raw(t.endpoint, {
      path: `/${B}/secret.txt`,
      auth: { type: 'v4', addon: t.owner, now: new Date(Date.now() - 10 * MIN) },
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.text, 'top secret');
  });

  test('a tampered request (other path, edited signed header, other body) is refused', {
    timeout: 120_000,
  }, async () => {
    const moved = await raw(t.endpoint, {
      path: `/${B}/secret.txt`,
      wirePath: `/${B}/a`,
      auth: { type: 'v4', addon: t.owner },
    });
    assertS3Error(moved, 403, 'SignatureDoesNotMatch');
    const edited = await raw(t.endpoint, {
      method: 'PUT',
      path: `/${B}/edited`,
      body: 'x',
      headers: { 'x-amz-meta-note': 'signed' },
      auth: { type: 'v4', addon: t.owner },
      afterSign: (h) => {
        h['x-amz-meta-note'] = 'edited';
      },
    });
    assertS3Error(edited, 403, 'SignatureDoesNotMatch');
    const unsignedHeader = await raw(t.endpoint, {
      method: 'PUT',
      path: `/${B}/edited`,
      body: 'x',
      auth: { type: 'v4', addon: t.owner },
      afterSign: (h) => {
        h['x-amz-meta-added'] = 'later';
      },
    });
    assertS3Error(unsignedHeader, 403, 'AccessDenied');
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: 'edited' })), 'NotFound', 404);
  });

  test('a malformed Authorization header is AuthorizationHeaderMalformed', { timeout: 120_000 }, async () => {
    const res = await raw(t.endpoint, {
      path: `/${B}/secret.txt`,
      headers: {
        authorization: 'AWS4-HMAC-SHA256 Credential=abc',
        'x-amz-date': '20240101T000000Z',
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      },
    });
    assertS3Error(res, 400, 'AuthorizationHeaderMalformed');
  });
});

describe('presigned URLs (SigV4 query)', () => {
  test('a presigned GET from @aws-sdk/s3-request-presigner works with plain fetch', { timeout: 120_000 }, async () => {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: B, Key: 'secret.txt' }), { expiresIn: 300 });
    assert.match(url, /X-Amz-Signature=/);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'top secret');
    assert.match(res.headers.get('etag')!, /^"[0-9a-f]{32}"$/);
  });

  test('a presigned GET with response-* overrides and an odd key', { timeout: 120_000 }, async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'dir/name with spaces+ü.txt', Body: 'odd' }));
    const url = await getSignedUrl(
      s3,
      new GetObjectCommand({
        Bucket: B,
        Key: 'dir/name with spaces+ü.txt',
        ResponseContentDisposition: 'attachment; filename="x.txt"',
      }),
      { expiresIn: 60 },
    );
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'odd');
    assert.equal(res.headers.get('content-disposition'), 'attachment; filename="x.txt"');
  });

  test('a presigned PUT works with plain fetch', { timeout: 120_000 }, async () => {
    const url = await getSignedUrl(
      s3,
      new PutObjectCommand({ Bucket: B, Key: 'uploaded-by-url', ContentType: 'text/plain' }),
      { expiresIn: 60 },
    );
    const res = await fetch(url, {
      method: 'PUT',
      body: 'via presigned put',
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'uploaded-by-url' }));
    assert.equal(await got.Body!.transformToString(), 'via presigned put');
    assert.equal(got.ContentType, 'text/plain');
  });

  test('an expired presigned URL is AccessDenied', { timeout: 120_000 }, async () => {
    const sdkUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: B, Key: 'secret.txt' }), {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 10 * MIN),
    });
    const a = await fetch(sdkUrl);
    assert.equal(a.status, 403);
    const aText = await a.text();
    assert.equal(errorCode(aText), 'AccessDenied');
    assert.match(aText, /expired/i);
    const url = presignV4({
      method: 'GET',
      url: new URL(`${t.endpoint}/${B}/secret.txt`),
      accessKeyId: t.owner.accessKeyId,
      secretKey: t.owner.secretAccessKey,
      region: 'us-east-1',
      now: new Date(Date.now() - 2 * 3600_000),
      expiresSeconds: 3600,
    });
    const b = await fetch(url);
    assert.equal(b.status, 403);
    assert.equal(errorCode(await b.text()), 'AccessDenied');
    const fresh = presignV4({
      method: 'GET',
      url: new URL(`${t.endpoint}/${B}/secret.txt`),
      accessKeyId: t.owner.accessKeyId,
      secretKey: t.owner.secretAccessKey,
      region: 'us-east-1',
      now: new Date(),
      expiresSeconds: 3600,
    });
    assert.equal((await fetch(fresh)).status, 200);
  });

  test('a URL presigned for a week plus one second is refused', { timeout: 120_000 }, async () => {
    const url = presignV4({
      method: 'GET',
      url: new URL(`${t.endpoint}/${B}/secret.txt`),
      accessKeyId: t.owner.accessKeyId,
      secretKey: t.owner.secretAccessKey,
      region: 'us-east-1',
      now: new Date(),
      expiresSeconds: 7 * 24 * 3600 + 1,
    });
    const res = await fetch(url);
    assert.equal(res.status, 400);
    assert.equal(errorCode(await res.text()), 'AuthorizationQueryParametersError');
  });

  test('a presigned URL edited to another key or with a wrong signature is SignatureDoesNotMatch', {
    timeout: 120_000,
  }, async () => {
    const url = new URL(
      await getSignedUrl(s3, new GetObjectCommand({ Bucket: B, Key: 'secret.txt' }), { expiresIn: 60 }),
    );
    const moved = new URL(url);
    moved.pathname = `/${B}/a`;
    const a = await fetch(moved);
    assert.equal(a.status, 403);
    assert.equal(errorCode(await a.text()), 'SignatureDoesNotMatch');
    url.searchParams.set('X-Amz-Signature', '0'.repeat(64));
    const b = await fetch(url);
    assert.equal(b.status, 403);
    assert.equal(errorCode(await b.text()), 'SignatureDoesNotMatch');
  });
});

describe('SigV2', () => {
  test('header-signed PUT, GET, list and sub-resource requests work', { timeout: 120_000 }, async () => {
    const put = await raw(t.endpoint, {
      method: 'PUT',
      path: `/${B}/v2%20file.txt`,
      body: 'sigv2 body',
      headers: { 'content-type': 'text/plain', 'content-md5': md5Base64('sigv2 body'), 'x-amz-meta-who': 'v2' },
      auth: { type: 'v2', addon: t.owner },
    });
    assert.equal(put.status, 200, put.text);
    const get = await raw(t.endpoint, { path: `/${B}/v2%20file.txt`, auth: { type: 'v2', addon: t.owner } });
    assert.equal(get.status, 200, get.text);
    assert.equal(get.text, 'sigv2 body');
    assert.equal(get.headers['x-amz-meta-who'], 'v2');
    const list = await raw(t.endpoint, { path: `/${B}?prefix=v2`, auth: { type: 'v2', addon: t.owner } });
    assert.equal(list.status, 200);
    assert.match(list.text, /<Key>v2 file\.txt<\/Key>/);
    const loc = await raw(t.endpoint, { path: `/${B}?location`, auth: { type: 'v2', addon: t.owner } });
    assert.equal(loc.status, 200);
    assert.match(loc.text, /LocationConstraint/);
    const del = await raw(t.endpoint, {
      method: 'DELETE',
      path: `/${B}/v2%20file.txt`,
      auth: { type: 'v2', addon: t.owner },
    });
    assert.equal(del.status, 204);
  });

  test('x-amz-date instead of Date', { timeout: 120_000 }, async () => {
    const res = await raw(t.endpoint, {
      path: `/${B}/secret.txt`,
      headers: { 'x-amz-date': new Date().toUTCString() },
      auth: { type: 'v2', addon: t.owner },
    });
    assert.equal(res.status, 200, res.text);
  });

  test('a wrong secret, an unknown key and clock skew are refused', { timeout: 120_000 }, async () => {
    const wrong = await raw(t.endpoint, {
      path: `/${B}/secret.txt`,
      auth: { type: 'v2', addon: { accessKeyId: t.owner.accessKeyId, secretAccessKey: 'nope-nope-nope' } },
    });
    assertS3Error(wrong, 403, 'SignatureDoesNotMatch');
    const ghost = await raw(t.endpoint, {
      path: `/${B}/secret.txt`,
      auth: { type: 'v2', addon: { accessKeyId: 'GHOSTKEY', secretAccessKey: 'nope-nope-nope' } },
    });
    assertS3Error(ghost, 403, 'InvalidAccessKeyId');
    const skewed = await raw(t.endpoint, {
      path: `/${B}/secret.txt`,
      auth: { type: 'v2', addon: t.owner, now: new Date(Date.now() - 16 * MIN) },
    });
    assertS3Error(skewed, 403, 'RequestTimeTooSkewed');
  });

  test('query-signed (s3cmd signurl style) GET works and expires', { timeout: 120_000 }, async () => {
    const path = `/${B}/secret.txt`;
    const ok = await fetch(presignV2(t.endpoint, 'GET', path, t.owner, Math.floor(Date.now() / 1000) + 60));
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'top secret');
    const expired = await fetch(presignV2(t.endpoint, 'GET', path, t.owner, Math.floor(Date.now() / 1000) - 60));
    assert.equal(expired.status, 403);
    assert.equal(errorCode(await expired.text()), 'AccessDenied');
    const forged = await fetch(
      presignV2(
        t.endpoint,
        'GET',
        path,
        { accessKeyId: t.owner.accessKeyId, secretAccessKey: 'bad-secret-xx' },
        Math.floor(Date.now() / 1000) + 60,
      ),
    );
    assert.equal(forged.status, 403);
    assert.equal(errorCode(await forged.text()), 'SignatureDoesNotMatch');
  });
});

describe('isolation between add-ons', () => {
  test('another add-on cannot read, write, list or delete in a private bucket', { timeout: 120_000 }, async () => {
    await rejects(() => s3mallory.send(new GetObjectCommand({ Bucket: B, Key: 'secret.txt' })), 'AccessDenied', 403);
    await rejects(() => s3mallory.send(new HeadObjectCommand({ Bucket: B, Key: 'secret.txt' })), null, 403);
    await rejects(
      () => s3mallory.send(new PutObjectCommand({ Bucket: B, Key: 'planted', Body: 'x' })),
      'AccessDenied',
      403,
    );
    await rejects(() => s3mallory.send(new ListObjectsV2Command({ Bucket: B })), 'AccessDenied', 403);
    await rejects(() => s3mallory.send(new DeleteObjectCommand({ Bucket: B, Key: 'secret.txt' })), 'AccessDenied', 403);
    await rejects(() => s3mallory.send(new DeleteBucketCommand({ Bucket: B })), 'AccessDenied', 403);
    await rejects(() => s3mallory.send(new HeadBucketCommand({ Bucket: B })), null, 403);
    // Refused before its body is read: no grant could let mallory delete anything (issue 12, F3).
    await rejects(
      () => s3mallory.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'secret.txt' }] } })),
      'AccessDenied',
      403,
    );
    // Nothing changed.
    const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'secret.txt' }));
    assert.equal(await got.Body!.transformToString(), 'top secret');
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: 'planted' })), 'NotFound', 404);
  });

  test("a missing key in someone else's bucket is AccessDenied, not NoSuchKey", { timeout: 120_000 }, async () => {
    await rejects(
      () => s3mallory.send(new GetObjectCommand({ Bucket: B, Key: 'does-not-exist' })),
      'AccessDenied',
      403,
    );
  });

  test("the owner has no implicit access to another add-on's bucket either", { timeout: 120_000 }, async () => {
    await rejects(() => s3.send(new ListObjectsV2Command({ Bucket: 'mallory-bucket' })), 'AccessDenied', 403);
    await rejects(
      () => s3.send(new PutObjectCommand({ Bucket: 'mallory-bucket', Key: 'x', Body: 'x' })),
      'AccessDenied',
      403,
    );
  });
});

describe('anonymous requests to a private bucket', () => {
  const cases: [string, string, string | undefined][] = [
    ['GET', `/${B}/secret.txt`, undefined],
    ['GET', `/${B}/does-not-exist`, undefined],
    ['GET', `/${B}`, undefined],
    ['GET', `/${B}?list-type=2`, undefined],
    ['GET', `/${B}?location`, undefined],
    ['PUT', `/${B}/anon-put`, 'anonymous'],
    ['DELETE', `/${B}/secret.txt`, undefined],
    ['DELETE', `/${B}`, undefined],
    ['PUT', '/anon-new-bucket', undefined],
  ];
  for (const [method, path, body] of cases) {
    test(`${method} ${path} is AccessDenied`, { timeout: 120_000 }, async () => {
      const res = await raw(t.endpoint, { method, path, ...(body === undefined ? {} : { body }) });
      assertS3Error(res, 403, 'AccessDenied');
    });
  }

  test('HEAD on object and bucket is 403 without a body', { timeout: 120_000 }, async () => {
    for (const path of [`/${B}/secret.txt`, `/${B}`]) {
      const res = await raw(t.endpoint, { method: 'HEAD', path });
      assertS3Error(res, 403, 'AccessDenied', 'HEAD');
      assert.equal(res.body.length, 0);
    }
  });

  test('nothing was changed by the anonymous attempts', { timeout: 120_000 }, async () => {
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket: B, Key: 'anon-put' })), 'NotFound', 404);
    await rejects(() => s3.send(new HeadBucketCommand({ Bucket: 'anon-new-bucket' })), 'NotFound', 404);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'secret.txt' }))).ContentLength, 10);
  });
});
