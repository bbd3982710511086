/**
 * S3 Object Lock with the current AWS SDK: bucket configuration, retention and legal hold per
 * version, the lock headers of writes and reads, deletes refused under lock, the governance
 * bypass and its permission, and AWS's errors for each.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  GetBucketVersioningCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  HeadObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { isStorageError, type Addon } from '#storage';
import { bucketVersioning } from '../src/admin/buckets.js';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { multipartBody, signedV4Fields } from './helpers/post-form.js';
import { assertS3Error, md5Base64, raw, type RawRequest } from './helpers/raw.js';
import { rejects } from './helpers/s3-assert.js';

const T = { timeout: 60_000 };
const DAY = 24 * 3600 * 1000;
let t: TestCellar;
let s3: S3Client;
let other: Addon;
let n = 0;

before(async () => {
  t = await startTestCellar();
  s3 = t.client();
  other = t.newAddon('lock-other');
});
after(() => t.stop());

/** A fresh bucket created with Object Lock (and a default retention when given). */
async function lockedBucket(rule?: { Mode: 'GOVERNANCE' | 'COMPLIANCE'; Days?: number; Years?: number }) {
  const Bucket = `locked-${++n}`;
  await s3.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true }));
  if (rule)
    await s3.send(
      new PutObjectLockConfigurationCommand({
        Bucket,
        ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: rule } },
      }),
    );
  return Bucket;
}

async function plainBucket() {
  const Bucket = `plain-${++n}`;
  await s3.send(new CreateBucketCommand({ Bucket }));
  return Bucket;
}

const inDays = (d: number) => new Date(Math.floor((Date.now() + d * DAY) / 1000) * 1000);
const owner = () => ({ type: 'v4' as const, addon: t.owner });

/** Puts a version and returns its id (`null` until the bucket keeps versions). */
async function putVersion(Bucket: string, Key: string, extra: Partial<PutObjectCommand['input']> = {}) {
  const res = await s3.send(new PutObjectCommand({ Bucket, Key, Body: `body of ${Key}`, ...extra }));
  return res.VersionId ?? 'null';
}

const governance = (Bucket: string, Key: string, VersionId: string, until: Date, bypass = false) =>
  s3.send(
    new PutObjectRetentionCommand({
      Bucket,
      Key,
      VersionId,
      Retention: { Mode: 'GOVERNANCE', RetainUntilDate: until },
      BypassGovernanceRetention: bypass || undefined,
    }),
  );

