import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { assertS3Error, raw } from './helpers/raw.js';
import { md5Hex, rejects } from './helpers/s3-assert.js';

let t: TestCellar;
let s3: S3Client;
const B = 'conditional';
const T = { timeout: 60_000 };

before(async () => {
  t = await startTestCellar();
  s3 = t.client();
  await s3.send(new CreateBucketCommand({ Bucket: B }));
});
after(() => t.stop());

async function body(key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: B, Key: key }));
  return out.Body!.transformToString();
}

describe('PutObject with If-None-Match / If-Match', T, () => {
  test(
    'If-None-Match: * creates a missing key and refuses to overwrite an existing one (412, body unchanged)',
    T,
    async () => {
      await s3.send(new PutObjectCommand({ Bucket: B, Key: 'lock', Body: 'first', IfNoneMatch: '*' }));
      const e = await rejects(
        () => s3.send(new PutObjectCommand({ Bucket: B, Key: 'lock', Body: 'second', IfNoneMatch: '*' })),
        'PreconditionFailed',
        412,
      );
      assert.match(e.message, /pre-conditions/);
      assert.equal(await body('lock'), 'first');
    },
  );

  test('If-Match: the right ETag overwrites, a wrong one is 412, a missing key is 404 NoSuchKey', T, async () => {
    const v1 = await s3.send(new PutObjectCommand({ Bucket: B, Key: 'state', Body: 'v1' }));
    await rejects(
      () => s3.send(new PutObjectCommand({ Bucket: B, Key: 'state', Body: 'v2', IfMatch: `"${md5Hex('other')}"` })),
      'PreconditionFailed',
      412,
    );
    assert.equal(await body('state'), 'v1');
    const v2 = await s3.send(new PutObjectCommand({ Bucket: B, Key: 'state', Body: 'v2', IfMatch: v1.ETag }));
    assert.equal(v2.ETag, `"${md5Hex('v2')}"`);
    assert.equal(await body('state'), 'v2');
    // The old ETag no longer matches: compare-and-swap, as Terraform-style state locks use it.
    await rejects(
      () => s3.send(new PutObjectCommand({ Bucket: B, Key: 'state', Body: 'v3', IfMatch: v1.ETag })),
      'PreconditionFailed',
      412,
    );
    await rejects(
      () => s3.send(new PutObjectCommand({ Bucket: B, Key: 'never-written', Body: 'x', IfMatch: v1.ETag })),
      'NoSuchKey',
      404,
    );
    const list = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'never-written' }));
    assert.equal(list.KeyCount, 0);
  });

  test('If-None-Match with an ETag instead of * is NotImplemented, never a silent overwrite', T, async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'etag-nm', Body: 'kept' }));
    const res = await raw(t.endpoint, {
      method: 'PUT',
      path: `/${B}/etag-nm`,
      body: 'replaced',
      headers: { 'if-none-match': `"${md5Hex('kept')}"` },
      auth: { type: 'v4', addon: t.owner },
    });
    assertS3Error(res, 501, 'NotImplemented', 'PUT');
    assert.equal(await body('etag-nm'), 'kept');
  });

  test(
    'a refused conditional PUT is refused before its body is stored (no object, no leftover blob listed)',
    T,
    async () => {
      await s3.send(new PutObjectCommand({ Bucket: B, Key: 'early', Body: 'a' }));
      const res = await raw(t.endpoint, {
        method: 'PUT',
        path: `/${B}/early`,
        body: 'b'.repeat(1024),
        headers: { 'if-none-match': '*' },
        auth: { type: 'v4', addon: t.owner },
      });
      assertS3Error(res, 412, 'PreconditionFailed', 'PUT');
      assert.match(res.text, /<Condition>If-None-Match<\/Condition>/);
      assert.equal(await body('early'), 'a');
    },
  );

  test('two racing If-None-Match: * writers: exactly one wins, 100 rounds', { timeout: 120_000 }, async () => {
    const other = t.client();
    for (let round = 0; round < 100; round++) {
      const key = `race/${round}`;
      const outcomes = await Promise.allSettled([
        s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: `A${round}`, IfNoneMatch: '*' })),
        other.send(new PutObjectCommand({ Bucket: B, Key: key, Body: `B${round}`, IfNoneMatch: '*' })),
      ]);
      const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
      assert.equal(won.length, 1, `round ${round}: ${won.length} winners`);
      const lost = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
      assert.ok(lost.reason instanceof S3ServiceException);
      assert.ok(['PreconditionFailed', 'ConditionalRequestConflict'].includes(lost.reason.name), lost.reason.name);
      assert.equal(await body(key), `${won[0] === 0 ? 'A' : 'B'}${round}`);
    }
  });
});

