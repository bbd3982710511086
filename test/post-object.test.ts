/**
 * PostObject (browser-based uploads, RESTObjectPOST.html) over real sockets with hand-built
 * forms: SigV4 and SigV2 policies, path and virtual-host style, the three answers, every refusal
 * AWS documents, and the file never stored unless the form passed.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { multipartBody, signedV2Fields, signedV4Fields, type Field, type FormFile } from './helpers/post-form.js';
import { assertS3Error, raw, type RawResponse } from './helpers/raw.js';

let t: TestCellar;
const BUCKET = 'uploads';
const PUBLIC = 'dropbox';

before(async () => {
  t = await startTestCellar();
  const owner = { type: 'v4' as const, addon: t.owner };
  assert.equal((await raw(t.endpoint, { method: 'PUT', path: `/${BUCKET}`, auth: owner })).status, 200);
  assert.equal(
    (
      await raw(t.endpoint, {
        method: 'PUT',
        path: `/${PUBLIC}`,
        headers: { 'x-amz-acl': 'public-read-write' },
        auth: owner,
      })
    ).status,
    200,
  );
  const cors =
    '<CORSConfiguration><CORSRule><AllowedOrigin>http://shop.test</AllowedOrigin><AllowedMethod>POST</AllowedMethod></CORSRule></CORSConfiguration>';
  assert.equal(
    (
      await raw(t.endpoint, {
        method: 'PUT',
        path: `/${BUCKET}?cors`,
        body: cors,
        headers: { 'content-md5': createHash('md5').update(cors).digest('base64') },
        auth: owner,
      })
    ).status,
    200,
  );
});
after(() => t.stop());

function post(
  fields: Field[],
  file: FormFile | null,
  o: { path?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const { body, contentType } = multipartBody(fields, file);
  return raw(t.endpoint, {
    method: 'POST',
    path: o.path ?? `/${BUCKET}`,
    body,
    headers: { 'content-type': contentType, ...o.headers },
  });
}

const stored = (key: string, bucket = BUCKET) => t.cellar.storage.headObject(bucket, key);
const md5Hex = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

describe('uploads that pass', () => {
  test('SigV4, path style: 201 with the PostResponse document, ${filename}, ACL, metadata and Content-Type stored', {
    timeout: 10_000,
  }, async () => {
    const fields = signedV4Fields(
      t.owner,
      [
        { bucket: BUCKET },
        ['starts-with', '$key', 'user/eric/'],
        { acl: 'public-read' },
        ['starts-with', '$Content-Type', 'image/'],
        { 'x-amz-meta-uuid': '14365123651274' },
        ['starts-with', '$x-amz-meta-tag', ''],
        { success_action_status: '201' },
      ],
      [
        ['key', 'user/eric/${filename}'],
        ['acl', 'public-read'],
        ['Content-Type', 'image/png'],
        ['x-amz-meta-uuid', '14365123651274'],
        ['x-amz-meta-tag', 'holiday'],
        ['success_action_status', '201'],
      ],
    );
    const res = await post(fields, { filename: 'photo.png', content: 'PNG bytes' });
    assert.equal(res.status, 201, res.text);
    const etag = `"${md5Hex('PNG bytes')}"`;
    assert.equal(res.headers.etag, etag);
    assert.match(res.text, /^<\?xml/);
    assert.match(
      res.text,
      new RegExp(
        `<PostResponse[^>]*><Location>http://127\\.0\\.0\\.1:${t.port}/${BUCKET}/user%2Feric%2Fphoto\\.png</Location><Bucket>${BUCKET}</Bucket><Key>user/eric/photo\\.png</Key><ETag>&quot;${md5Hex('PNG bytes')}&quot;</ETag></PostResponse>`,
      ),
    );
    // public-read: anyone reads it back, with what the form said.
    const got = await raw(t.endpoint, { path: `/${BUCKET}/user/eric/photo.png` });
    assert.equal(got.status, 200);
    assert.equal(got.text, 'PNG bytes');
    assert.equal(got.headers['content-type'], 'image/png');
    assert.equal(got.headers['x-amz-meta-uuid'], '14365123651274');
    assert.equal(got.headers['x-amz-meta-tag'], 'holiday');
    assert.equal(stored('user/eric/photo.png')?.ownerId, t.owner.id);
  });

  test('SigV4, virtual-host style: 204 by default, the key used as given', { timeout: 10_000 }, async () => {
    const fields = signedV4Fields(t.owner, [{ bucket: BUCKET }, { key: 'vhost.txt' }], [['key', 'vhost.txt']]);
    const res = await post(
      fields,
      { filename: 'ignored.txt', content: 'via host' },
      { path: '/', headers: { host: `${BUCKET}.localhost:${t.port}` } },
    );
    assert.equal(res.status, 204, res.text);
    assert.equal(res.headers.etag, `"${md5Hex('via host')}"`);
    assert.equal(res.headers.location, `http://${BUCKET}.localhost:${t.port}/vhost.txt`);
    assert.equal(stored('vhost.txt')?.size, 8);
    // No Content-Type field: the object's type is S3's default, not the part's.
    assert.equal(stored('vhost.txt')?.headers['content-type'], 'binary/octet-stream');
  });

  test('SigV2: AWSAccessKeyId, policy, signature', { timeout: 10_000 }, async () => {
    const fields = signedV2Fields(
      t.owner,
      [{ bucket: BUCKET }, ['starts-with', '$key', 'v2/'], { success_action_status: '200' }],
      [
        ['key', 'v2/a.txt'],
        ['success_action_status', '200'],
      ],
    );
    const res = await post(fields, { filename: 'a.txt', content: 'signed v2' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.length, 0);
    assert.equal(stored('v2/a.txt')?.etag, md5Hex('signed v2'));
  });

  test('success_action_redirect: 303 to the URL with bucket, key and etag added', { timeout: 10_000 }, async () => {
    const target = 'https://shop.test/done.html?from=form';
    const fields = signedV4Fields(
      t.owner,
      [{ key: 'r.txt' }, ['starts-with', '$success_action_redirect', 'https://shop.test/']],
      [
        ['key', 'r.txt'],
        ['success_action_redirect', target],
      ],
    );
    const res = await post(fields, { filename: 'r.txt', content: 'redirected' });
    assert.equal(res.status, 303, res.text);
    const loc = new URL(String(res.headers.location));
    assert.equal(`${loc.origin}${loc.pathname}`, 'https://shop.test/done.html');
    assert.equal(loc.searchParams.get('from'), 'form');
    assert.equal(loc.searchParams.get('bucket'), BUCKET);
    assert.equal(loc.searchParams.get('key'), 'r.txt');
    assert.equal(loc.searchParams.get('etag'), `"${md5Hex('redirected')}"`);
  });

  test('a redirect that is no URL is ignored: the status field answers', { timeout: 10_000 }, async () => {
    const fields = signedV4Fields(
      t.owner,
      [{ key: 'r2.txt' }, ['starts-with', '$success_action_redirect', '']],
      [
        ['key', 'r2.txt'],
        ['success_action_redirect', 'not a url'],
      ],
    );
    const res = await post(fields, { filename: 'r.txt', content: 'x' });
    assert.equal(res.status, 204, res.text);
  });

  test('a file of several MiB streams through, its ETag the MD5 of the bytes; Content-MD5 and a checksum are checked', {
    timeout: 20_000,
  }, async () => {
    const content = randomBytes(6 * 1024 * 1024 + 7);
    const md5 = createHash('md5').update(content).digest('base64');
    const sha = createHash('sha256').update(content).digest('base64');
    const fields = signedV4Fields(
      t.owner,
      [
        { key: 'big.bin' },
        ['content-length-range', 1, 10 * 1024 * 1024],
        { 'content-md5': md5 },
        { 'x-amz-checksum-sha256': sha },
      ],
      [
        ['key', 'big.bin'],
        ['Content-MD5', md5],
        ['x-amz-checksum-sha256', sha],
      ],
    );
    const res = await post(fields, { filename: 'big.bin', content });
    assert.equal(res.status, 204, res.text);
    assert.equal(res.headers['x-amz-checksum-sha256'], sha);
    assert.equal(stored('big.bin')?.etag, createHash('md5').update(content).digest('hex'));
    const bad = signedV4Fields(
      t.owner,
      [{ key: 'bad-md5.bin' }, { 'content-md5': md5 }],
      [
        ['key', 'bad-md5.bin'],
        ['Content-MD5', md5],
      ],
    );
    assertS3Error(await post(bad, { filename: 'x', content: 'other bytes' }), 400, 'BadDigest');
    assert.equal(stored('bad-md5.bin'), null);
  });

  test('the file as a plain text field (no filename) is the content', { timeout: 10_000 }, async () => {
    const fields = signedV4Fields(t.owner, [{ key: 'text.txt' }], [['key', 'text.txt']]);
    const res = await post([...fields, ['file', 'typed in a textarea']], null);
    assert.equal(res.status, 204, res.text);
    assert.equal(stored('text.txt')?.size, 'typed in a textarea'.length);
  });

  test('fields after the file are ignored, as AWS documents', { timeout: 10_000 }, async () => {
    const fields = signedV4Fields(t.owner, [{ key: 'order.txt' }], [['key', 'order.txt']]);
    const { body, contentType } = multipartBody(fields, { filename: 'o.txt', content: 'first' });
    const tail = Buffer.from(
      body
        .toString('latin1')
        .replace(
          /--\r\n$/,
          `\r\nContent-Disposition: form-data; name="acl"\r\n\r\npublic-read\r\n--${contentType.split('boundary=')[1]}--\r\n`,
        ),
      'latin1',
    );
    const res = await raw(t.endpoint, {
      method: 'POST',
      path: `/${BUCKET}`,
      body: tail,
      headers: { 'content-type': contentType },
    });
    assert.equal(res.status, 204, res.text);
    assert.equal(
      (await raw(t.endpoint, { path: `/${BUCKET}/order.txt` })).status,
      403,
      'the acl after the file did not apply',
    );
  });

  test('anonymous, no policy: allowed where the bucket ACL lets everyone write', { timeout: 10_000 }, async () => {
    const res = await post(
      [['key', 'anon/${filename}']],
      { filename: 'hello.txt', content: 'hi' },
      { path: `/${PUBLIC}` },
    );
    assert.equal(res.status, 204, res.text);
    assert.equal(stored('anon/hello.txt', PUBLIC)?.size, 2);
  });

  test('CORS headers are on the answer for an allowed origin', { timeout: 10_000 }, async () => {
    const fields = signedV4Fields(t.owner, [{ key: 'cors.txt' }], [['key', 'cors.txt']]);
    const res = await post(fields, { filename: 'c.txt', content: 'c' }, { headers: { origin: 'http://shop.test' } });
    assert.equal(res.status, 204, res.text);
    assert.equal(res.headers['access-control-allow-origin'], 'http://shop.test');
  });
});

describe('refusals, with nothing stored', () => {
  const refusals: Array<{
    name: string;
    key: string;
    fields: () => Field[];
    file?: FormFile | null;
    status: number;
    code: string;
    message?: RegExp;
  }> = [
    {
      name: 'a key outside the starts-with prefix',
      key: 'other/x.txt',
      fields: () => signedV4Fields(t.owner, [['starts-with', '$key', 'user/']], [['key', 'other/x.txt']]),
      status: 403,
      code: 'AccessDenied',
      message: /^Invalid according to Policy: Policy Condition failed: \["starts-with", "\$key", "user\/"\]$/,
    },
    {
      name: 'a field the policy does not name',
      key: 'extra.txt',
      fields: () =>
        signedV4Fields(
          t.owner,
          [{ key: 'extra.txt' }],
          [
            ['key', 'extra.txt'],
            ['x-amz-meta-sneaky', '1'],
          ],
        ),
      status: 403,
      code: 'AccessDenied',
      message: /^Invalid according to Policy: Extra input fields: x-amz-meta-sneaky$/,
    },
    {
      name: 'an expired policy',
      key: 'late.txt',
      fields: () =>
        signedV4Fields(t.owner, [{ key: 'late.txt' }], [['key', 'late.txt']], { now: new Date(Date.now() - 7200_000) }),
      status: 403,
      code: 'AccessDenied',
      message: /^Invalid according to Policy: Policy expired\.$/,
    },
    {
      name: 'a wrong acl',
      key: 'acl.txt',
      fields: () =>
        signedV4Fields(
          t.owner,
          [{ key: 'acl.txt' }, { acl: 'private' }],
          [
            ['key', 'acl.txt'],
            ['acl', 'public-read'],
          ],
        ),
      status: 403,
      code: 'AccessDenied',
      message: /Policy Condition failed: \["eq", "\$acl", "private"\]/,
    },
    {
      name: 'another bucket in the policy',
      key: 'b.txt',
      fields: () => signedV4Fields(t.owner, [{ key: 'b.txt' }, { bucket: 'elsewhere' }], [['key', 'b.txt']]),
      status: 403,
      code: 'AccessDenied',
      message: /\["eq", "\$bucket", "elsewhere"\]/,
    },
    {
      name: 'a signature made with another secret',
      key: 'sig.txt',
      fields: () => signedV4Fields(t.owner, [{ key: 'sig.txt' }], [['key', 'sig.txt']], { secret: 'not-the-secret' }),
      status: 403,
      code: 'SignatureDoesNotMatch',
    },
    {
      name: 'a SigV2 signature made with another secret',
      key: 'sig2.txt',
      fields: () => signedV2Fields(t.owner, [{ key: 'sig2.txt' }], [['key', 'sig2.txt']], { secret: 'not-the-secret' }),
      status: 403,
      code: 'SignatureDoesNotMatch',
    },
    {
      name: 'an unknown access key',
      key: 'who.txt',
      fields: () =>
        signedV4Fields(
          { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 's' },
          [{ key: 'who.txt' }],
          [['key', 'who.txt']],
        ),
      status: 403,
      code: 'InvalidAccessKeyId',
    },
    {
      name: 'a policy that is no JSON',
      key: 'json.txt',
      fields: () =>
        signedV4Fields(t.owner, [{ key: 'json.txt' }], [['key', 'json.txt']]).map(
          ([n, v]): Field => [n, n === 'policy' ? Buffer.from('{nope').toString('base64') : v],
        ),
      status: 403,
      code: 'SignatureDoesNotMatch',
    },
    {
      name: 'a file over the content-length-range',
      key: 'big.txt',
      fields: () =>
        signedV4Fields(t.owner, [{ key: 'big.txt' }, ['content-length-range', 0, 10]], [['key', 'big.txt']]),
      file: { filename: 'big.txt', content: 'x'.repeat(11) },
      status: 400,
      code: 'EntityTooLarge',
    },
    {
      name: 'a file under the content-length-range',
      key: 'small.txt',
      fields: () =>
        signedV4Fields(t.owner, [{ key: 'small.txt' }, ['content-length-range', 5, 10]], [['key', 'small.txt']]),
      file: { filename: 'small.txt', content: 'x' },
      status: 400,
      code: 'EntityTooSmall',
    },
    {
      name: 'no key field',
      key: 'nokey.txt',
      fields: () => signedV4Fields(t.owner, [], []),
      status: 400,
      code: 'InvalidArgument',
      message:
        /^Bucket POST must contain a field named 'key'\. {2}If it is specified, please check the order of the fields\.$/,
    },
    {
      name: 'no file',
      key: 'nofile.txt',
      fields: () => signedV4Fields(t.owner, [{ key: 'nofile.txt' }], [['key', 'nofile.txt']]),
      file: null,
      status: 400,
      code: 'InvalidArgument',
      message: /^POST requires exactly one file upload per request\.$/,
    },
    {
      name: 'an empty key',
      key: '',
      fields: () => signedV4Fields(t.owner, [{ key: '' }], [['key', '']]),
      status: 400,
      code: 'InvalidArgument',
    },
    {
      name: 'a policy without signature fields',
      key: 'half.txt',
      fields: () => [
        ['key', 'half.txt'],
        ['policy', 'e30='],
      ],
      status: 400,
      code: 'InvalidArgument',
      message: /field named 'AWSAccessKeyId'/,
    },
    {
      name: 'server-side encryption asked in the form',
      key: 'sse.txt',
      fields: () =>
        signedV4Fields(
          t.owner,
          [{ key: 'sse.txt' }, { 'x-amz-server-side-encryption': 'AES256' }],
          [
            ['key', 'sse.txt'],
            ['x-amz-server-side-encryption', 'AES256'],
          ],
        ),
      status: 501,
      code: 'NotImplemented',
    },
    {
      name: 'tagging asked in the form',
      key: 'tag.txt',
      fields: () =>
        signedV4Fields(
          t.owner,
          [{ key: 'tag.txt' }, ['starts-with', '$tagging', '']],
          [
            ['key', 'tag.txt'],
            ['tagging', '<Tagging/>'],
          ],
        ),
      status: 501,
      code: 'NotImplemented',
    },
    {
      name: 'another add-on with a valid policy but no write permission',
      key: 'intruder.txt',
      fields: () => signedV4Fields(t.newAddon('post-intruder'), [{ key: 'intruder.txt' }], [['key', 'intruder.txt']]),
      status: 403,
      code: 'AccessDenied',
    },
    {
      name: 'anonymous without a policy on a private bucket',
      key: 'anon.txt',
      fields: () => [['key', 'anon.txt']],
      status: 403,
      code: 'AccessDenied',
    },
  ];
  for (const r of refusals) {
    test(r.name, { timeout: 10_000 }, async () => {
      const res = await post(r.fields(), r.file === undefined ? { filename: 'f.txt', content: 'content' } : r.file);
      assertS3Error(res, r.status, r.code, 'POST');
      if (r.message)
        assert.match(
          /<Message>([^<]*)<\/Message>/
            .exec(res.text)?.[1]
            ?.replace(/&quot;/g, '"')
            .replace(/&apos;/g, "'") ?? '',
          r.message,
        );
      assert.equal(stored(r.key), null, `${r.key} must not be stored`);
    });
  }

  test('a POST that is not multipart/form-data: 412 as AWS answers', { timeout: 10_000 }, async () => {
    const res = await raw(t.endpoint, {
      method: 'POST',
      path: `/${BUCKET}`,
      body: 'key=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assertS3Error(res, 412, 'PreconditionFailed', 'POST');
    assert.match(res.text, /<Condition>Bucket POST must be of the enclosure-type multipart\/form-data<\/Condition>/);
  });

  test('a multipart body that breaks off in the file stores nothing', { timeout: 10_000 }, async () => {
    const fields = signedV4Fields(t.owner, [{ key: 'cut.txt' }], [['key', 'cut.txt']]);
    const { body, contentType } = multipartBody(fields, { filename: 'cut.txt', content: 'complete content' });
    const cut = body.subarray(0, body.length - 30);
    const res = await raw(t.endpoint, {
      method: 'POST',
      path: `/${BUCKET}`,
      body: cut,
      headers: { 'content-type': contentType },
    });
    assertS3Error(res, 400, 'MalformedPOSTRequest', 'POST');
    assert.equal(stored('cut.txt'), null);
  });

  test('a multipart content type without boundary is MalformedPOSTRequest', { timeout: 10_000 }, async () => {
    for (const type of ['multipart/form-data; charset=utf-8', 'multipart/form-data']) {
      const res = await raw(t.endpoint, {
        method: 'POST',
        path: `/${BUCKET}`,
        body: 'x',
        headers: { 'content-type': type },
      });
      assertS3Error(res, 400, 'MalformedPOSTRequest', 'POST');
    }
  });

  test('the form is refused as soon as the file part begins, before the file is read', {
    timeout: 10_000,
  }, async () => {
    // The body is never finished: an answer can only come from checks made before the file.
    const fields = signedV4Fields(t.owner, [['starts-with', '$key', 'user/']], [['key', 'early.txt']]);
    const { body, contentType } = multipartBody(fields, { filename: 'early.txt', content: '' });
    const head = body.subarray(0, body.indexOf('\r\n\r\n', body.indexOf('filename="early.txt"')) + 4);
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const u = new URL(t.endpoint);
      const req = http.request(
        {
          host: u.hostname,
          port: u.port,
          method: 'POST',
          path: `/${BUCKET}`,
          agent: false,
          headers: { 'content-type': contentType, 'content-length': String(head.length + 100 * 1024 * 1024) },
        },
        (r) => {
          let text = '';
          r.setEncoding('utf8')
            .on('data', (d: string) => {
              text += d;
            })
            .on('end', () => {
              resolve({ status: r.statusCode ?? 0, text });
              req.destroy();
            });
        },
      );
      req.on('error', reject);
      req.write(head);
      req.write(Buffer.alloc(64 * 1024, 'z'));
    });
    assert.equal(res.status, 403, res.text);
    assert.match(res.text, /Policy Condition failed/);
    assert.equal(stored('early.txt'), null);
  });
});
