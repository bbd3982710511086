/**
 * Bucket guards with the current AWS SDK: PublicAccessBlock (each flag enforced, by the S3 API
 * and by the website), OwnershipControls (ACLs disabled, ownership handed to the bucket owner)
 * and GetBucketPolicyStatus
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html,
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketOwnershipControlsCommand,
  DeleteBucketPolicyCommand,
  DeletePublicAccessBlockCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyStatusCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutBucketAclCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutBucketWebsiteCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  UploadPartCommand,
  type ObjectCannedACL,
  type ObjectOwnership,
  type PublicAccessBlockConfiguration,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Addon } from '#storage';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { multipartBody, signedV4Fields } from './helpers/post-form.js';
import { assertS3Error, md5Base64, raw } from './helpers/raw.js';
import { rejects } from './helpers/s3-assert.js';

const T = { timeout: 30_000 };
let t: TestCellar;
let s3: S3Client;
let other: Addon;
let o: S3Client;
let third: S3Client;
let n = 0;

before(async () => {
  t = await startTestCellar();
  s3 = t.client();
  other = t.newAddon('guards-other');
  o = t.client(other);
  third = t.client(t.newAddon('guards-third'));
});
after(() => t.stop());

/** A fresh bucket of the owner's, with a website configuration so that the website serves it. */
async function bucket(opts: { ownership?: ObjectOwnership } = {}): Promise<string> {
  const name = `guards-${++n}`;
  await s3.send(new CreateBucketCommand({ Bucket: name, ObjectOwnership: opts.ownership }));
  await s3.send(
    new PutBucketWebsiteCommand({ Bucket: name, WebsiteConfiguration: { IndexDocument: { Suffix: 'index.html' } } }),
  );
  return name;
}

const put = (b: string, key: string, ACL?: ObjectCannedACL, c = s3) =>
  c.send(new PutObjectCommand({ Bucket: b, Key: key, Body: `body of ${key}`, ACL }));
const setPab = (b: string, flags: PublicAccessBlockConfiguration) =>
  s3.send(new PutPublicAccessBlockCommand({ Bucket: b, PublicAccessBlockConfiguration: flags }));
const setOwnership = (b: string, ObjectOwnership: ObjectOwnership) =>
  s3.send(new PutBucketOwnershipControlsCommand({ Bucket: b, OwnershipControls: { Rules: [{ ObjectOwnership }] } }));
/** An anonymous GET through the S3 API (path style). */
const anonApi = (b: string, key: string) => raw(t.endpoint, { path: `/${b}/${key}` });
/** An anonymous visitor of the website (the bucket's host name). */
const visit = (b: string, key: string) =>
  raw(t.endpoint, { path: '/', wirePath: `/${key}`, headers: { host: `${b}.localhost:${t.port}` } });