describe('bucket configuration', T, () => {
  test(
    'CreateBucket with x-amz-bucket-object-lock-enabled turns Object Lock on; other buckets have none',
    T,
    async () => {
      const locked = await lockedBucket();
      const got = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: locked }));
      assert.deepEqual(got.ObjectLockConfiguration, { ObjectLockEnabled: 'Enabled' });
      const plain = await plainBucket();
      await rejects(
        () => s3.send(new GetObjectLockConfigurationCommand({ Bucket: plain })),
        'ObjectLockConfigurationNotFoundError',
        404,
      );
    },
  );

  test('PutObjectLockConfiguration sets and replaces the default retention', T, async () => {
    const Bucket = await lockedBucket({ Mode: 'GOVERNANCE', Days: 3 });
    let got = await s3.send(new GetObjectLockConfigurationCommand({ Bucket }));
    assert.deepEqual(got.ObjectLockConfiguration, {
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 3 } },
    });
    await s3.send(
      new PutObjectLockConfigurationCommand({
        Bucket,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Years: 1 } },
        },
      }),
    );
    got = await s3.send(new GetObjectLockConfigurationCommand({ Bucket }));
    assert.deepEqual(got.ObjectLockConfiguration?.Rule?.DefaultRetention, { Mode: 'COMPLIANCE', Years: 1 });
    // Without a Rule the default retention goes; Object Lock stays on.
    await s3.send(
      new PutObjectLockConfigurationCommand({ Bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } }),
    );
    got = await s3.send(new GetObjectLockConfigurationCommand({ Bucket }));
    assert.deepEqual(got.ObjectLockConfiguration, { ObjectLockEnabled: 'Enabled' });
  });

  test('AWS validation: MalformedXML, InvalidArgument, and a Content-MD5 or checksum', T, async () => {
    const Bucket = await lockedBucket();
    const put = (xml: string, md5 = true) =>
      raw(t.endpoint, {
        method: 'PUT',
        path: `/${Bucket}?object-lock`,
        body: xml,
        headers: md5 ? { 'content-md5': md5Base64(xml) } : {},
        auth: owner(),
      });
    const rule = (inner: string) =>
      `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>${inner}</DefaultRetention></Rule></ObjectLockConfiguration>`;
    const cases: Array<[string, string, number, string]> = [
      ['days and years', rule('<Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years>'), 400, 'MalformedXML'],
      ['zero days', rule('<Mode>GOVERNANCE</Mode><Days>0</Days>'), 400, 'InvalidArgument'],
      ['negative years', rule('<Mode>GOVERNANCE</Mode><Years>-1</Years>'), 400, 'InvalidArgument'],
      ['invalid mode', rule('<Mode>invalid</Mode><Years>1</Years>'), 400, 'MalformedXML'],
      [
        'Disabled',
        '<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled></ObjectLockConfiguration>',
        400,
        'MalformedXML',
      ],
    ];
    for (const [name, xml, status, code] of cases) {
      const res = await put(xml);
      assert.equal(res.status, status, `${name}: ${res.text}`);
      assertS3Error(res, status, code, 'PUT');
    }
    const noMd5 = await put(rule('<Mode>GOVERNANCE</Mode><Days>1</Days>'), false);
    assertS3Error(noMd5, 400, 'InvalidRequest', 'PUT');
    assert.match(noMd5.text, /Content-Md5/);
    const crc = await raw(t.endpoint, {
      method: 'PUT',
      path: `/${Bucket}?object-lock`,
      body: rule('<Mode>GOVERNANCE</Mode><Days>1</Days>'),
      headers: { 'x-amz-checksum-crc32': crc32Of(rule('<Mode>GOVERNANCE</Mode><Days>1</Days>')) },
      auth: owner(),
    });
    assert.equal(crc.status, 200, crc.text);
  });

  test(
    'a bucket with Object Lock is versioned for good: suspending is InvalidBucketState, from S3 or the CLI',
    T,
    async () => {
      const Bucket = await lockedBucket();
      assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, 'Enabled');
      const e = await rejects(
        () => s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Suspended' } })),
        'InvalidBucketState',
        409,
      );
      assert.match(e.message, /Object Lock configuration is present/);
      assert.throws(
        () => bucketVersioning(t.cellar.storage, Bucket, 'off'),
        (err: unknown) => isStorageError(err) && err.code === 'InvalidBucketState',
      );
      await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
      assert.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, 'Enabled');
    },
  );

  test(
    'Object Lock can be enabled on an existing bucket once versioning is Enabled, as AWS allows today',
    T,
    async () => {
      const Bucket = await plainBucket();
      await putVersion(Bucket, 'before');
      await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
      await s3.send(
        new PutObjectLockConfigurationCommand({
          Bucket,
          ObjectLockConfiguration: {
            ObjectLockEnabled: 'Enabled',
            Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } },
          },
        }),
      );
      const v = await putVersion(Bucket, 'after');
      assert.notEqual(v, 'null');
      assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'after' }))).ObjectLockMode, 'GOVERNANCE');
      // The null version written before can be locked too.
      await governance(Bucket, 'before', 'null', inDays(1));
      await rejects(
        () => s3.send(new DeleteObjectCommand({ Bucket, Key: 'before', VersionId: 'null' })),
        'AccessDenied',
        403,
      );
    },
  );

  test('enabling Object Lock on an existing bucket needs versioning Enabled: InvalidBucketState', T, async () => {
    const Bucket = await plainBucket();
    await rejects(
      () =>
        s3.send(
          new PutObjectLockConfigurationCommand({ Bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled' } }),
        ),
      'InvalidBucketState',
      409,
    );
    await rejects(
      () => s3.send(new GetObjectLockConfigurationCommand({ Bucket })),
      'ObjectLockConfigurationNotFoundError',
      404,
    );
  });
});

