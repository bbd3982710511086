import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { Addon } from '#storage';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { assertS3Error, raw } from './helpers/raw.js';
import { rejects } from './helpers/s3-assert.js';

let t: TestCellar;
let s3: S3Client;
let other: Addon;
let s3other: S3Client;

before(async () => {
  t = await startTestCellar();
  s3 = t.client();
  other = t.newAddon('other');
  s3other = t.client(other);
});
after(() => t.stop());

describe('CreateBucket', () => {
  test('valid names are created and listed', { timeout: 120_000 }, async () => {
    for (const name of ['abc', 'my-bucket.v2', '1bucket-2', 'a'.repeat(63)]) {
      const out = await s3.send(new CreateBucketCommand({ Bucket: name }));
      assert.equal(out.Location, `/${name}`);
    }
    const list = await s3.send(new ListBucketsCommand({}));
    const names = list.Buckets!.map((b) => b.Name);
    for (const name of ['abc', 'my-bucket.v2', '1bucket-2', 'a'.repeat(63)]) assert.ok(names.includes(name), name);
  });

  test('invalid names are InvalidBucketName', { timeout: 120_000 }, async () => {
    const bad = [
      'my_bucket',
      'MyBucket',
      '192.168.1.10',
      'ab',
      'a'.repeat(64),
      '-abc',
      'abc-',
      'a..b',
      'a.-b',
      'xn--abc',
    ];
    for (const name of bad) {
      // The SDK validates some names client-side; the server must refuse every one of them itself.
      const res = await raw(t.endpoint, { method: 'PUT', path: `/${name}`, auth: { type: 'v4', addon: t.owner } });
      assertS3Error(res, 400, 'InvalidBucketName');
    }
    const list = await s3.send(new ListBucketsCommand({}));
    for (const name of bad) assert.ok(!list.Buckets!.some((b) => b.Name === name), name);
  });

  test('invalid name through the SDK', { timeout: 120_000 }, async () => {
    await rejects(() => s3.send(new CreateBucketCommand({ Bucket: 'under_score' })), 'InvalidBucketName', 400);
  });

  test('own name again is BucketAlreadyOwnedByYou, another add-on gets BucketAlreadyExists', {
    timeout: 120_000,
  }, async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'taken-name' }));
    await rejects(() => s3.send(new CreateBucketCommand({ Bucket: 'taken-name' })), 'BucketAlreadyOwnedByYou', 409);
    await rejects(() => s3other.send(new CreateBucketCommand({ Bucket: 'taken-name' })), 'BucketAlreadyExists', 409);
  });

  test('a CreateBucketConfiguration body is accepted', { timeout: 120_000 }, async () => {
    await s3.send(
      new CreateBucketCommand({
        Bucket: 'with-config',
        CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
      }),
    );
    const body =
      '<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>US</LocationConstraint></CreateBucketConfiguration>';
    const res = await raw(t.endpoint, {
      method: 'PUT',
      path: '/with-config-raw',
      body,
      auth: { type: 'v4', addon: t.owner },
    });
    assert.equal(res.status, 200, res.text);
    await s3.send(new HeadBucketCommand({ Bucket: 'with-config-raw' }));
  });

  test('a malformed CreateBucketConfiguration is MalformedXML and creates nothing', { timeout: 120_000 }, async () => {
    const res = await raw(t.endpoint, {
      method: 'PUT',
      path: '/bad-config',
      body: '<CreateBucketConfiguration><Loc',
      auth: { type: 'v4', addon: t.owner },
    });
    assertS3Error(res, 400, 'MalformedXML');
    await rejects(() => s3.send(new HeadBucketCommand({ Bucket: 'bad-config' })), 'NotFound', 404);
  });
});

describe('ListBuckets', () => {
  test("lists only the caller's buckets, Owner ID is the add-on id", { timeout: 120_000 }, async () => {
    await s3other.send(new CreateBucketCommand({ Bucket: 'others-bucket' }));
    const mine = await s3.send(new ListBucketsCommand({}));
    assert.equal(mine.Owner?.ID, t.owner.id);
    assert.equal(mine.Owner?.DisplayName, t.owner.name);
    assert.ok(!mine.Buckets!.some((b) => b.Name === 'others-bucket'));
    assert.ok(mine.Buckets!.every((b) => b.CreationDate instanceof Date && !Number.isNaN(b.CreationDate.getTime())));
    const theirs = await s3other.send(new ListBucketsCommand({}));
    assert.equal(theirs.Owner?.ID, other.id);
    assert.deepEqual(
      theirs.Buckets!.map((b) => b.Name),
      ['others-bucket'],
    );
  });

  test('anonymous ListBuckets is AccessDenied', { timeout: 120_000 }, async () => {
    assertS3Error(await raw(t.endpoint, { path: '/' }), 403, 'AccessDenied');
  });
});

