/**
 * The website side through the real server: Host -> bucket, clean URLs, index and error
 * documents, 403 versus 404, redirects, routing rules, SPA fallback and the configuration API.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateBucketCommand,
  DeleteBucketWebsiteCommand,
  GetBucketWebsiteCommand,
  PutBucketAclCommand,
  PutBucketPolicyCommand,
  PutBucketWebsiteCommand,
  PutObjectCommand,
  type S3Client,
  type WebsiteConfiguration,
} from '@aws-sdk/client-s3';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { raw, assertS3Error, type RawResponse } from './helpers/raw.js';

let t: TestCellar;
let s3: S3Client;

const publicPolicy = (bucket: string): string =>
  JSON.stringify({
    Id: 'Policy1587216857769',
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Stmt1587216727444',
        Action: ['s3:GetObject'],
        Effect: 'Allow',
        Resource: `arn:aws:s3:::${bucket}/*`,
        Principal: '*',
      },
    ],
  });

function web(
  host: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  // wirePath: new URL() would read `//x` as a host.
  return raw(t.endpoint, {
    method: opts.method ?? 'GET',
    path: '/',
    wirePath: path,
    headers: { host: `${host}:${t.port}`, ...opts.headers },
  });
}

async function put(
  bucket: string,
  key: string,
  body: string,
  extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {},
): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentType: key.endsWith('.html') ? 'text/html' : undefined,
      ...extra,
    }),
  );
}

async function site(bucket: string, files: Record<string, string>, opts: { policy?: boolean } = {}): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  if (opts.policy !== false)
    await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: publicPolicy(bucket) }));
  for (const [k, v] of Object.entries(files)) await put(bucket, k, v);
}

async function setWebsite(bucket: string, cfg: WebsiteConfiguration): Promise<void> {
  await s3.send(new PutBucketWebsiteCommand({ Bucket: bucket, WebsiteConfiguration: cfg }));
}

const FILES = {
  'index.html': '<h1>home</h1>',
  'login.html': '<h1>login</h1>',
  'about/index.html': '<h1>about</h1>',
  '404.html': '<h1>custom not found</h1>',
  'docs/guide': 'extensionless guide',
  'café menu.html': '<h1>menu</h1>',
};

before(async () => {
  t = await startTestCellar({ websiteDomains: ['web.test'] });
  s3 = t.client();
  await site('site', FILES);
});
after(() => t.stop());

describe('host -> bucket', () => {
  test('<bucket>.<service domain>', { timeout: 120_000 }, async () => {
    const r = await web('site.localhost', '/');
    assert.equal(r.status, 200);
    assert.equal(r.text, FILES['index.html']);
    assert.match(String(r.headers['content-type']), /^text\/html/);
  });

  test('custom domain: the bucket named exactly like the host', { timeout: 120_000 }, async () => {
    await site('www.example.test', { 'index.html': 'custom domain home' });
    const r = await web('www.example.test', '/');
    assert.equal(r.text, 'custom domain home');
    assert.equal(
      (await web('WWW.Example.Test.', '/')).text,
      'custom domain home',
      'case and trailing dot do not matter',
    );
  });

  test('website-only domain serves the site and refuses writes', { timeout: 120_000 }, async () => {
    const r = await web('site.web.test', '/login');
    assert.equal(r.text, FILES['login.html']);
    const post = await web('site.web.test', '/x', { method: 'PUT', headers: { 'content-length': '0' } });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD, OPTIONS');
    assert.match(String(post.headers['content-type']), /^text\/html/);
  });

  test('unknown bucket: a plain HTML 404 that reads like any missing page', { timeout: 120_000 }, async () => {
    await site('bare', { 'index.html': 'x' });
    const unknown = await web('nosuchbucket.localhost', '/');
    const missingPage = await web('bare.localhost', '/nope');
    assert.equal(unknown.status, 404);
    assert.match(String(unknown.headers['content-type']), /^text\/html/);
    assert.equal(unknown.text, missingPage.text);
    assert.doesNotMatch(unknown.text, /bucket|NoSuch|<\?xml/i);
    assert.equal((await web('no-such.example.org', '/')).text, missingPage.text);
  });

  test('path style on the service host stays the S3 API', { timeout: 120_000 }, async () => {
    const r = await raw(t.endpoint, { path: '/site/index.html' });
    assert.equal(r.status, 200);
    assert.equal(r.text, FILES['index.html']);
    // No clean URLs there, and no existence leak without s3:ListBucket (API_GetObject.html).
    assertS3Error(await raw(t.endpoint, { path: '/site/login' }), 403, 'AccessDenied');
  });

  test('S3 sub-resources and signed requests on a bucket host go to the S3 API', { timeout: 120_000 }, async () => {
    const r = await web('site.localhost', '/?acl');
    assertS3Error(r, 403, 'AccessDenied');
  });
});

describe('index documents and clean URLs', () => {
  const rows: Array<[string, number, string]> = [
    ['/', 200, FILES['index.html']],
    ['/index.html', 200, FILES['index.html']],
    ['/login', 200, FILES['login.html']],
    ['/login?next=/account', 200, FILES['login.html']],
    ['/login.html', 200, FILES['login.html']],
    ['/about/', 200, FILES['about/index.html']],
    ['/about/?x=1', 200, FILES['about/index.html']],
    ['/docs/guide', 200, FILES['docs/guide']],
    ['/caf%C3%A9%20menu', 200, FILES['café menu.html']],
    ['/caf%c3%a9%20menu.html', 200, FILES['café menu.html']],
    ['/nope', 404, FILES['404.html']],
    ['/docs/', 404, FILES['404.html']],
    ['//login', 404, FILES['404.html']],
  ];
  for (const [path, status, body] of rows) {
    test(`GET ${path} -> ${status}`, { timeout: 120_000 }, async () => {
      const r = await web('site.localhost', path);
      assert.equal(r.status, status);
      assert.equal(r.text, body);
      assert.match(String(r.headers['content-type']), /^text\/html|^application\/octet-stream/);
    });
  }

  test('a folder without its slash: 302 to the slash, query kept', { timeout: 120_000 }, async () => {
    const r = await web('site.localhost', '/about');
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, '/about/');
    assert.equal((await web('site.localhost', '/about?tab=2')).headers.location, '/about/?tab=2');
  });

  test('dot segments climbing above the root are refused', { timeout: 120_000 }, async () => {
    const r = await web('site.localhost', '/../etc/passwd');
    assert.equal(r.status, 400);
    assert.match(String(r.headers['content-type']), /^text\/html/);
  });
});

describe('error documents and 403 versus 404', () => {
  test('the error document keeps its 404, ignores Range and conditionals; HEAD gets none', {
    timeout: 120_000,
  }, async () => {
    const etag = String((await web('site.localhost', '/404.html')).headers.etag);
    const ranged = await web('site.localhost', '/missing', { headers: { range: 'bytes=0-3', 'if-none-match': etag } });
    assert.equal(ranged.status, 404);
    assert.equal(ranged.text, FILES['404.html']);
    const head = await web('site.localhost', '/missing', { method: 'HEAD' });
    assert.equal(head.status, 404);
    assert.equal(head.body.length, 0);
    assert.notEqual(head.headers['content-length'], String(FILES['404.html'].length));
  });

  test('ACL-only bucket: public object served, private object and missing key are 403', {
    timeout: 120_000,
  }, async () => {
    await site('acls', {}, { policy: false });
    await put('acls', 'index.html', 'public home', { ACL: 'public-read' });
    await put('acls', 'private.html', 'secret', { ACL: 'private' });
    assert.equal((await web('acls.localhost', '/')).text, 'public home');
    const priv = await web('acls.localhost', '/private');
    assert.equal(priv.status, 403);
    assert.match(String(priv.headers['content-type']), /^text\/html/);
    assert.doesNotMatch(priv.text, /secret/);
    assert.equal((await web('acls.localhost', '/nothing-here')).status, 403, 'no existence leak');
    // A listable bucket may learn that a key is missing, as GetObject tells callers with ListBucket.
    await s3.send(new PutBucketAclCommand({ Bucket: 'acls', ACL: 'public-read' }));
    assert.equal((await web('acls.localhost', '/nothing-here')).status, 404);
    assert.equal((await web('acls.localhost', '/private')).status, 403);
  });

  test('a policy Deny gives 403 with the configured error document', { timeout: 120_000 }, async () => {
    await site(
      'deny',
      { 'index.html': 'home', 'err.html': 'the error page', 'secret/a.html': 'hidden' },
      { policy: false },
    );
    await s3.send(
      new PutBucketPolicyCommand({
        Bucket: 'deny',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::deny/*' },
            { Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::deny/secret/*' },
          ],
        }),
      }),
    );
    assert.equal((await web('deny.localhost', '/secret/a')).status, 403);
    await setWebsite('deny', { IndexDocument: { Suffix: 'index.html' }, ErrorDocument: { Key: 'err.html' } });
    const r = await web('deny.localhost', '/secret/a');
    assert.equal(r.status, 403);
    assert.equal(r.text, 'the error page');
    assert.equal((await web('deny.localhost', '/secret/none')).status, 403);
    const missing = await web('deny.localhost', '/none');
    assert.equal(missing.status, 404);
    assert.equal(missing.text, 'the error page');
  });
});

describe('redirects, routing rules and SPA fallback', () => {
  test('x-amz-website-redirect-location: 301 on the website, the body on the S3 API', {
    timeout: 120_000,
  }, async () => {
    await put('site', 'old-page.html', 'old body', { WebsiteRedirectLocation: '/login' });
    const r = await web('site.localhost', '/old-page');
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, '/login');
    const api = await raw(t.endpoint, { path: '/site/old-page.html' });
    assert.equal(api.status, 200);
    assert.equal(api.text, 'old body');
    assert.equal(api.headers['x-amz-website-redirect-location'], '/login');
  });

  test('routing rules: a prefix rewrite and a 404 rule, first match wins', { timeout: 120_000 }, async () => {
    await site('rules', { 'index.html': 'home', 'documents/a.html': 'doc a' });
    await setWebsite('rules', {
      IndexDocument: { Suffix: 'index.html' },
      RoutingRules: [
        { Condition: { KeyPrefixEquals: 'docs/' }, Redirect: { ReplaceKeyPrefixWith: 'documents/' } },
        {
          Condition: { HttpErrorCodeReturnedEquals: '404' },
          Redirect: { HostName: 'archive.example.com', Protocol: 'https', HttpRedirectCode: '302' },
        },
      ],
    });
    const r = await web('rules.localhost', '/docs/a.html');
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, `http://rules.localhost:${t.port}/documents/a.html`);
    const nf = await web('rules.localhost', '/gone/page');
    assert.equal(nf.status, 302);
    assert.equal(nf.headers.location, 'https://archive.example.com/gone/page');
    assert.equal((await web('rules.localhost', '/documents/a')).text, 'doc a');
  });

  test('SPA fallback: unknown routes serve index.html with 200, assets stay assets', { timeout: 120_000 }, async () => {
    await site('spa', { 'index.html': '<div id=app></div>', 'app.js': 'console.log(1)' });
    await setWebsite('spa', {
      IndexDocument: { Suffix: 'index.html' },
      RoutingRules: [
        {
          Condition: { HttpErrorCodeReturnedEquals: '404' },
          Redirect: { ReplaceKeyWith: 'index.html', HttpRedirectCode: '200' },
        },
      ],
    });
    const deep = await web('spa.localhost', '/users/42/settings?tab=a');
    assert.equal(deep.status, 200);
    assert.equal(deep.text, '<div id=app></div>');
    assert.ok(deep.headers.etag);
    assert.equal((await web('spa.localhost', '/app.js')).text, 'console.log(1)');
  });

  test('a rule whose HostName cannot go in a header is refused with InvalidRequest; the site keeps serving', {
    timeout: 120_000,
  }, async () => {
    await site('badrule', { 'index.html': 'fine' });
    const xml =
      '<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument><RoutingRules><RoutingRule>' +
      '<Condition><KeyPrefixEquals>go/</KeyPrefixEquals></Condition><Redirect><HostName>a\nb.example</HostName></Redirect>' +
      '</RoutingRule></RoutingRules></WebsiteConfiguration>';
    const put = await raw(t.endpoint, {
      method: 'PUT',
      path: '/badrule?website',
      body: xml,
      auth: { type: 'v4', addon: t.owner },
    });
    assert.equal(put.status, 400, put.text);
    assert.match(put.text, /<Code>InvalidRequest<\/Code>/);
    assert.equal((await web('badrule.localhost', '/go/x')).status, 404);
    assert.equal((await web('badrule.localhost', '/')).text, 'fine');
  });

  test('RedirectAllRequestsTo: 301 with path and query to the other host', { timeout: 120_000 }, async () => {
    await site('moved', { 'index.html': 'x' });
    await setWebsite('moved', { RedirectAllRequestsTo: { HostName: 'new.example.com', Protocol: 'https' } });
    const r = await web('moved.localhost', '/a/b?c=d');
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, 'https://new.example.com/a/b?c=d');
  });
});

describe('website configuration API', () => {
  test('Put/Get/Delete round trip, and the configuration takes effect at once', { timeout: 120_000 }, async () => {
    await site('cfg', {
      'index.html': 'default index',
      'home.html': 'custom index',
      'oops.html': 'custom error',
      '404.html': 'default 404',
    });
    assert.equal((await web('cfg.localhost', '/')).text, 'default index');
    await assert.rejects(s3.send(new GetBucketWebsiteCommand({ Bucket: 'cfg' })), {
      name: 'NoSuchWebsiteConfiguration',
    });
    assertS3Error(
      await raw(t.endpoint, { path: '/cfg?website', auth: { type: 'v4', addon: t.owner } }),
      404,
      'NoSuchWebsiteConfiguration',
    );

    await setWebsite('cfg', { IndexDocument: { Suffix: 'home.html' }, ErrorDocument: { Key: 'oops.html' } });
    const got = await s3.send(new GetBucketWebsiteCommand({ Bucket: 'cfg' }));
    assert.deepEqual(got.IndexDocument, { Suffix: 'home.html' });
    assert.deepEqual(got.ErrorDocument, { Key: 'oops.html' });
    assert.equal((await web('cfg.localhost', '/')).text, 'custom index');
    const missing = await web('cfg.localhost', '/none');
    assert.equal(missing.status, 404);
    assert.equal(missing.text, 'custom error');

    await s3.send(new DeleteBucketWebsiteCommand({ Bucket: 'cfg' }));
    assert.equal((await web('cfg.localhost', '/')).text, 'default index');
    assert.equal((await web('cfg.localhost', '/none')).text, 'default 404');
  });

  test('invalid configurations are refused with AWS codes', { timeout: 120_000 }, async () => {
    await assert.rejects(setWebsite('site', { ErrorDocument: { Key: 'e.html' } }), { name: 'InvalidArgument' });
    await assert.rejects(
      setWebsite('site', { RedirectAllRequestsTo: { HostName: 'x.com' }, IndexDocument: { Suffix: 'i.html' } }),
      { name: 'InvalidArgument' },
    );
    await assert.rejects(setWebsite('site', { IndexDocument: { Suffix: 'a/b.html' } }), { name: 'InvalidArgument' });
    await assert.rejects(
      setWebsite('site', {
        IndexDocument: { Suffix: 'index.html' },
        RoutingRules: [{ Redirect: { HttpRedirectCode: '300' } }],
      }),
      { name: 'InvalidRequest' },
    );
  });

  test('only the owner may read or change it', { timeout: 120_000 }, async () => {
    const other = t.client(t.newAddon('intruder'));
    await assert.rejects(other.send(new GetBucketWebsiteCommand({ Bucket: 'site' })), { name: 'AccessDenied' });
    await assert.rejects(
      other.send(
        new PutBucketWebsiteCommand({ Bucket: 'site', WebsiteConfiguration: { IndexDocument: { Suffix: 'x.html' } } }),
      ),
      { name: 'AccessDenied' },
    );
  });
});