describe('retention and legal hold on writes', T, () => {
  test(
    'PutObject lock headers are stored and returned by HEAD, GET, GetObjectRetention and GetObjectLegalHold',
    T,
    async () => {
      const Bucket = await lockedBucket();
      const until = inDays(2);
      const VersionId = await putVersion(Bucket, 'a', {
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: until,
        ObjectLockLegalHoldStatus: 'ON',
      });
      const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'a' }));
      assert.equal(head.ObjectLockMode, 'COMPLIANCE');
      assert.equal(head.ObjectLockRetainUntilDate?.getTime(), until.getTime());
      assert.equal(head.ObjectLockLegalHoldStatus, 'ON');
      const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'a' }));
      assert.equal(got.ObjectLockMode, 'COMPLIANCE');
      await got.Body?.transformToString();
      const r = await s3.send(new GetObjectRetentionCommand({ Bucket, Key: 'a', VersionId }));
      assert.deepEqual(r.Retention, { Mode: 'COMPLIANCE', RetainUntilDate: until });
      const h = await s3.send(new GetObjectLegalHoldCommand({ Bucket, Key: 'a', VersionId }));
      assert.deepEqual(h.LegalHold, { Status: 'ON' });
    },
  );

  test('the bucket default retention applies to new versions the request does not lock', T, async () => {
    const Bucket = await lockedBucket({ Mode: 'GOVERNANCE', Days: 1 });
    const t0 = Date.now();
    await putVersion(Bucket, 'd');
    const t1 = Date.now();
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'd' }));
    assert.equal(head.ObjectLockMode, 'GOVERNANCE');
    const until = head.ObjectLockRetainUntilDate!.getTime();
    assert.ok(until >= t0 + DAY - 1000 && until <= t1 + DAY + 1000, `retain until ${head.ObjectLockRetainUntilDate}`);
    await putVersion(Bucket, 'e', { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: inDays(5) });
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'e' }))).ObjectLockMode, 'COMPLIANCE');
  });

  test('lock headers on a bucket without Object Lock: InvalidRequest, nothing stored', T, async () => {
    const Bucket = await plainBucket();
    await rejects(
      () => putVersion(Bucket, 'x', { ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: inDays(1) }),
      'InvalidRequest',
      400,
    );
    await rejects(() => putVersion(Bucket, 'x', { ObjectLockLegalHoldStatus: 'ON' }), 'InvalidRequest', 400);
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket, Key: 'x' })), null, 404);
  });

  test('bad lock headers: InvalidArgument with AWS messages', T, async () => {
    const Bucket = await lockedBucket();
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ 'x-amz-object-lock-mode': 'GOVERNANCE' }, /must both be supplied/],
      [{ 'x-amz-object-lock-retain-until-date': inDays(1).toISOString() }, /must both be supplied/],
      [
        { 'x-amz-object-lock-mode': 'FOREVER', 'x-amz-object-lock-retain-until-date': inDays(1).toISOString() },
        /Unknown wormMode directive/,
      ],
      [
        { 'x-amz-object-lock-mode': 'GOVERNANCE', 'x-amz-object-lock-retain-until-date': '2001-01-01T00:00:00Z' },
        /must be in the future/,
      ],
      [{ 'x-amz-object-lock-legal-hold': 'maybe' }, /Legal Hold must be either of (&apos;|')ON/],
    ];
    for (const [headers, message] of cases) {
      const res = await raw(t.endpoint, {
        method: 'PUT',
        path: `/${Bucket}/bad`,
        body: 'x',
        headers: { ...headers, 'content-md5': md5Base64('x') },
        auth: owner(),
      });
      assertS3Error(res, 400, 'InvalidArgument', 'PUT');
      assert.match(res.text, message);
    }
  });

  test(
    'writes with lock parameters or into a bucket with default retention need Content-MD5 or a checksum',
    T,
    async () => {
      const Bucket = await lockedBucket();
      const lockHeaders = {
        'x-amz-object-lock-mode': 'GOVERNANCE',
        'x-amz-object-lock-retain-until-date': inDays(1).toISOString(),
      };
      const put = (bucket: string, key: string, headers: Record<string, string>) =>
        raw(t.endpoint, { method: 'PUT', path: `/${bucket}/${key}`, body: 'payload', headers, auth: owner() });
      const refused = await put(Bucket, 'm', lockHeaders);
      assertS3Error(refused, 400, 'InvalidRequest', 'PUT');
      assert.match(
        refused.text,
        /Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters/,
      );
      assert.equal((await put(Bucket, 'm', { ...lockHeaders, 'content-md5': md5Base64('payload') })).status, 200);
      assert.equal(
        (await put(Bucket, 'n', { ...lockHeaders, 'x-amz-checksum-crc32': crc32Of('payload') })).status,
        200,
      );
      // Without lock parameters and without a default, no checksum is needed.
      assert.equal((await put(Bucket, 'plain', {})).status, 200);
      const withDefault = await lockedBucket({ Mode: 'GOVERNANCE', Days: 1 });
      assertS3Error(await put(withDefault, 'o', {}), 400, 'InvalidRequest', 'PUT');
      assert.equal((await put(withDefault, 'o', { 'content-md5': md5Base64('payload') })).status, 200);
    },
  );

  test('CopyObject: the destination gets the request lock or its default, never the source lock', T, async () => {
    const src = await lockedBucket();
    await putVersion(src, 'src', { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: inDays(3) });
    const dst = await lockedBucket();
    await s3.send(new CopyObjectCommand({ Bucket: dst, Key: 'copy', CopySource: `${src}/src` }));
    const plainCopy = await s3.send(new HeadObjectCommand({ Bucket: dst, Key: 'copy' }));
    assert.equal(plainCopy.ObjectLockMode, undefined);
    const until = inDays(4);
    await s3.send(
      new CopyObjectCommand({
        Bucket: dst,
        Key: 'locked-copy',
        CopySource: `${src}/src`,
        ObjectLockMode: 'GOVERNANCE',
        ObjectLockRetainUntilDate: until,
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: dst, Key: 'locked-copy' }));
    assert.equal(head.ObjectLockMode, 'GOVERNANCE');
    assert.equal(head.ObjectLockRetainUntilDate?.getTime(), until.getTime());
  });

  test(
    'multipart uploads: CreateMultipartUpload lock headers apply on completion; parts need a checksum',
    T,
    async () => {
      const Bucket = await lockedBucket();
      const until = inDays(2);
      const { UploadId } = await s3.send(
        new CreateMultipartUploadCommand({
          Bucket,
          Key: 'mp',
          ObjectLockMode: 'GOVERNANCE',
          ObjectLockRetainUntilDate: until,
          ObjectLockLegalHoldStatus: 'ON',
        }),
      );
      const bare = await raw(t.endpoint, {
        method: 'PUT',
        path: `/${Bucket}/mp?partNumber=1&uploadId=${UploadId}`,
        body: 'part one',
        auth: owner(),
      });
      assertS3Error(bare, 400, 'InvalidRequest', 'PUT');
      const part = await s3.send(
        new UploadPartCommand({ Bucket, Key: 'mp', UploadId, PartNumber: 1, Body: 'part one' }),
      );
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key: 'mp',
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      );
      const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'mp' }));
      assert.equal(head.ObjectLockMode, 'GOVERNANCE');
      assert.equal(head.ObjectLockRetainUntilDate?.getTime(), until.getTime());
      assert.equal(head.ObjectLockLegalHoldStatus, 'ON');
    },
  );

  test('multipart into a bucket with default retention: the default applies at completion', T, async () => {
    const Bucket = await lockedBucket({ Mode: 'COMPLIANCE', Days: 2 });
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mpd' }));
    const part = await s3.send(new UploadPartCommand({ Bucket, Key: 'mpd', UploadId, PartNumber: 1, Body: 'p' }));
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key: 'mpd',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'mpd' }));
    assert.equal(head.ObjectLockMode, 'COMPLIANCE');
  });
});