describe('HeadBucket', () => {
  test("200 for own, 404 for missing, 403 for another add-on's", { timeout: 120_000 }, async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'head-me' }));
    const out = await s3.send(new HeadBucketCommand({ Bucket: 'head-me' }));
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.equal(out.BucketRegion, 'us-east-1');
    await rejects(() => s3.send(new HeadBucketCommand({ Bucket: 'no-such-bucket-here' })), 'NotFound', 404);
    await rejects(() => s3other.send(new HeadBucketCommand({ Bucket: 'head-me' })), null, 403);
  });
});

describe('DeleteBucket', () => {
  test('BucketNotEmpty until empty, then 204 and gone', { timeout: 120_000 }, async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'delete-me' }));
    await s3.send(new PutObjectCommand({ Bucket: 'delete-me', Key: 'x', Body: 'x' }));
    await rejects(() => s3.send(new DeleteBucketCommand({ Bucket: 'delete-me' })), 'BucketNotEmpty', 409);
    await s3.send(new DeleteObjectCommand({ Bucket: 'delete-me', Key: 'x' }));
    const out = await s3.send(new DeleteBucketCommand({ Bucket: 'delete-me' }));
    assert.equal(out.$metadata.httpStatusCode, 204);
    await rejects(() => s3.send(new HeadBucketCommand({ Bucket: 'delete-me' })), 'NotFound', 404);
    await rejects(() => s3.send(new DeleteBucketCommand({ Bucket: 'delete-me' })), 'NoSuchBucket', 404);
  });

  test('another add-on cannot delete my bucket', { timeout: 120_000 }, async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'not-yours' }));
    await rejects(() => s3other.send(new DeleteBucketCommand({ Bucket: 'not-yours' })), 'AccessDenied', 403);
    await s3.send(new HeadBucketCommand({ Bucket: 'not-yours' }));
  });

  test('a deleted name can be created again by anyone', { timeout: 120_000 }, async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'recycled' }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'recycled' }));
    await s3other.send(new CreateBucketCommand({ Bucket: 'recycled' }));
    await rejects(() => s3.send(new HeadBucketCommand({ Bucket: 'recycled' })), null, 403);
  });
});

describe('GetBucketLocation and GetBucketVersioning', () => {
  test('us-east-1 is the empty LocationConstraint', { timeout: 120_000 }, async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'located' }));
    const out = await s3.send(new GetBucketLocationCommand({ Bucket: 'located' }));
    assert.equal(out.LocationConstraint ?? '', '');
    const res = await raw(t.endpoint, { path: '/located?location', auth: { type: 'v4', addon: t.owner } });
    assert.equal(res.status, 200);
    assert.match(
      res.text,
      /<LocationConstraint xmlns="http:\/\/s3\.amazonaws\.com\/doc\/2006-03-01\/"\s*(\/>|><\/LocationConstraint>)/,
    );
    await rejects(() => s3.send(new GetBucketLocationCommand({ Bucket: 'missing-bucket-x' })), 'NoSuchBucket', 404);
    await rejects(() => s3other.send(new GetBucketLocationCommand({ Bucket: 'located' })), 'AccessDenied', 403);
  });

  test('a bucket that never had versioning has no Status', { timeout: 120_000 }, async () => {
    const out = await s3.send(new GetBucketVersioningCommand({ Bucket: 'located' }));
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.equal(out.Status, undefined);
    assert.equal(out.MFADelete, undefined);
  });
});

describe('virtual-hosted style', () => {
  test('bucket.<domain> reaches the same bucket with the SDK and SigV2', { timeout: 120_000 }, async () => {
    // *.localhost does not resolve everywhere: pin every lookup to the test server.
    const lookup = ((
      _host: string,
      opts: unknown,
      cb: (e: Error | null, a: string | { address: string; family: number }[], f?: number) => void,
    ) => {
      if ((opts as { all?: boolean }).all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
      else cb(null, '127.0.0.1', 4);
    }) as unknown as http.AgentOptions['lookup'];
    const vh = new S3Client({
      endpoint: `http://localhost:${t.port}`,
      region: 'us-east-1',
      forcePathStyle: false,
      credentials: { accessKeyId: t.owner.accessKeyId, secretAccessKey: t.owner.secretAccessKey },
      requestHandler: { httpAgent: new http.Agent({ lookup }) },
    });
    try {
      await vh.send(new CreateBucketCommand({ Bucket: 'vhost-bucket' }));
      await vh.send(new PutObjectCommand({ Bucket: 'vhost-bucket', Key: 'dir/file.txt', Body: 'hello vhost' }));
      const got = await s3.send(new GetObjectCommand({ Bucket: 'vhost-bucket', Key: 'dir/file.txt' }));
      assert.equal(await got.Body!.transformToString(), 'hello vhost');
      const v2 = await raw(t.endpoint, {
        path: '/dir/file.txt',
        headers: { host: `vhost-bucket.localhost:${t.port}` },
        auth: { type: 'v2', addon: t.owner, vhostBucket: 'vhost-bucket' },
      });
      assert.equal(v2.status, 200, v2.text);
      assert.equal(v2.text, 'hello vhost');
    } finally {
      vh.destroy();
    }
  });
});
