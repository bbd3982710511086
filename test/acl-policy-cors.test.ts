/**
 * Issue 4 at the HTTP level: CORS headers for the documented cors.xml, the ACL XML round trip and
 * the x-amz-grant-* headers, policy validation and evaluation (the documented policies, Deny over
 * the owner, conditions), and the answers `s3cmd info` relies on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Addon } from '#storage';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { CONSOLE_ORIGIN, DOC_CORS_XML, publicPolicy, readOnlyPolicy } from './helpers/doc-examples.js';
import {
  assertS3Error,
  errorCode,
  md5Base64,
  raw,
  type RawAuth,
  type RawRequest,
  type RawResponse,
} from './helpers/raw.js';

let t: TestCellar;
let other: Addon;
let mailed: Addon;
const EMAIL = 'third@example.com';

const asOwner = (): RawAuth => ({ type: 'v4', addon: t.owner });
const asOther = (): RawAuth => ({ type: 'v4', addon: other });

function send(r: RawRequest): Promise<RawResponse> {
  return raw(t.endpoint, r);
}

async function ok(r: RawRequest): Promise<RawResponse> {
  const res = await send({ auth: asOwner(), ...r });
  assert.ok(res.status >= 200 && res.status < 300, `${r.method ?? 'GET'} ${r.path}: ${res.status} ${res.text}`);
  return res;
}

async function bucketWith(name: string, object = 'obj.txt', headers: Record<string, string> = {}): Promise<void> {
  await ok({ method: 'PUT', path: `/${name}`, headers });
  await ok({ method: 'PUT', path: `/${name}/${object}`, body: 'content' });
}

const putCors = (bucket: string, xml: string, auth: RawAuth = asOwner()): Promise<RawResponse> =>
  send({ method: 'PUT', path: `/${bucket}?cors`, body: xml, headers: { 'content-md5': md5Base64(xml) }, auth });

function preflight(path: string, origin: string, method: string, requestHeaders?: string): Promise<RawResponse> {
  const headers: Record<string, string> = { origin, 'access-control-request-method': method };
  if (requestHeaders !== undefined) headers['access-control-request-headers'] = requestHeaders;
  return send({ method: 'OPTIONS', path, headers });
}

const listOf = (v: string | string[] | undefined): string[] =>
  String(v ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);

before(async () => {
  t = await startTestCellar();
  other = t.newAddon('second');
  mailed = t.cellar.storage.createAddon({ name: 'third', email: EMAIL });
});
after(() => t.stop());

describe('CORS: the documented configuration, header by header', () => {
  const b = 'cors-doc';
  before(async () => {
    await bucketWith(b);
    await ok({ method: 'PUT', path: `/${b}/obj.txt?acl`, headers: { 'x-amz-acl': 'public-read' } });
    const res = await putCors(b, DOC_CORS_XML);
    assert.equal(res.status, 200, res.text);
  });

  test('GetBucketCors gives back both rules', { timeout: 120_000 }, async () => {
    const res = await ok({ path: `/${b}?cors` });
    const rules = res.text.split('<CORSRule>').slice(1);
    assert.equal(rules.length, 2, res.text);
    assert.match(rules[0]!, /<AllowedOrigin>https:\/\/console\.clever-cloud\.com<\/AllowedOrigin>/);
    for (const m of ['PUT', 'POST', 'DELETE']) assert.ok(rules[0]!.includes(`<AllowedMethod>${m}</AllowedMethod>`), m);
    assert.match(rules[0]!, /<AllowedHeader>\*<\/AllowedHeader>/);
    assert.match(rules[0]!, /<ExposeHeader>ETag<\/ExposeHeader>/);
    assert.match(rules[1]!, /<AllowedOrigin>\*<\/AllowedOrigin>/);
    assert.match(rules[1]!, /<AllowedMethod>GET<\/AllowedMethod>/);
    assert.match(rules[1]!, /<MaxAgeSeconds>3000<\/MaxAgeSeconds>/);
  });

  test('preflight from the console for PUT with requested headers: 200 and every Allow header', {
    timeout: 120_000,
  }, async () => {
    const res = await preflight(`/${b}/upload.bin`, CONSOLE_ORIGIN, 'PUT', 'Content-Type, X-Amz-Meta-Author');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['access-control-allow-origin'], CONSOLE_ORIGIN);
    assert.deepEqual(listOf(res.headers['access-control-allow-methods']).sort(), ['delete', 'post', 'put']);
    assert.deepEqual(listOf(res.headers['access-control-allow-headers']).sort(), ['content-type', 'x-amz-meta-author']);
    assert.ok(listOf(res.headers.vary).includes('origin'), String(res.headers.vary));
    // No authentication is needed for a preflight, and none is given.
    assert.equal(res.headers['access-control-max-age'], undefined);
  });

  test('preflight for POST and DELETE from the console also succeed; the bucket itself too', {
    timeout: 120_000,
  }, async () => {
    for (const [path, m] of [
      [`/${b}/k`, 'POST'],
      [`/${b}/k`, 'DELETE'],
      [`/${b}`, 'PUT'],
    ] as const) {
      const res = await preflight(path, CONSOLE_ORIGIN, m);
      assert.equal(res.status, 200, `${m} ${path}: ${res.text}`);
      assert.equal(res.headers['access-control-allow-origin'], CONSOLE_ORIGIN);
    }
  });

  test('the actual PUT from the console exposes ETag', { timeout: 120_000 }, async () => {
    const res = await send({
      method: 'PUT',
      path: `/${b}/from-console.txt`,
      body: 'x',
      headers: { origin: CONSOLE_ORIGIN },
      auth: asOwner(),
    });
    assert.equal(res.status, 200, res.text);
    assert.ok(res.headers.etag, 'ETag header');
    assert.equal(res.headers['access-control-allow-origin'], CONSOLE_ORIGIN);
    assert.deepEqual(listOf(res.headers['access-control-expose-headers']), ['etag']);
    assert.ok(listOf(res.headers.vary).includes('origin'), String(res.headers.vary));
  });

  test('GET preflight from any origin: Allow-Origin, GET and Max-Age 3000', { timeout: 120_000 }, async () => {
    for (const origin of ['https://example.org', 'http://localhost:3000', CONSOLE_ORIGIN]) {
      const res = await preflight(`/${b}/obj.txt`, origin, 'GET');
      assert.equal(res.status, 200, `${origin}: ${res.text}`);
      assert.ok(
        ['*', origin].includes(String(res.headers['access-control-allow-origin'])),
        String(res.headers['access-control-allow-origin']),
      );
      assert.deepEqual(listOf(res.headers['access-control-allow-methods']), ['get']);
      assert.equal(res.headers['access-control-max-age'], '3000');
    }
  });

  test('a non-matching origin is refused with 403', { timeout: 120_000 }, async () => {
    for (const origin of [
      'https://evil.example',
      'http://console.clever-cloud.com',
      'https://console.clever-cloud.com.evil.example',
    ]) {
      const res = await preflight(`/${b}/obj.txt`, origin, 'PUT');
      assertS3Error(res, 403, 'AccessForbidden');
      assert.equal(res.headers['access-control-allow-origin'], undefined, origin);
    }
  });

  test('a non-matching method is refused with 403', { timeout: 120_000 }, async () => {
    for (const [origin, m] of [
      ['https://example.org', 'PUT'],
      ['https://example.org', 'DELETE'],
      [CONSOLE_ORIGIN, 'HEAD'],
      [CONSOLE_ORIGIN, 'PATCH'],
    ] as const) {
      const res = await preflight(`/${b}/obj.txt`, origin, m);
      assertS3Error(res, 403, 'AccessForbidden');
      assert.equal(res.headers['access-control-allow-methods'], undefined, `${origin} ${m}`);
    }
  });

  test('a GET preflight asking for a header the GET rule does not allow is refused', { timeout: 120_000 }, async () => {
    const res = await preflight(`/${b}/obj.txt`, 'https://example.org', 'GET', 'x-custom');
    assertS3Error(res, 403, 'AccessForbidden');
  });

  test('actual GET with an Origin gets Access-Control-Allow-Origin and Vary: Origin', {
    timeout: 120_000,
  }, async () => {
    const res = await send({ path: `/${b}/obj.txt`, headers: { origin: 'https://example.org' } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, 'content');
    assert.ok(['*', 'https://example.org'].includes(String(res.headers['access-control-allow-origin'])));
    assert.ok(listOf(res.headers.vary).includes('origin'), String(res.headers.vary));
  });

  test('an actual request whose origin or method matches no rule gets no CORS headers', {
    timeout: 120_000,
  }, async () => {
    const put = await send({
      method: 'PUT',
      path: `/${b}/evil.txt`,
      body: 'x',
      headers: { origin: 'https://evil.example' },
      auth: asOwner(),
    });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.headers['access-control-allow-origin'], undefined);
    assert.equal(put.headers['access-control-expose-headers'], undefined);
    const noOrigin = await send({ path: `/${b}/obj.txt` });
    assert.equal(noOrigin.headers['access-control-allow-origin'], undefined);
  });

  test('errors carry CORS headers too, so the browser can read them', { timeout: 120_000 }, async () => {
    const res = await send({ path: `/${b}/missing.txt`, headers: { origin: 'https://example.org' } });
    assert.equal(res.status, 403, res.text);
    assert.ok(res.headers['access-control-allow-origin']);
  });

  test('CORS rules open nothing: a cross-origin PUT still needs credentials', { timeout: 120_000 }, async () => {
    const res = await send({ method: 'PUT', path: `/${b}/anon.txt`, body: 'x', headers: { origin: CONSOLE_ORIGIN } });
    assertS3Error(res, 403, 'AccessDenied');
    assert.equal(t.cellar.storage.headObject(b, 'anon.txt'), null);
  });
});

describe('CORS configuration lifecycle', () => {
  const b = 'cors-life';
  before(() => bucketWith(b));

  test('no configuration: preflight 403 and NoSuchCORSConfiguration', { timeout: 120_000 }, async () => {
    assertS3Error(await preflight(`/${b}/obj.txt`, 'https://example.org', 'GET'), 403, 'AccessForbidden');
    assertS3Error(await send({ path: `/${b}?cors`, auth: asOwner() }), 404, 'NoSuchCORSConfiguration');
  });

  test('preflight on a missing bucket is NoSuchBucket; without Origin it is a bad request', {
    timeout: 120_000,
  }, async () => {
    assertS3Error(await preflight('/no-such-bucket/k', 'https://example.org', 'GET'), 404, 'NoSuchBucket');
    assertS3Error(
      await send({ method: 'OPTIONS', path: `/${b}/k`, headers: { 'access-control-request-method': 'GET' } }),
      400,
      'BadRequest',
    );
  });

  test('updating the configuration replaces the old one', { timeout: 120_000 }, async () => {
    assert.equal((await putCors(b, DOC_CORS_XML)).status, 200);
    assert.equal((await preflight(`/${b}/k`, CONSOLE_ORIGIN, 'PUT')).status, 200);
    const replacement =
      '<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod></CORSRule></CORSConfiguration>';
    assert.equal((await putCors(b, replacement)).status, 200);
    assertS3Error(await preflight(`/${b}/k`, CONSOLE_ORIGIN, 'PUT'), 403, 'AccessForbidden');
    assertS3Error(await preflight(`/${b}/k`, 'https://example.org', 'GET'), 403, 'AccessForbidden');
    const ok2 = await preflight(`/${b}/k`, 'https://app.example', 'HEAD');
    assert.equal(ok2.status, 200);
    const got = await ok({ path: `/${b}?cors` });
    assert.equal(got.text.split('<CORSRule>').length - 1, 1, got.text);
    assert.doesNotMatch(got.text, /console\.clever-cloud\.com/);
  });

  test('invalid configurations are refused and keep the current one', { timeout: 120_000 }, async () => {
    const rows: Array<[string, string, number]> = [
      [
        '<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>',
        'InvalidRequest',
        400,
      ],
      [
        '<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>',
        'MalformedXML',
        400,
      ],
      ['<CORSConfiguration></CORSConfiguration>', 'MalformedXML', 400],
      ['<CORSConfiguration><CORSRule>', 'MalformedXML', 400],
      [
        '<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>soon</MaxAgeSeconds></CORSRule></CORSConfiguration>',
        'MalformedXML',
        400,
      ],
    ];
    for (const [xml, code, status] of rows) assertS3Error(await putCors(b, xml), status, code);
    assert.equal((await preflight(`/${b}/k`, 'https://app.example', 'HEAD')).status, 200);
  });

  test('only the owner changes CORS; DeleteBucketCors drops it', { timeout: 120_000 }, async () => {
    assertS3Error(await putCors(b, DOC_CORS_XML, asOther()), 403, 'AccessDenied');
    assertS3Error(await send({ method: 'DELETE', path: `/${b}?cors`, auth: asOther() }), 403, 'AccessDenied');
    assert.equal((await ok({ method: 'DELETE', path: `/${b}?cors` })).status, 204);
    assertS3Error(await preflight(`/${b}/k`, 'https://app.example', 'HEAD'), 403, 'AccessForbidden');
    assertS3Error(await send({ path: `/${b}?cors`, auth: asOwner() }), 404, 'NoSuchCORSConfiguration');
  });
});

/** Inserts grants into an AccessControlPolicy document, before </AccessControlList>. */
const addGrants = (xml: string, grants: string): string =>
  xml.replace('</AccessControlList>', `${grants}</AccessControlList>`);