describe('browser uploads (PostObject)', T, () => {
  const post = (Bucket: string, key: string, extra: Array<[string, string]> = []) => {
    const fields = signedV4Fields(
      t.owner,
      [{ bucket: Bucket }, { key }, ...extra.map(([k, v]) => ({ [k]: v }))],
      [['key', key], ...extra],
    );
    const { body, contentType } = multipartBody(fields, { filename: key, content: 'posted' });
    return raw(t.endpoint, { method: 'POST', path: `/${Bucket}`, body, headers: { 'content-type': contentType } });
  };

  test('the bucket default retention applies; lock fields are refused, not dropped', T, async () => {
    const Bucket = await lockedBucket({ Mode: 'GOVERNANCE', Days: 1 });
    const res = await post(Bucket, 'posted.txt');
    assert.ok(res.status >= 200 && res.status < 300, res.text);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'posted.txt' }))).ObjectLockMode, 'GOVERNANCE');
    const refused = await post(Bucket, 'held.txt', [['x-amz-object-lock-legal-hold', 'ON']]);
    assertS3Error(refused, 501, 'NotImplemented', 'POST');
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket, Key: 'held.txt' })), null, 404);
  });
});

describe('PutObjectRetention and PutObjectLegalHold', T, () => {
  test('lengthen freely; shorten governance only with the bypass; compliance never', T, async () => {
    const Bucket = await lockedBucket();
    const v = await putVersion(Bucket, 'r');
    await governance(Bucket, 'r', v, inDays(10));
    await governance(Bucket, 'r', v, inDays(20));
    const five = inDays(5);
    await rejects(() => governance(Bucket, 'r', v, five), 'AccessDenied', 403);
    await governance(Bucket, 'r', v, five, true);
    const got = await s3.send(new GetObjectRetentionCommand({ Bucket, Key: 'r', VersionId: v }));
    assert.deepEqual(got.Retention, { Mode: 'GOVERNANCE', RetainUntilDate: five });
    // Governance to compliance strengthens the lock: allowed. Then nothing weakens it.
    const until = inDays(6);
    await s3.send(
      new PutObjectRetentionCommand({
        Bucket,
        Key: 'r',
        VersionId: v,
        Retention: { Mode: 'COMPLIANCE', RetainUntilDate: until },
      }),
    );
    await rejects(() => governance(Bucket, 'r', v, inDays(30), true), 'AccessDenied', 403);
    await rejects(
      () =>
        s3.send(
          new PutObjectRetentionCommand({
            Bucket,
            Key: 'r',
            VersionId: v,
            Retention: { Mode: 'COMPLIANCE', RetainUntilDate: inDays(3) },
            BypassGovernanceRetention: true,
          }),
        ),
      'AccessDenied',
      403,
    );
    const after = await s3.send(new GetObjectRetentionCommand({ Bucket, Key: 'r', VersionId: v }));
    assert.deepEqual(after.Retention, { Mode: 'COMPLIANCE', RetainUntilDate: until });
  });

  test('an empty Retention removes a governance period with the bypass; then there is none to get', T, async () => {
    const Bucket = await lockedBucket();
    const v = await putVersion(Bucket, 'g');
    await governance(Bucket, 'g', v, inDays(1));
    const remove = (bypass: boolean): RawRequest => ({
      method: 'PUT',
      path: `/${Bucket}/g?retention&versionId=${v}`,
      body: '<Retention/>',
      headers: {
        'content-md5': md5Base64('<Retention/>'),
        ...(bypass ? { 'x-amz-bypass-governance-retention': 'true' } : {}),
      },
      auth: owner(),
    });
    assertS3Error(await raw(t.endpoint, remove(false)), 403, 'AccessDenied', 'PUT');
    assert.equal((await raw(t.endpoint, remove(true))).status, 200);
    await rejects(
      () => s3.send(new GetObjectRetentionCommand({ Bucket, Key: 'g', VersionId: v })),
      'NoSuchObjectLockConfiguration',
      404,
    );
  });

  test('retention errors: MalformedXML, InvalidArgument, missing Content-MD5, missing key', T, async () => {
    const Bucket = await lockedBucket();
    await putVersion(Bucket, 'e');
    const send = (xml: string, headers: Record<string, string> = { 'content-md5': md5Base64(xml) }, key = 'e') =>
      raw(t.endpoint, { method: 'PUT', path: `/${Bucket}/${key}?retention`, body: xml, headers, auth: owner() });
    const ret = (mode: string, date: string) =>
      `<Retention><Mode>${mode}</Mode><RetainUntilDate>${date}</RetainUntilDate></Retention>`;
    assertS3Error(await send(ret('invalid', inDays(1).toISOString())), 400, 'MalformedXML', 'PUT');
    assertS3Error(await send('<Retention><Mode>GOVERNANCE</Mode></Retention>'), 400, 'MalformedXML', 'PUT');
    assertS3Error(await send(ret('GOVERNANCE', '2001-01-01T00:00:00Z')), 400, 'InvalidArgument', 'PUT');
    assertS3Error(await send(ret('GOVERNANCE', inDays(1).toISOString()), {}), 400, 'InvalidRequest', 'PUT');
    const xml = ret('GOVERNANCE', inDays(1).toISOString());
    assertS3Error(await send(xml, { 'content-md5': md5Base64(xml) }, 'missing'), 404, 'NoSuchKey', 'PUT');
    await rejects(
      () => s3.send(new GetObjectRetentionCommand({ Bucket, Key: 'e' })),
      'NoSuchObjectLockConfiguration',
      404,
    );
  });

  test('legal hold ON and OFF; never set is NoSuchObjectLockConfiguration; a bad status MalformedXML', T, async () => {
    const Bucket = await lockedBucket();
    const v = await putVersion(Bucket, 'h');
    await rejects(
      () => s3.send(new GetObjectLegalHoldCommand({ Bucket, Key: 'h', VersionId: v })),
      'NoSuchObjectLockConfiguration',
      404,
    );
    await s3.send(new PutObjectLegalHoldCommand({ Bucket, Key: 'h', VersionId: v, LegalHold: { Status: 'ON' } }));
    assert.equal((await s3.send(new GetObjectLegalHoldCommand({ Bucket, Key: 'h' }))).LegalHold?.Status, 'ON');
    await s3.send(new PutObjectLegalHoldCommand({ Bucket, Key: 'h', VersionId: v, LegalHold: { Status: 'OFF' } }));
    assert.equal((await s3.send(new GetObjectLegalHoldCommand({ Bucket, Key: 'h' }))).LegalHold?.Status, 'OFF');
    const xml = '<LegalHold><Status>abc</Status></LegalHold>';
    const bad = await raw(t.endpoint, {
      method: 'PUT',
      path: `/${Bucket}/h?legal-hold`,
      body: xml,
      headers: { 'content-md5': md5Base64(xml) },
      auth: owner(),
    });
    assertS3Error(bad, 400, 'MalformedXML', 'PUT');
  });

  test('the object operations on a bucket without Object Lock: InvalidRequest', T, async () => {
    const Bucket = await plainBucket();
    await putVersion(Bucket, 'p');
    await rejects(() => governance(Bucket, 'p', 'null', inDays(1)), 'InvalidRequest', 400);
    await rejects(() => s3.send(new GetObjectRetentionCommand({ Bucket, Key: 'p' })), 'InvalidRequest', 400);
    await rejects(
      () => s3.send(new PutObjectLegalHoldCommand({ Bucket, Key: 'p', LegalHold: { Status: 'ON' } })),
      'InvalidRequest',
      400,
    );
    await rejects(() => s3.send(new GetObjectLegalHoldCommand({ Bucket, Key: 'p' })), 'InvalidRequest', 400);
  });
});