const policyOf = (...statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const allowRead = (b: string, principal: unknown, condition?: object) => ({
  Effect: 'Allow',
  Principal: principal,
  Action: 's3:GetObject',
  Resource: `arn:aws:s3:::${b}/*`,
  ...(condition ? { Condition: condition } : {}),
});
const ownerIdOf = async (b: string, key: string): Promise<string | undefined> =>
  (await s3.send(new ListObjectsV2Command({ Bucket: b, Prefix: key, FetchOwner: true }))).Contents?.[0]?.Owner?.ID;

describe('Put, Get and DeletePublicAccessBlock', T, () => {
  test('none set: NoSuchPublicAccessBlockConfiguration; set, read back, deleted', T, async () => {
    const b = await bucket();
    await rejects(
      () => s3.send(new GetPublicAccessBlockCommand({ Bucket: b })),
      'NoSuchPublicAccessBlockConfiguration',
      404,
    );
    const all = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true };
    await setPab(b, all);
    assert.deepEqual(
      (await s3.send(new GetPublicAccessBlockCommand({ Bucket: b }))).PublicAccessBlockConfiguration,
      all,
    );
    // A flag left out is false, as AWS stores it.
    await setPab(b, { IgnorePublicAcls: true });
    assert.deepEqual((await s3.send(new GetPublicAccessBlockCommand({ Bucket: b }))).PublicAccessBlockConfiguration, {
      BlockPublicAcls: false,
      IgnorePublicAcls: true,
      BlockPublicPolicy: false,
      RestrictPublicBuckets: false,
    });
    const del = await s3.send(new DeletePublicAccessBlockCommand({ Bucket: b }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    await rejects(
      () => s3.send(new GetPublicAccessBlockCommand({ Bucket: b })),
      'NoSuchPublicAccessBlockConfiguration',
      404,
    );
  });

  test(
    'malformed documents are MalformedXML; an empty body is MissingRequestBodyError; nothing is stored',
    T,
    async () => {
      const b = await bucket();
      const send = (body: string) =>
        raw(t.endpoint, {
          method: 'PUT',
          path: `/${b}?publicAccessBlock`,
          body,
          headers: { 'content-md5': md5Base64(body) },
          auth: { type: 'v4', addon: t.owner },
        });
      for (const body of [
        '<PublicAccessBlockConfiguration><BlockPublicAcls>yes</BlockPublicAcls></PublicAccessBlockConfiguration>',
        '<PublicAccessBlockConfiguration><BlockEverything>true</BlockEverything></PublicAccessBlockConfiguration>',
        '<OtherRoot><BlockPublicAcls>true</BlockPublicAcls></OtherRoot>',
        '<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls>',
      ]) {
        assertS3Error(await send(body), 400, 'MalformedXML', 'PUT');
      }
      assertS3Error(await send(''), 400, 'MissingRequestBodyError', 'PUT');
      await rejects(
        () => s3.send(new GetPublicAccessBlockCommand({ Bucket: b })),
        'NoSuchPublicAccessBlockConfiguration',
        404,
      );
    },
  );

  test('only the bucket owner manages it', T, async () => {
    const b = await bucket();
    await rejects(
      () =>
        o.send(
          new PutPublicAccessBlockCommand({ Bucket: b, PublicAccessBlockConfiguration: { BlockPublicAcls: true } }),
        ),
      'AccessDenied',
      403,
    );
    await rejects(() => o.send(new GetPublicAccessBlockCommand({ Bucket: b })), 'AccessDenied', 403);
    await rejects(() => o.send(new DeletePublicAccessBlockCommand({ Bucket: b })), 'AccessDenied', 403);
  });
});

describe('BlockPublicAcls', T, () => {
  test('every PUT carrying a public ACL is refused with AccessDenied; private ones pass', T, async () => {
    const b = await bucket();
    await put(b, 'was-public.txt', 'public-read');
    await put(b, 'src.txt');
    await setPab(b, { BlockPublicAcls: true });
    await rejects(() => put(b, 'a.txt', 'public-read'), 'AccessDenied', 403);
    await rejects(() => put(b, 'a.txt', 'authenticated-read'), 'AccessDenied', 403);
    await rejects(
      () =>
        s3.send(
          new PutObjectCommand({
            Bucket: b,
            Key: 'a.txt',
            Body: 'x',
            GrantRead: 'uri="http://acs.amazonaws.com/groups/global/AllUsers"',
          }),
        ),
      'AccessDenied',
      403,
    );
    await rejects(
      () => s3.send(new CopyObjectCommand({ Bucket: b, Key: 'a.txt', CopySource: `${b}/src.txt`, ACL: 'public-read' })),
      'AccessDenied',
      403,
    );
    await rejects(
      () => s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'a.txt', ACL: 'public-read-write' })),
      'AccessDenied',
      403,
    );
    await rejects(
      () => s3.send(new PutObjectAclCommand({ Bucket: b, Key: 'src.txt', ACL: 'public-read' })),
      'AccessDenied',
      403,
    );
    await rejects(() => s3.send(new PutBucketAclCommand({ Bucket: b, ACL: 'public-read' })), 'AccessDenied', 403);
    // A browser form upload (PostObject) signed by the owner: refused with a public ACL only.
    const post = (acl: string) => {
      const fields = signedV4Fields(
        t.owner,
        [{ bucket: b }, { key: 'posted.txt' }, { acl }],
        [
          ['key', 'posted.txt'],
          ['acl', acl],
        ],
      );
      const form = multipartBody(fields, { filename: 'posted.txt', content: 'posted' });
      return raw(t.endpoint, {
        method: 'POST',
        path: `/${b}`,
        body: form.body,
        headers: { 'content-type': form.contentType },
      });
    };
    assertS3Error(await post('public-read'), 403, 'AccessDenied', 'POST');
    assert.equal(t.cellar.storage.headObject(b, 'posted.txt'), null, 'nothing was posted');
    assert.equal((await post('private')).status, 204);
    assert.equal(t.cellar.storage.headObject(b, 'a.txt'), null, 'nothing was stored');
    assert.equal((await anonApi(b, 'src.txt')).status, 403, 'the ACL was not changed');
    await put(b, 'private.txt', 'private');
    await put(b, 'shared.txt', 'bucket-owner-full-control');
    // An ACL set before the block keeps working (BlockPublicAcls only stops new ones).
    assert.equal((await anonApi(b, 'was-public.txt')).status, 200);
    assert.equal((await visit(b, 'was-public.txt')).status, 200);
  });
});