describe('CompleteMultipartUpload and CopyObject with write conditions', T, () => {
  const part = Buffer.alloc(5 * 1024 * 1024, 'p');

  async function upload(key: string): Promise<{ uploadId: string; etag: string }> {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: key }));
    const p = await s3.send(new UploadPartCommand({ Bucket: B, Key: key, UploadId, PartNumber: 1, Body: part }));
    return { uploadId: UploadId!, etag: p.ETag! };
  }

  test('Complete with If-None-Match: * on an existing key is 412 and leaves the upload to retry', T, async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'mp', Body: 'existing' }));
    const u = await upload('mp');
    const complete = (cond: { IfNoneMatch?: string; IfMatch?: string }) =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: B,
          Key: 'mp',
          UploadId: u.uploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: u.etag }] },
          ...cond,
        }),
      );
    await rejects(() => complete({ IfNoneMatch: '*' }), 'PreconditionFailed', 412);
    assert.equal(await body('mp'), 'existing');
    const parts = await s3.send(new ListPartsCommand({ Bucket: B, Key: 'mp', UploadId: u.uploadId }));
    assert.equal(parts.Parts?.length, 1);
    await rejects(() => complete({ IfMatch: `"${md5Hex('not it')}"` }), 'PreconditionFailed', 412);
    await complete({ IfMatch: `"${md5Hex('existing')}"` });
    assert.equal((await body('mp')).length, part.length);
  });

  test('Complete with If-None-Match: * on a new key succeeds', T, async () => {
    const u = await upload('mp-new');
    const out = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: B,
        Key: 'mp-new',
        UploadId: u.uploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: u.etag }] },
        IfNoneMatch: '*',
      }),
    );
    assert.match(out.ETag ?? '', /-1"$/);
  });

  test('CopyObject checks its destination: If-None-Match: * and If-Match', T, async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'copy-src', Body: 'source' }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'copy-dst', Body: 'dest' }));
    const copy = (cond: { IfNoneMatch?: string; IfMatch?: string }) =>
      s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy-dst', CopySource: `${B}/copy-src`, ...cond }));
    await rejects(() => copy({ IfNoneMatch: '*' }), 'PreconditionFailed', 412);
    await rejects(() => copy({ IfMatch: `"${md5Hex('source')}"` }), 'PreconditionFailed', 412);
    assert.equal(await body('copy-dst'), 'dest');
    await copy({ IfMatch: `"${md5Hex('dest')}"` });
    assert.equal(await body('copy-dst'), 'source');
    await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy-new', CopySource: `${B}/copy-src`, IfNoneMatch: '*' }));
    assert.equal(await body('copy-new'), 'source');
  });
});

describe('request XML with character references (Go and botocore encoders)', T, () => {
  test('CompleteMultipartUpload with part ETags quoted as &#34; (rclone) completes', T, async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'go-xml' }));
    const p1 = await s3.send(
      new UploadPartCommand({
        Bucket: B,
        Key: 'go-xml',
        UploadId,
        PartNumber: 1,
        Body: Buffer.alloc(5 * 1024 * 1024, 'a'),
      }),
    );
    const p2 = await s3.send(
      new UploadPartCommand({ Bucket: B, Key: 'go-xml', UploadId, PartNumber: 2, Body: 'tail' }),
    );
    const ref = (etag: string) => etag.replaceAll('"', '&#34;');
    const doc =
      '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Part><PartNumber>1</PartNumber><ETag>${ref(p1.ETag!)}</ETag></Part>` +
      `<Part><PartNumber>2</PartNumber><ETag>${ref(p2.ETag!)}</ETag></Part></CompleteMultipartUpload>`;
    const res = await raw(t.endpoint, {
      method: 'POST',
      path: `/${B}/go-xml?uploadId=${UploadId}`,
      body: doc,
      auth: { type: 'v4', addon: t.owner },
    });
    assert.equal(res.status, 200, res.text);
    assert.match(res.text, /<ETag>&quot;[0-9a-f]{32}-2&quot;<\/ETag>/);
    assert.equal((await body('go-xml')).length, 5 * 1024 * 1024 + 4);
  });

  test('DeleteObjects with a key holding a newline written as &#xA; deletes exactly that key', T, async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'line\nbreak', Body: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'line&#xA;break', Body: 'literal' }));
    const doc = '<Delete><Object><Key>line&#xA;break</Key></Object><Quiet>false</Quiet></Delete>';
    const res = await raw(t.endpoint, {
      method: 'POST',
      path: `/${B}?delete`,
      body: doc,
      headers: { 'content-md5': createMd5(doc) },
      auth: { type: 'v4', addon: t.owner },
    });
    assert.equal(res.status, 200, res.text);
    assert.match(res.text, /<Deleted><Key>line\nbreak<\/Key><\/Deleted>/);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'line' }));
    assert.deepEqual(
      left.Contents?.map((o) => o.Key),
      ['line&#xA;break'],
    );
  });

  test('a listing gives keys with a carriage return back intact', T, async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'cr\rkey', Body: 'x' }));
    const left = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'cr' }));
    assert.deepEqual(
      left.Contents?.map((o) => o.Key),
      ['cr\rkey'],
    );
  });

  test('an undefined entity in a request document is MalformedXML', T, async () => {
    const res = await raw(t.endpoint, {
      method: 'PUT',
      path: `/${B}?cors`,
      auth: { type: 'v4', addon: t.owner },
      body: '<CORSConfiguration><CORSRule><AllowedOrigin>&nbsp;</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>',
    });
    assertS3Error(res, 400, 'MalformedXML', 'PUT');
  });
});

function createMd5(text: string): string {
  return Buffer.from(md5Hex(text), 'hex').toString('base64');
}