describe('deleting locked versions', T, () => {
  test('governance: AccessDenied, then deleted with the bypass', T, async () => {
    const Bucket = await lockedBucket();
    const v = await putVersion(Bucket, 'gov');
    await governance(Bucket, 'gov', v, inDays(1));
    const e = await rejects(
      () => s3.send(new DeleteObjectCommand({ Bucket, Key: 'gov', VersionId: v })),
      'AccessDenied',
      403,
    );
    assert.match(e.message, /object lock/);
    assert.equal(t.cellar.storage.locks.mayRemove({ bucket: Bucket, key: 'gov', versionId: v }).allowed, false);
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'gov', VersionId: v, BypassGovernanceRetention: true }));
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket, Key: 'gov', VersionId: v })), null, 404);
  });

  test(
    'compliance and legal hold: AccessDenied even with the bypass; a hold turned OFF frees the version',
    T,
    async () => {
      const Bucket = await lockedBucket();
      const c = await putVersion(Bucket, 'comp', {
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: inDays(1),
      });
      await rejects(
        () => s3.send(new DeleteObjectCommand({ Bucket, Key: 'comp', VersionId: c, BypassGovernanceRetention: true })),
        'AccessDenied',
        403,
      );
      assert.deepEqual(
        t.cellar.storage.locks.mayRemove({ bucket: Bucket, key: 'comp', versionId: c }, { bypassGovernance: true }),
        {
          allowed: false,
          reason: 'compliance',
        },
      );
      const h = await putVersion(Bucket, 'held', { ObjectLockLegalHoldStatus: 'ON' });
      await rejects(
        () => s3.send(new DeleteObjectCommand({ Bucket, Key: 'held', VersionId: h, BypassGovernanceRetention: true })),
        'AccessDenied',
        403,
      );
      await s3.send(new PutObjectLegalHoldCommand({ Bucket, Key: 'held', VersionId: h, LegalHold: { Status: 'OFF' } }));
      await s3.send(new DeleteObjectCommand({ Bucket, Key: 'held', VersionId: h }));
      await rejects(() => s3.send(new HeadObjectCommand({ Bucket, Key: 'held', VersionId: h })), null, 404);
    },
  );

  test('DeleteObjects: a locked version is an AccessDenied entry; the bypass deletes governance ones', T, async () => {
    const Bucket = await lockedBucket();
    const a = await putVersion(Bucket, 'da');
    const b = await putVersion(Bucket, 'db');
    await governance(Bucket, 'da', a, inDays(1));
    const Objects = [
      { Key: 'da', VersionId: a },
      { Key: 'db', VersionId: b },
    ];
    const first = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects } }));
    assert.deepEqual(
      first.Errors?.map((e) => [e.Key, e.Code]),
      [['da', 'AccessDenied']],
    );
    assert.deepEqual(
      first.Deleted?.map((d) => d.Key),
      ['db'],
    );
    const second = await s3.send(
      new DeleteObjectsCommand({
        Bucket,
        Delete: { Objects: [{ Key: 'da', VersionId: a }] },
        BypassGovernanceRetention: true,
      }),
    );
    assert.deepEqual(second.Errors ?? [], []);
    assert.deepEqual(
      second.Deleted?.map((d) => d.Key),
      ['da'],
    );
  });

  test('a DELETE without a version id adds a delete marker; the locked version stays, locked', T, async () => {
    const Bucket = await lockedBucket();
    const v = await putVersion(Bucket, 'kept', { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: inDays(1) });
    const del = await s3.send(new DeleteObjectCommand({ Bucket, Key: 'kept' }));
    assert.equal(del.DeleteMarker, true);
    await rejects(() => s3.send(new HeadObjectCommand({ Bucket, Key: 'kept' })), null, 404);
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'kept', VersionId: v }));
    assert.equal(head.ObjectLockMode, 'COMPLIANCE');
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket }));
    assert.deepEqual(
      listed.Versions?.map((x) => x.VersionId),
      [v],
    );
    // The marker itself is no locked version: it may go, and the locked version is current again.
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'kept', VersionId: del.VersionId }));
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'kept' }))).VersionId, v);
  });

  test('an overwrite makes a new version: each version keeps its own lock', T, async () => {
    const Bucket = await lockedBucket();
    const first = await putVersion(Bucket, 'o', { ObjectLockLegalHoldStatus: 'ON' });
    const second = await putVersion(Bucket, 'o');
    assert.notEqual(first, second);
    assert.equal(
      (await s3.send(new GetObjectLegalHoldCommand({ Bucket, Key: 'o', VersionId: first }))).LegalHold?.Status,
      'ON',
    );
    await rejects(
      () => s3.send(new GetObjectLegalHoldCommand({ Bucket, Key: 'o' })),
      'NoSuchObjectLockConfiguration',
      404,
    );
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'o', VersionId: second }));
    await rejects(() => s3.send(new DeleteObjectCommand({ Bucket, Key: 'o', VersionId: first })), 'AccessDenied', 403);
    // A version id the key does not have: NoSuchVersion for the lock operations.
    await rejects(
      () => s3.send(new GetObjectLegalHoldCommand({ Bucket, Key: 'o', VersionId: second })),
      'NoSuchVersion',
      404,
    );
  });

  test('a bucket holding locked versions cannot be deleted', T, async () => {
    const Bucket = await lockedBucket();
    await putVersion(Bucket, 'keep', { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: inDays(1) });
    await rejects(() => s3.send(new DeleteBucketCommand({ Bucket })), 'BucketNotEmpty', 409);
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'keep' }))).ObjectLockMode, 'COMPLIANCE');
  });

  test('an expired retention no longer protects', T, async () => {
    const Bucket = await lockedBucket();
    const v = await putVersion(Bucket, 'short', {
      ObjectLockMode: 'COMPLIANCE',
      ObjectLockRetainUntilDate: new Date(Date.now() + 1500),
    });
    await rejects(() => s3.send(new DeleteObjectCommand({ Bucket, Key: 'short', VersionId: v })), 'AccessDenied', 403);
    await new Promise((r) => setTimeout(r, 1600));
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'short', VersionId: v }));
  });
});