describe('IgnorePublicAcls', T, () => {
  test('public grants stop working for the S3 API and the website, and come back when it is deleted', T, async () => {
    const b = await bucket();
    await put(b, 'index.html', 'public-read');
    await put(b, 'members.txt', 'authenticated-read');
    assert.equal((await anonApi(b, 'index.html')).text, 'body of index.html');
    const before = await visit(b, 'index.html');
    assert.equal(before.status, 200, 'the website serves the public-read object (and caches the bucket)');
    assert.equal((await visit(b, '')).status, 200);
    assert.equal(
      await (await o.send(new GetObjectCommand({ Bucket: b, Key: 'members.txt' }))).Body!.transformToString(),
      'body of members.txt',
    );

    await setPab(b, { IgnorePublicAcls: true });
    assertS3Error(await anonApi(b, 'index.html'), 403, 'AccessDenied');
    const refused = await visit(b, 'index.html');
    assert.equal(refused.status, 403, 'the website honours IgnorePublicAcls at once');
    assert.match(String(refused.headers['content-type']), /^text\/html/, 'the website answered, not the S3 API');
    assert.ok(!refused.text.includes('body of index.html'));
    assert.equal((await visit(b, '')).status, 403);
    await rejects(() => o.send(new GetObjectCommand({ Bucket: b, Key: 'members.txt' })), 'AccessDenied', 403);
    // The owner is not affected.
    await s3.send(new GetObjectCommand({ Bucket: b, Key: 'index.html' }));

    await s3.send(new DeletePublicAccessBlockCommand({ Bucket: b }));
    assert.equal((await visit(b, 'index.html')).status, 200);
    assert.equal((await anonApi(b, 'index.html')).status, 200);
  });
});

describe('BlockPublicPolicy and GetBucketPolicyStatus', T, () => {
  test('IsPublic follows AWS: a wildcard principal without a fixed-value condition', T, async () => {
    const b = await bucket();
    await rejects(() => s3.send(new GetBucketPolicyStatusCommand({ Bucket: b })), 'NoSuchBucketPolicy', 404);
    const isPublic = async (...statements: object[]) => {
      await s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: policyOf(...statements) }));
      return (await s3.send(new GetBucketPolicyStatusCommand({ Bucket: b }))).PolicyStatus?.IsPublic;
    };
    assert.equal(await isPublic(allowRead(b, '*')), true);
    assert.equal(await isPublic(allowRead(b, { AWS: other.id })), false);
    assert.equal(await isPublic(allowRead(b, '*', { IpAddress: { 'aws:SourceIp': '192.0.2.0/24' } })), false);
    assert.equal(await isPublic(allowRead(b, '*', { IpAddress: { 'aws:SourceIp': '0.0.0.0/1' } })), true);
    assert.equal(await isPublic(allowRead(b, '*', { StringLike: { 'aws:Referer': 'https://x.example/*' } })), true);
    assert.equal(await isPublic(allowRead(b, '*', { StringEquals: { 'aws:SourceAccount': '111122223333' } })), false);
    assert.equal(await isPublic({ ...allowRead(b, '*'), Effect: 'Deny' }), false);
  });

  test('a public policy is refused with AccessDenied; a non-public one is accepted', T, async () => {
    const b = await bucket();
    await setPab(b, { BlockPublicPolicy: true });
    await rejects(
      () => s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: policyOf(allowRead(b, '*')) })),
      'AccessDenied',
      403,
    );
    await rejects(() => s3.send(new GetBucketPolicyStatusCommand({ Bucket: b })), 'NoSuchBucketPolicy', 404);
    await s3.send(new PutBucketPolicyCommand({ Bucket: b, Policy: policyOf(allowRead(b, { AWS: other.id })) }));
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: b,
        Policy: policyOf(allowRead(b, '*', { IpAddress: { 'aws:SourceIp': '127.0.0.1/32' } })),
      }),
    );
    await put(b, 'k.txt');
    assert.equal((await anonApi(b, 'k.txt')).status, 200, 'the accepted policy grants what it says');
  });
});