const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
const canonicalGrant = (id: string, perm: string): string =>
  `<Grant><Grantee ${XSI} xsi:type="CanonicalUser"><ID>${id}</ID></Grantee><Permission>${perm}</Permission></Grant>`;

describe('ACLs', () => {
  const b = 'acl-xml';
  before(() => bucketWith(b));

  test('GetObjectAcl -> PutObjectAcl round trip adding grants by id and by e-mail', { timeout: 120_000 }, async () => {
    const original = (await ok({ path: `/${b}/obj.txt?acl` })).text;
    assert.match(original, new RegExp(`<Owner><ID>${t.owner.id}</ID>`));
    assert.match(original, /<Permission>FULL_CONTROL<\/Permission>/);
    assertS3Error(await send({ path: `/${b}/obj.txt`, auth: asOther() }), 403, 'AccessDenied');
    assertS3Error(await send({ path: `/${b}/obj.txt`, auth: { type: 'v4', addon: mailed } }), 403, 'AccessDenied');

    const emailGrant = `<Grant><Grantee ${XSI} xsi:type="AmazonCustomerByEmail"><EmailAddress>${EMAIL}</EmailAddress></Grantee><Permission>READ</Permission></Grant>`;
    const updated = addGrants(original, canonicalGrant(other.id, 'READ') + emailGrant);
    await ok({ method: 'PUT', path: `/${b}/obj.txt?acl`, body: updated });

    const after = (await ok({ path: `/${b}/obj.txt?acl` })).text;
    assert.equal(after.split('<Grant>').length - 1, 3, after);
    assert.match(
      after,
      new RegExp(`<ID>${other.id}</ID><DisplayName>second</DisplayName></Grantee><Permission>READ</Permission>`),
    );
    // The e-mail grant is stored as the add-on it names.
    assert.match(after, new RegExp(`xsi:type="CanonicalUser"><ID>${mailed.id}</ID>`));
    assert.doesNotMatch(after, /EmailAddress/);
    for (const who of [other, mailed]) {
      const res = await send({ path: `/${b}/obj.txt`, auth: { type: 'v4', addon: who } });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.text, 'content');
      // READ on the object is not READ_ACP, nor a right to write.
      assertS3Error(await send({ path: `/${b}/obj.txt?acl`, auth: { type: 'v4', addon: who } }), 403, 'AccessDenied');
      assertS3Error(
        await send({ method: 'PUT', path: `/${b}/obj.txt`, body: 'x', auth: { type: 'v4', addon: who } }),
        403,
        'AccessDenied',
      );
    }
    assertS3Error(await send({ path: `/${b}/obj.txt` }), 403, 'AccessDenied');
  });

  test('GetBucketAcl -> PutBucketAcl round trip with an AllUsers READ grant makes the bucket listable', {
    timeout: 120_000,
  }, async () => {
    const original = (await ok({ path: `/${b}?acl` })).text;
    const allUsers = `<Grant><Grantee ${XSI} xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>`;
    await ok({ method: 'PUT', path: `/${b}?acl`, body: addGrants(original, allUsers) });
    assert.match((await ok({ path: `/${b}?acl` })).text, /AllUsers<\/URI><\/Grantee><Permission>READ/);
    assert.equal((await send({ path: `/${b}` })).status, 200);
    await ok({ method: 'PUT', path: `/${b}?acl`, body: original });
    assertS3Error(await send({ path: `/${b}` }), 403, 'AccessDenied');
  });

  test('malformed ACL documents are MalformedACLError; unknown grantees are refused', {
    timeout: 120_000,
  }, async () => {
    const good = (await ok({ path: `/${b}/obj.txt?acl` })).text;
    const rows: Array<[string, string, number]> = [
      ['<AccessControlPolicy><AccessControlList>', 'MalformedACLError', 400],
      ['not xml at all', 'MalformedACLError', 400],
      ['<Something/>', 'MalformedACLError', 400],
      [addGrants(good, canonicalGrant(other.id, 'READ_EVERYTHING')), 'MalformedACLError', 400],
      [addGrants(good, `<Grant><Grantee ${XSI}/><Permission>READ</Permission></Grant>`), 'MalformedACLError', 400],
      [addGrants(good, '<Grant><Permission>READ</Permission></Grant>'), 'MalformedACLError', 400],
      [addGrants(good, canonicalGrant('cellar_nobody', 'READ')), 'InvalidArgument', 400],
      [
        addGrants(
          good,
          `<Grant><Grantee ${XSI} xsi:type="AmazonCustomerByEmail"><EmailAddress>nobody@example.com</EmailAddress></Grantee><Permission>READ</Permission></Grant>`,
        ),
        'UnresolvableGrantByEmailAddress',
        400,
      ],
      [
        addGrants(
          good,
          `<Grant><Grantee ${XSI} xsi:type="Group"><URI>http://example.com/everyone</URI></Grantee><Permission>READ</Permission></Grant>`,
        ),
        'InvalidArgument',
        400,
      ],
      // Another owner than the object's: S3 refuses it.
      [good.replace(`<Owner><ID>${t.owner.id}</ID>`, `<Owner><ID>${other.id}</ID>`), 'AccessDenied', 403],
    ];
    const before = JSON.stringify(t.cellar.storage.headObject(b, 'obj.txt')!.acl);
    for (const [body, code, status] of rows) {
      assertS3Error(await send({ method: 'PUT', path: `/${b}/obj.txt?acl`, body, auth: asOwner() }), status, code);
    }
    assertS3Error(
      await send({ method: 'PUT', path: `/${b}?acl`, body: '<AccessControlPolicy><Oops>', auth: asOwner() }),
      400,
      'MalformedACLError',
    );
    assertS3Error(
      await send({ method: 'PUT', path: `/${b}/obj.txt?acl`, auth: asOwner() }),
      400,
      'MissingSecurityHeader',
    );
    assert.equal(JSON.stringify(t.cellar.storage.headObject(b, 'obj.txt')!.acl), before);
  });

  test('x-amz-grant-* headers on PutObject, PutObjectAcl and PutBucketAcl', { timeout: 120_000 }, async () => {
    await ok({
      method: 'PUT',
      path: `/${b}/granted.txt`,
      body: 'g',
      headers: { 'x-amz-grant-read': `id="${other.id}"`, 'x-amz-grant-full-control': `id="${t.owner.id}"` },
    });
    assert.equal((await send({ path: `/${b}/granted.txt`, auth: asOther() })).status, 200);
    assertS3Error(await send({ path: `/${b}/granted.txt` }), 403, 'AccessDenied');

    await ok({
      method: 'PUT',
      path: `/${b}/granted.txt?acl`,
      headers: { 'x-amz-grant-read': `emailAddress="${EMAIL}", uri="http://acs.amazonaws.com/groups/global/AllUsers"` },
    });
    assert.equal((await send({ path: `/${b}/granted.txt`, auth: { type: 'v4', addon: mailed } })).status, 200);
    assert.equal((await send({ path: `/${b}/granted.txt` })).status, 200);
    // Header grants replace the whole ACL: the second add-on's own grant is gone.
    const acl = (await ok({ path: `/${b}/granted.txt?acl` })).text;
    assert.doesNotMatch(acl, new RegExp(other.id));
    assert.match(acl, new RegExp(mailed.id));

    await ok({
      method: 'PUT',
      path: `/${b}?acl`,
      headers: { 'x-amz-grant-write': `id="${other.id}"`, 'x-amz-grant-full-control': `id="${t.owner.id}"` },
    });
    assert.equal((await send({ method: 'PUT', path: `/${b}/by-other.txt`, body: 'o', auth: asOther() })).status, 200);
    assertS3Error(await send({ path: `/${b}?acl`, auth: asOther() }), 403, 'AccessDenied');
    await ok({ method: 'PUT', path: `/${b}?acl`, headers: { 'x-amz-acl': 'private' } });
    assertS3Error(
      await send({ method: 'PUT', path: `/${b}/by-other2.txt`, body: 'o', auth: asOther() }),
      403,
      'AccessDenied',
    );
  });

  test('bad grant headers and mixing them with x-amz-acl are refused', { timeout: 120_000 }, async () => {
    const rows: Array<[Record<string, string>, string]> = [
      [{ 'x-amz-grant-read': 'id="cellar_nobody"' }, 'InvalidArgument'],
      [{ 'x-amz-grant-read': 'emailAddress="nobody@example.com"' }, 'UnresolvableGrantByEmailAddress'],
      [{ 'x-amz-grant-read': 'bogus' }, 'InvalidArgument'],
      [{ 'x-amz-grant-read': 'uri="http://example.com/group"' }, 'InvalidArgument'],
      [{ 'x-amz-grant-read': `id="${other.id}"`, 'x-amz-acl': 'private' }, 'InvalidRequest'],
      [{ 'x-amz-acl': 'everyone-please' }, 'InvalidArgument'],
    ];
    const before = JSON.stringify(t.cellar.storage.headObject(b, 'obj.txt')!.acl);
    for (const [headers, code] of rows) {
      assertS3Error(await send({ method: 'PUT', path: `/${b}/obj.txt?acl`, headers, auth: asOwner() }), 400, code);
      assertS3Error(
        await send({ method: 'PUT', path: `/${b}/refused.txt`, body: 'r', headers, auth: asOwner() }),
        400,
        code,
      );
      assertS3Error(
        await send({
          method: 'PUT',
          path: `/${b}/refused.txt`,
          headers: { ...headers, 'x-amz-copy-source': `/${b}/obj.txt` },
          auth: asOwner(),
        }),
        400,
        code,
      );
      assertS3Error(await send({ method: 'PUT', path: '/refused-bucket', headers, auth: asOwner() }), 400, code);
    }
    assert.equal(JSON.stringify(t.cellar.storage.headObject(b, 'obj.txt')!.acl), before);
    assert.equal(t.cellar.storage.headObject(b, 'refused.txt'), null);
    assert.equal(t.cellar.storage.bucket('refused-bucket'), null);
  });

  test('grant headers naming an e-mail on PutObject and CreateBucket resolve to the add-on', {
    timeout: 120_000,
  }, async () => {
    await ok({
      method: 'PUT',
      path: `/${b}/for-third.txt`,
      body: 't',
      headers: { 'x-amz-grant-read': `emailAddress="${EMAIL}"` },
    });
    assert.equal((await send({ path: `/${b}/for-third.txt`, auth: { type: 'v4', addon: mailed } })).text, 't');
    await ok({
      method: 'PUT',
      path: '/acl-by-mail',
      headers: { 'x-amz-grant-read': `emailAddress="${EMAIL}"`, 'x-amz-grant-full-control': `id="${t.owner.id}"` },
    });
    assert.equal((await send({ path: '/acl-by-mail', auth: { type: 'v4', addon: mailed } })).status, 200);
    assertS3Error(await send({ path: '/acl-by-mail', auth: asOther() }), 403, 'AccessDenied');
    assert.match((await ok({ path: '/acl-by-mail?acl' })).text, new RegExp(`<ID>${mailed.id}</ID>`));
  });

  test('canned ACLs on CreateBucket, PutObject and CopyObject', { timeout: 120_000 }, async () => {
    await ok({ method: 'PUT', path: '/acl-canned', headers: { 'x-amz-acl': 'public-read' } });
    assert.equal((await send({ path: '/acl-canned' })).status, 200, 'public-read bucket is listable anonymously');
    await ok({ method: 'PUT', path: '/acl-canned/private.txt', body: 'p' });
    assertS3Error(await send({ path: '/acl-canned/private.txt' }), 403, 'AccessDenied');
    await ok({ method: 'PUT', path: '/acl-canned/public.txt', body: 'p', headers: { 'x-amz-acl': 'public-read' } });
    assert.equal((await send({ path: '/acl-canned/public.txt' })).text, 'p');
    await ok({
      method: 'PUT',
      path: '/acl-canned/authn.txt',
      body: 'a',
      headers: { 'x-amz-acl': 'authenticated-read' },
    });
    assert.equal((await send({ path: '/acl-canned/authn.txt', auth: asOther() })).status, 200);
    assertS3Error(await send({ path: '/acl-canned/authn.txt' }), 403, 'AccessDenied');
    await ok({
      method: 'PUT',
      path: '/acl-canned/copy.txt',
      headers: { 'x-amz-copy-source': '/acl-canned/private.txt', 'x-amz-acl': 'public-read' },
    });
    assert.equal((await send({ path: '/acl-canned/copy.txt' })).text, 'p');
    // A copy does not carry the source's ACL: without x-amz-acl it is private.
    await ok({
      method: 'PUT',
      path: '/acl-canned/copy2.txt',
      headers: { 'x-amz-copy-source': '/acl-canned/public.txt' },
    });
    assertS3Error(await send({ path: '/acl-canned/copy2.txt' }), 403, 'AccessDenied');
  });

  test('public-read-write lets anyone write; the bucket owner still owns the bucket', {
    timeout: 120_000,
  }, async () => {
    await ok({ method: 'PUT', path: '/acl-prw', headers: { 'x-amz-acl': 'public-read-write' } });
    assert.equal((await send({ method: 'PUT', path: '/acl-prw/anon.txt', body: 'a' })).status, 200);
    assert.equal((await send({ method: 'PUT', path: '/acl-prw/other.txt', body: 'o', auth: asOther() })).status, 200);
    assertS3Error(await send({ path: '/acl-prw?acl' }), 403, 'AccessDenied');
    assertS3Error(
      await send({ method: 'PUT', path: '/acl-prw?policy', body: publicPolicy('acl-prw') }),
      403,
      'AccessDenied',
    );
    assertS3Error(await send({ method: 'DELETE', path: '/acl-prw', auth: asOther() }), 403, 'AccessDenied');
  });

  test('multipart in a public-read-write bucket: the initiator lists its parts, completes and aborts; others do not', {
    timeout: 120_000,
  }, async () => {
    const start = async (key: string): Promise<string> => {
      const res = await send({ method: 'POST', path: `/acl-prw/${key}?uploads`, auth: asOther() });
      assert.equal(res.status, 200, res.text);
      const id = /<UploadId>([^<]+)<\/UploadId>/.exec(res.text)![1]!;
      assert.equal(
        (
          await send({
            method: 'PUT',
            path: `/acl-prw/${key}?partNumber=1&uploadId=${id}`,
            body: 'part',
            auth: asOther(),
          })
        ).status,
        200,
      );
      return id;
    };
    const id = await start('mp-other.bin');
    assert.equal(
      (await send({ path: `/acl-prw/mp-other.bin?uploadId=${id}`, auth: asOther() })).status,
      200,
      'initiator lists parts',
    );
    assertS3Error(
      await send({ path: `/acl-prw/mp-other.bin?uploadId=${id}`, auth: { type: 'v4', addon: mailed } }),
      403,
      'AccessDenied',
    );
    assertS3Error(
      await send({
        method: 'DELETE',
        path: `/acl-prw/mp-other.bin?uploadId=${id}`,
        auth: { type: 'v4', addon: mailed },
      }),
      403,
      'AccessDenied',
    );
    assert.equal(
      (await send({ method: 'DELETE', path: `/acl-prw/mp-other.bin?uploadId=${id}`, auth: asOther() })).status,
      204,
      'initiator aborts',
    );
    // The bucket owner may abort any upload in its bucket.
    const id2 = await start('mp-owner-aborts.bin');
    assert.equal((await ok({ path: `/acl-prw/mp-owner-aborts.bin?uploadId=${id2}` })).status, 200);
    assert.equal((await ok({ method: 'DELETE', path: `/acl-prw/mp-owner-aborts.bin?uploadId=${id2}` })).status, 204);
  });
});