describe('permissions', T, () => {
  test('s3:BypassGovernanceRetention: a policy grants it to another add-on, or denies it to the owner', T, async () => {
    const Bucket = await lockedBucket();
    const v = await putVersion(Bucket, 'p');
    await governance(Bucket, 'p', v, inDays(1));
    const policy = (statements: object[]) =>
      s3.send(
        new PutBucketPolicyCommand({
          Bucket,
          Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
        }),
      );
    const allowOther = (actions: string[]) => ({
      Effect: 'Allow',
      Principal: { AWS: [other.id] },
      Action: actions,
      Resource: `arn:aws:s3:::${Bucket}/*`,
    });
    const o = t.client(other);
    await policy([allowOther(['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:GetObject'])]);
    await rejects(
      () => o.send(new DeleteObjectCommand({ Bucket, Key: 'p', VersionId: v, BypassGovernanceRetention: true })),
      'AccessDenied',
      403,
    );
    // Without s3:GetObjectRetention the other add-on reads the object but not its lock.
    const head = await o.send(new HeadObjectCommand({ Bucket, Key: 'p' }));
    assert.equal(head.ObjectLockMode, undefined);
    await policy([
      {
        Effect: 'Deny',
        Principal: { AWS: [t.owner.id] },
        Action: 's3:BypassGovernanceRetention',
        Resource: `arn:aws:s3:::${Bucket}/*`,
      },
    ]);
    await rejects(
      () => s3.send(new DeleteObjectCommand({ Bucket, Key: 'p', VersionId: v, BypassGovernanceRetention: true })),
      'AccessDenied',
      403,
    );
    await policy([
      allowOther([
        's3:DeleteObject',
        's3:DeleteObjectVersion',
        's3:BypassGovernanceRetention',
        's3:GetObjectRetention',
      ]),
    ]);
    assert.equal(
      (await o.send(new GetObjectRetentionCommand({ Bucket, Key: 'p', VersionId: v }))).Retention?.Mode,
      'GOVERNANCE',
    );
    await o.send(new DeleteObjectCommand({ Bucket, Key: 'p', VersionId: v, BypassGovernanceRetention: true }));
  });

  test('lock headers on a write need s3:PutObjectRetention / s3:PutObjectLegalHold', T, async () => {
    const Bucket = await lockedBucket();
    const o = t.client(other);
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: [other.id] },
              Action: ['s3:PutObject'],
              Resource: `arn:aws:s3:::${Bucket}/*`,
            },
          ],
        }),
      }),
    );
    await o.send(new PutObjectCommand({ Bucket, Key: 'free', Body: 'x' }));
    await rejects(
      () => o.send(new PutObjectCommand({ Bucket, Key: 'held', Body: 'x', ObjectLockLegalHoldStatus: 'ON' })),
      'AccessDenied',
      403,
    );
    await rejects(
      () =>
        o.send(
          new PutObjectCommand({
            Bucket,
            Key: 'ret',
            Body: 'x',
            ObjectLockMode: 'GOVERNANCE',
            ObjectLockRetainUntilDate: inDays(1),
          }),
        ),
      'AccessDenied',
      403,
    );
  });
});

/** Base64 CRC32 (IEEE) of a string, as x-amz-checksum-crc32 carries it. */
function crc32Of(s: string): string {
  let c = 0xffffffff;
  for (const byte of Buffer.from(s)) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  const out = Buffer.alloc(4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}