describe('RestrictPublicBuckets', T, () => {
  test('a public policy then grants only to the add-ons it names, never to anonymous', T, async () => {
    const b = await bucket();
    await put(b, 'index.html');
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: b,
        Policy: policyOf(allowRead(b, '*'), allowRead(b, { AWS: other.id })),
      }),
    );
    assert.equal((await visit(b, 'index.html')).status, 200);
    await third.send(new GetObjectCommand({ Bucket: b, Key: 'index.html' }));

    await setPab(b, { RestrictPublicBuckets: true });
    assertS3Error(await anonApi(b, 'index.html'), 403, 'AccessDenied');
    assert.equal((await visit(b, 'index.html')).status, 403, 'the website honours RestrictPublicBuckets');
    await rejects(() => third.send(new GetObjectCommand({ Bucket: b, Key: 'index.html' })), 'AccessDenied', 403);
    const named = await o.send(new GetObjectCommand({ Bucket: b, Key: 'index.html' }));
    assert.equal(await named.Body!.transformToString(), 'body of index.html');

    // A non-public policy is left alone.
    await s3.send(new DeleteBucketPolicyCommand({ Bucket: b }));
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: b,
        Policy: policyOf(allowRead(b, '*', { IpAddress: { 'aws:SourceIp': '127.0.0.1/32' } })),
      }),
    );
    assert.equal((await anonApi(b, 'index.html')).status, 200);
  });
});