const policyPut = (bucket: string, body: string, auth: RawAuth = asOwner()): Promise<RawResponse> =>
  send({ method: 'PUT', path: `/${bucket}?policy`, body, auth });
const messageOf = (res: RawResponse): string => /<Message>([^<]*)<\/Message>/.exec(res.text)?.[1] ?? '';

describe('bucket policies', () => {
  test('the documented public policy: anonymous reads work, anonymous writes and listing do not', {
    timeout: 120_000,
  }, async () => {
    const b = 'pol-public';
    await bucketWith(b, 'index.html');
    assertS3Error(await send({ path: `/${b}/index.html` }), 403, 'AccessDenied');
    const doc = publicPolicy(b);
    assert.equal((await policyPut(b, doc)).status, 204);
    assert.equal((await ok({ path: `/${b}?policy` })).text, doc, 'GetBucketPolicy returns the document as sent');
    const res = await send({ path: `/${b}/index.html` });
    assert.equal(res.status, 200);
    assert.equal(res.text, 'content');
    assert.equal((await send({ method: 'HEAD', path: `/${b}/index.html` })).status, 200);
    // Who may not list gets AccessDenied for a missing key too.
    assertS3Error(await send({ path: `/${b}/missing.html` }), 403, 'AccessDenied');
    for (const r of [
      { method: 'PUT', path: `/${b}/evil.html`, body: 'x' },
      { method: 'DELETE', path: `/${b}/index.html` },
      { method: 'GET', path: `/${b}` },
      { method: 'GET', path: `/${b}?policy` },
      { method: 'DELETE', path: `/${b}?policy` },
    ])
      assertS3Error(await send(r), 403, 'AccessDenied');
    assert.ok(t.cellar.storage.headObject(b, 'index.html'));
    assert.equal(t.cellar.storage.headObject(b, 'evil.html'), null);
    assert.match((await ok({ path: `/${b}?policyStatus` })).text, /<IsPublic>true<\/IsPublic>/);
    // Removing the policy restores the ACLs: the object is private again.
    assert.equal((await ok({ method: 'DELETE', path: `/${b}?policy` })).status, 204);
    assertS3Error(await send({ path: `/${b}/index.html` }), 403, 'AccessDenied');
    assertS3Error(await send({ path: `/${b}?policy`, auth: asOwner() }), 404, 'NoSuchBucketPolicy');
  });

  test('the documented read-only policy: the second add-on reads and can do nothing else', {
    timeout: 120_000,
  }, async () => {
    const b = 'pol-readonly';
    await bucketWith(b);
    assert.equal((await policyPut(b, readOnlyPolicy(b, other.id))).status, 204);
    assert.equal((await send({ path: `/${b}/obj.txt`, auth: asOther() })).text, 'content');
    assert.match((await ok({ path: `/${b}?policyStatus` })).text, /<IsPublic>false<\/IsPublic>/);
    for (const r of [
      { method: 'PUT', path: `/${b}/new.txt`, body: 'x' },
      { method: 'DELETE', path: `/${b}/obj.txt` },
      { method: 'GET', path: `/${b}` },
      { method: 'PUT', path: `/${b}?policy`, body: publicPolicy(b) },
      { method: 'DELETE', path: `/${b}?policy` },
      { method: 'PUT', path: `/${b}?acl`, headers: { 'x-amz-acl': 'public-read' } },
      { method: 'DELETE', path: `/${b}` },
    ])
      assertS3Error(await send({ ...r, auth: asOther() }), 403, 'AccessDenied');
    assertS3Error(await send({ path: `/${b}/obj.txt` }), 403, 'AccessDenied');
    assertS3Error(await send({ path: `/${b}/obj.txt`, auth: { type: 'v4', addon: mailed } }), 403, 'AccessDenied');
    await ok({ method: 'DELETE', path: `/${b}?policy` });
    assertS3Error(await send({ path: `/${b}/obj.txt`, auth: asOther() }), 403, 'AccessDenied');
  });

  test('malformed policies are MalformedPolicy with a reason', { timeout: 120_000 }, async () => {
    const b = 'pol-bad';
    await bucketWith(b);
    const st = (s: Record<string, unknown>): string =>
      JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${b}/*`, ...s }],
      });
    const rows: Array<[string, string, RegExp]> = [
      ['not json', 'not json', /valid JSON/],
      ['empty statement list', JSON.stringify({ Version: '2012-10-17', Statement: [] }), /Statement/],
      ['bad effect', st({ Effect: 'Maybe' }), /effect/i],
      ['bad version', st({}).replace('2012-10-17', '2020-01-01'), /version/i],
      ['ListBucket on objects', st({ Action: 's3:ListBucket' }), /does not apply/],
      ['another bucket', st({ Resource: 'arn:aws:s3:::someone-else/*' }), /resource/i],
      ['no resource', st({ Resource: undefined }), /Resource/],
      ['unknown field', st({ Colour: 'blue' }), /Unknown field/],
      ['bad principal', st({ Principal: { Service: 'ec2.amazonaws.com' } }), /principal/i],
      ['bad action', st({ Action: 'ec2:RunInstances' }), /action/i],
      ['unknown condition operator', st({ Condition: { StringSounds: { 'aws:Referer': 'x' } } }), /.+/],
      ['unknown add-on', st({ Principal: { AWS: 'arn:aws:iam::cellar_doesnotexist' } }), /Invalid principal/],
    ];
    for (const [name, body, reason] of rows) {
      const res = await policyPut(b, body);
      assertS3Error(res, 400, 'MalformedPolicy');
      assert.match(messageOf(res), reason, `${name}: ${res.text}`);
    }
    assertS3Error(await policyPut(b, ''), 400, 'MalformedPolicy');
    assertS3Error(await send({ path: `/${b}?policy`, auth: asOwner() }), 404, 'NoSuchBucketPolicy');
    assertS3Error(await send({ path: `/${b}?policyStatus`, auth: asOwner() }), 404, 'NoSuchBucketPolicy');
  });

  test('an explicit Deny beats the owner for object operations; the owner can still delete the policy', {
    timeout: 120_000,
  }, async () => {
    const b = 'pol-deny';
    await bucketWith(b);
    const deny = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'NoTouch',
          Effect: 'Deny',
          Principal: '*',
          Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
          Resource: `arn:aws:s3:::${b}/*`,
        },
      ],
    });
    assert.equal((await policyPut(b, deny)).status, 204);
    assertS3Error(await send({ path: `/${b}/obj.txt`, auth: asOwner() }), 403, 'AccessDenied');
    assertS3Error(await send({ method: 'HEAD', path: `/${b}/obj.txt`, auth: asOwner() }), 403, 'AccessDenied', 'HEAD');
    assertS3Error(await send({ path: `/${b}/missing.txt`, auth: asOwner() }), 403, 'AccessDenied');
    assertS3Error(
      await send({ method: 'PUT', path: `/${b}/obj.txt`, body: 'x', auth: asOwner() }),
      403,
      'AccessDenied',
    );
    assertS3Error(await send({ method: 'DELETE', path: `/${b}/obj.txt`, auth: asOwner() }), 403, 'AccessDenied');
    const multi = '<Delete><Object><Key>obj.txt</Key></Object></Delete>';
    const del = await send({
      method: 'POST',
      path: `/${b}?delete`,
      body: multi,
      headers: { 'content-md5': md5Base64(multi) },
      auth: asOwner(),
    });
    assert.equal(del.status, 200);
    assert.match(del.text, /<Error><Key>obj.txt<\/Key><Code>AccessDenied<\/Code>/);
    assertS3Error(
      await send({
        method: 'PUT',
        path: `/${b}/copy.txt`,
        headers: { 'x-amz-copy-source': `/${b}/obj.txt` },
        auth: asOwner(),
      }),
      403,
      'AccessDenied',
    );
    assert.ok(t.cellar.storage.headObject(b, 'obj.txt'));
    // Listing is not denied, and the policy stays the owner's to manage.
    assert.equal((await send({ path: `/${b}`, auth: asOwner() })).status, 200);
    assert.equal((await ok({ path: `/${b}?policy` })).text, deny);
    assert.equal((await ok({ method: 'DELETE', path: `/${b}?policy` })).status, 204);
    assert.equal((await ok({ path: `/${b}/obj.txt` })).text, 'content');
  });

  test('a policy that denies the owner everything can still be replaced by the owner, not by others', {
    timeout: 120_000,
  }, async () => {
    const b = 'pol-lockout';
    await bucketWith(b);
    const all = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: [`arn:aws:s3:::${b}`, `arn:aws:s3:::${b}/*`] },
      ],
    });
    assert.equal((await policyPut(b, all)).status, 204);
    assertS3Error(await send({ path: `/${b}`, auth: asOwner() }), 403, 'AccessDenied');
    assertS3Error(await send({ path: `/${b}?acl`, auth: asOwner() }), 403, 'AccessDenied');
    assertS3Error(await policyPut(b, publicPolicy(b), asOther()), 403, 'AccessDenied');
    assert.equal((await policyPut(b, publicPolicy(b))).status, 204);
    assert.equal((await send({ path: `/${b}`, auth: asOwner() })).status, 200);
  });

  test('conditions, NotAction and per-key DeleteObjects with the second add-on', { timeout: 120_000 }, async () => {
    const b = 'pol-cond';
    await bucketWith(b);
    for (const k of ['public/a.txt', 'tmp/x.txt', 'keep/y.txt'])
      await ok({ method: 'PUT', path: `/${b}/${k}`, body: k });
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ListPublic',
          Effect: 'Allow',
          Principal: { AWS: [`arn:aws:iam::${other.id}`] },
          Action: 's3:ListBucket',
          Resource: `arn:aws:s3:::${b}`,
          Condition: { StringLike: { 's3:prefix': 'public/*' } },
        },
        {
          Sid: 'LocalReads',
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: 's3:Get*',
          Resource: `arn:aws:s3:::${b}/public/*`,
          Condition: { IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } },
        },
        {
          Sid: 'TmpCleanup',
          Effect: 'Allow',
          Principal: { AWS: other.id },
          Action: 's3:DeleteObject',
          Resource: `arn:aws:s3:::${b}/tmp/*`,
        },
        {
          Sid: 'WritesNeedOwnerControl',
          Effect: 'Allow',
          Principal: { AWS: other.id },
          Action: 's3:PutObject',
          Resource: `arn:aws:s3:::${b}/tmp/*`,
          Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control' } },
        },
        {
          Sid: 'NothingButReads',
          Effect: 'Deny',
          Principal: '*',
          NotAction: ['s3:Get*', 's3:List*', 's3:PutObject', 's3:DeleteObject', 's3:*Policy*'],
          Resource: [`arn:aws:s3:::${b}`, `arn:aws:s3:::${b}/*`],
        },
      ],
    });
    assert.equal((await policyPut(b, policy)).status, 204);
    assert.equal((await send({ path: `/${b}?prefix=public/`, auth: asOther() })).status, 200);
    assertS3Error(await send({ path: `/${b}`, auth: asOther() }), 403, 'AccessDenied');
    assertS3Error(await send({ path: `/${b}?prefix=keep/`, auth: asOther() }), 403, 'AccessDenied');
    assert.equal((await send({ path: `/${b}/public/a.txt` })).text, 'public/a.txt');
    assertS3Error(await send({ path: `/${b}/keep/y.txt` }), 403, 'AccessDenied');
    assertS3Error(
      await send({ method: 'PUT', path: `/${b}/tmp/new.txt`, body: 'n', auth: asOther() }),
      403,
      'AccessDenied',
    );
    assert.equal(
      (
        await send({
          method: 'PUT',
          path: `/${b}/tmp/new.txt`,
          body: 'n',
          headers: { 'x-amz-acl': 'bucket-owner-full-control' },
          auth: asOther(),
        })
      ).status,
      200,
    );
    const multi = '<Delete><Object><Key>tmp/x.txt</Key></Object><Object><Key>keep/y.txt</Key></Object></Delete>';
    const del = await send({
      method: 'POST',
      path: `/${b}?delete`,
      body: multi,
      headers: { 'content-md5': md5Base64(multi) },
      auth: asOther(),
    });
    assert.equal(del.status, 200, del.text);
    assert.match(del.text, /<Deleted><Key>tmp\/x.txt<\/Key>/);
    assert.match(del.text, /<Error><Key>keep\/y.txt<\/Key><Code>AccessDenied<\/Code>/);
    assert.equal(t.cellar.storage.headObject(b, 'tmp/x.txt'), null);
    assert.ok(t.cellar.storage.headObject(b, 'keep/y.txt'));
    // NotAction: the owner's CORS change is neither a read, a write of an object nor a policy call.
    assertS3Error(await putCors(b, DOC_CORS_XML), 403, 'AccessDenied');
    // An address condition that does not hold leaves the anonymous reader with nothing.
    assert.equal((await policyPut(b, policy.replace('127.0.0.0/8', '10.0.0.0/8'))).status, 204);
    assertS3Error(await send({ path: `/${b}/public/a.txt` }), 403, 'AccessDenied');
  });

  test("a policy granting another add-on s3:* still keeps the policy itself the owner's (405 for the grantee)", {
    timeout: 120_000,
  }, async () => {
    const b = 'pol-share-all';
    await bucketWith(b);
    const all = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${other.id}` },
          Action: 's3:*',
          Resource: [`arn:aws:s3:::${b}`, `arn:aws:s3:::${b}/*`],
        },
      ],
    });
    assert.equal((await policyPut(b, all)).status, 204);
    // The grant works for data...
    assert.equal((await send({ method: 'PUT', path: `/${b}/shared.txt`, body: 's', auth: asOther() })).status, 200);
    assert.equal((await send({ path: `/${b}`, auth: asOther() })).status, 200);
    // ...but only the bucket owner's account may read or change the policy (API_PutBucketPolicy.html).
    assertS3Error(await send({ path: `/${b}?policy`, auth: asOther() }), 405, 'MethodNotAllowed');
    assertS3Error(await policyPut(b, publicPolicy(b), asOther()), 405, 'MethodNotAllowed');
    assertS3Error(await send({ method: 'DELETE', path: `/${b}?policy`, auth: asOther() }), 405, 'MethodNotAllowed');
    assert.equal(t.cellar.storage.bucket(b)!.policy, all);
    assertS3Error(await send({ path: `/${b}/obj.txt` }), 403, 'AccessDenied');
  });

  test("policy errors are the owner's alone to see; others get AccessDenied", { timeout: 120_000 }, async () => {
    const b = 'pol-others';
    await bucketWith(b);
    assertS3Error(await policyPut(b, 'not json', asOther()), 403, 'AccessDenied');
    assertS3Error(await send({ method: 'PUT', path: `/${b}?policy`, body: 'not json' }), 403, 'AccessDenied');
    assertS3Error(await send({ path: `/${b}?policyStatus`, auth: asOther() }), 403, 'AccessDenied');
  });
});

describe('what `s3cmd info` asks for', () => {
  const b = 'info-bucket';
  before(() => bucketWith(b));

  test('location, payer, ACL, and the not-configured answers', { timeout: 120_000 }, async () => {
    assert.match((await ok({ path: `/${b}?location` })).text, /<LocationConstraint[^>]*>/);
    assert.match((await ok({ path: `/${b}?requestPayment` })).text, /<Payer>BucketOwner<\/Payer>/);
    assert.match((await ok({ path: `/${b}?acl` })).text, new RegExp(`<ID>${t.owner.id}</ID>`));
    const rows: Array<[string, number, string]> = [
      ['policy', 404, 'NoSuchBucketPolicy'],
      ['cors', 404, 'NoSuchCORSConfiguration'],
      ['lifecycle', 404, 'NoSuchLifecycleConfiguration'],
      ['tagging', 404, 'NoSuchTagSet'],
      ['encryption', 404, 'ServerSideEncryptionConfigurationNotFoundError'],
    ];
    for (const [sub, status, code] of rows) {
      const res = await send({ path: `/${b}?${sub}`, auth: asOwner() });
      assertS3Error(res, status, code);
      assert.equal(errorCode(res.text), code);
    }
  });
});