describe('Put, Get and DeleteBucketOwnershipControls', T, () => {
  test('none set: OwnershipControlsNotFoundError; each value set and read back; deleted', T, async () => {
    const b = await bucket();
    await rejects(
      () => s3.send(new GetBucketOwnershipControlsCommand({ Bucket: b })),
      'OwnershipControlsNotFoundError',
      404,
    );
    for (const v of ['ObjectWriter', 'BucketOwnerPreferred', 'BucketOwnerEnforced'] as const) {
      await setOwnership(b, v);
      const got = await s3.send(new GetBucketOwnershipControlsCommand({ Bucket: b }));
      assert.deepEqual(got.OwnershipControls?.Rules, [{ ObjectOwnership: v }]);
    }
    const del = await s3.send(new DeleteBucketOwnershipControlsCommand({ Bucket: b }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    await rejects(
      () => s3.send(new GetBucketOwnershipControlsCommand({ Bucket: b })),
      'OwnershipControlsNotFoundError',
      404,
    );
    await rejects(() => o.send(new GetBucketOwnershipControlsCommand({ Bucket: b })), 'AccessDenied', 403);
  });

  test('malformed documents are MalformedXML', T, async () => {
    const b = await bucket();
    for (const body of [
      '<OwnershipControls><Rule><ObjectOwnership>Everyone</ObjectOwnership></Rule></OwnershipControls>',
      '<OwnershipControls></OwnershipControls>',
      '<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>',
      '<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership><Extra/></Rule></OwnershipControls>',
    ]) {
      const res = await raw(t.endpoint, {
        method: 'PUT',
        path: `/${b}?ownershipControls`,
        body,
        headers: { 'content-md5': md5Base64(body) },
        auth: { type: 'v4', addon: t.owner },
      });
      assertS3Error(res, 400, 'MalformedXML', 'PUT');
    }
  });

  test(
    'CreateBucket x-amz-object-ownership sets the control; a public ACL with BucketOwnerEnforced is refused',
    T,
    async () => {
      const b = await bucket({ ownership: 'BucketOwnerEnforced' });
      const got = await s3.send(new GetBucketOwnershipControlsCommand({ Bucket: b }));
      assert.deepEqual(got.OwnershipControls?.Rules, [{ ObjectOwnership: 'BucketOwnerEnforced' }]);
      await rejects(
        () =>
          s3.send(
            new CreateBucketCommand({
              Bucket: 'guards-acl-enforced',
              ObjectOwnership: 'BucketOwnerEnforced',
              ACL: 'public-read',
            }),
          ),
        'InvalidBucketAclWithObjectOwnership',
        400,
      );
      await rejects(() => s3.send(new HeadBucketCommand({ Bucket: 'guards-acl-enforced' })), null, 404);
      const bad = await raw(t.endpoint, {
        method: 'PUT',
        path: '/guards-bad-ownership',
        headers: { 'x-amz-object-ownership': 'Nobody' },
        auth: { type: 'v4', addon: t.owner },
      });
      assertS3Error(bad, 400, 'InvalidArgument', 'PUT');
    },
  );
});

/** Lets `other` write (and nothing else) to `b`. */
const letOtherWrite = (b: string) =>
  s3.send(
    new PutBucketPolicyCommand({
      Bucket: b,
      Policy: policyOf({
        Effect: 'Allow',
        Principal: { AWS: other.id },
        Action: 's3:PutObject',
        Resource: `arn:aws:s3:::${b}/*`,
      }),
    }),
  );

describe('BucketOwnerEnforced disables ACLs', T, () => {
  test('a bucket ACL granting others must go first: InvalidBucketAclWithObjectOwnership', T, async () => {
    const b = await bucket();
    await s3.send(new PutBucketAclCommand({ Bucket: b, ACL: 'public-read' }));
    await rejects(() => setOwnership(b, 'BucketOwnerEnforced'), 'InvalidBucketAclWithObjectOwnership', 400);
    await s3.send(new PutBucketAclCommand({ Bucket: b, ACL: 'private' }));
    await setOwnership(b, 'BucketOwnerEnforced');
  });

  test(
    'ACLs other than bucket-owner-full-control are refused, none grants, the bucket owner owns every object',
    T,
    async () => {
      const b = await bucket();
      await put(b, 'old-public.txt', 'public-read');
      await letOtherWrite(b);
      await setOwnership(b, 'BucketOwnerEnforced');

      await rejects(() => put(b, 'a.txt', 'public-read'), 'AccessControlListNotSupported', 400);
      await rejects(() => put(b, 'a.txt', 'private', o), 'AccessControlListNotSupported', 400);
      await rejects(
        () => s3.send(new PutObjectAclCommand({ Bucket: b, Key: 'old-public.txt', ACL: 'public-read' })),
        'AccessControlListNotSupported',
        400,
      );
      await rejects(
        () => s3.send(new PutBucketAclCommand({ Bucket: b, ACL: 'public-read' })),
        'AccessControlListNotSupported',
        400,
      );
      await rejects(
        () => s3.send(new CreateMultipartUploadCommand({ Bucket: b, Key: 'mp', ACL: 'authenticated-read' })),
        'AccessControlListNotSupported',
        400,
      );
      // The old public-read ACL no longer grants, on the S3 API or the website.
      assertS3Error(await anonApi(b, 'old-public.txt'), 403, 'AccessDenied');
      assert.equal((await visit(b, 'old-public.txt')).status, 403);
      // Reads of ACLs still work and show the bucket owner's full control only.
      const acl = await s3.send(new GetObjectAclCommand({ Bucket: b, Key: 'old-public.txt' }));
      assert.equal(acl.Owner?.ID, t.owner.id);
      assert.deepEqual(
        acl.Grants?.map((g) => [g.Grantee?.ID, g.Permission]),
        [[t.owner.id, 'FULL_CONTROL']],
      );

      await put(b, 'by-other.txt', undefined, o);
      await put(b, 'by-other-bofc.txt', 'bucket-owner-full-control', o);
      assert.equal(await ownerIdOf(b, 'by-other.txt'), t.owner.id);
      assert.equal(await ownerIdOf(b, 'by-other-bofc.txt'), t.owner.id);
      // The writer holds no ACL grant on what it wrote: it may not read it back.
      await rejects(() => o.send(new GetObjectCommand({ Bucket: b, Key: 'by-other.txt' })), 'AccessDenied', 403);

      await setOwnership(b, 'ObjectWriter');
      assert.equal(
        (await anonApi(b, 'old-public.txt')).status,
        200,
        'back to ObjectWriter, the stored ACL grants again',
      );
    },
  );
});

describe('BucketOwnerPreferred', T, () => {
  test(
    'bucket-owner-full-control hands the object to the bucket owner; without it the writer keeps it',
    T,
    async () => {
      const b = await bucket();
      await letOtherWrite(b);
      await setOwnership(b, 'BucketOwnerPreferred');
      await put(b, 'kept.txt', undefined, o);
      await put(b, 'handed.txt', 'bucket-owner-full-control', o);
      assert.equal(await ownerIdOf(b, 'kept.txt'), other.id);
      assert.equal(await ownerIdOf(b, 'handed.txt'), t.owner.id);

      const mp = await o.send(
        new CreateMultipartUploadCommand({ Bucket: b, Key: 'handed-mp.bin', ACL: 'bucket-owner-full-control' }),
      );
      const part = await o.send(
        new UploadPartCommand({ Bucket: b, Key: 'handed-mp.bin', UploadId: mp.UploadId, PartNumber: 1, Body: 'part' }),
      );
      await o.send(
        new CompleteMultipartUploadCommand({
          Bucket: b,
          Key: 'handed-mp.bin',
          UploadId: mp.UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      );
      assert.equal(await ownerIdOf(b, 'handed-mp.bin'), t.owner.id);

      // ObjectWriter (the default): the writer owns what it writes, whatever the ACL.
      await setOwnership(b, 'ObjectWriter');
      await put(b, 'writer.txt', 'bucket-owner-full-control', o);
      assert.equal(await ownerIdOf(b, 'writer.txt'), other.id);
    },
  );
});
