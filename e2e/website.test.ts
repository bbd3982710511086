/**
 * A static site published the way Cellar's docs tell users to: `s3cmd sync` into a bucket,
 * `s3cmd setpolicy` with the documented public policy, then checked with curl through
 * `<bucket>.localhost`, a custom domain (`--resolve`) and path style; plus the ws-* commands,
 * `aws s3 website`, routing rules, object redirects and the SPA fallback.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync } from 'node:zlib';
import { run, type RunResult } from './helpers/run.js';
import { startServer, type E2eServer } from './helpers/server.js';

const AWS = '/usr/bin/aws';
const BUCKET = 'mysite';
const DOMAIN = 'www.mysite.test';
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
const CSS = 'body { font-family: sans-serif; }\nh1 { color: rgb(12, 34, 56); }\n'.repeat(40);
const JS = 'document.body.dataset.ready = "yes";\n'.repeat(60);

const SITE: Record<string, string | Buffer> = {
  'index.html':
    '<!DOCTYPE html><title>Home</title><link rel="stylesheet" href="/css/site.css"><h1>Home</h1><a href="/login">Log in</a><img src="/images/logo.png">',
  'login.html': '<!DOCTYPE html><title>Login</title><h1>Login</h1>',
  'about/index.html': '<!DOCTYPE html><title>About</title><h1>About us</h1>',
  '404.html': '<!DOCTYPE html><title>Not found</title><h1>Sorry, no such page</h1>',
  'home.html': '<!DOCTYPE html><h1>Alternative home</h1>',
  'oops.html': '<!DOCTYPE html><h1>Oops</h1>',
  'css/site.css': CSS,
  'js/app.js': JS,
  'js/app.js.br': brotliCompressSync(Buffer.from(JS)),
  'images/logo.png': PNG,
};

let server: E2eServer;
let work: string;
let siteDir: string;
let awsEnv: NodeJS.ProcessEnv;

interface Fetched {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  text: string;
}

/** curl, with the response headers and the raw body (no decoding unless --compressed is passed). */
async function curl(url: string, args: string[] = []): Promise<Fetched> {
  const out = path.join(work, 'body');
  const hdr = path.join(work, 'headers');
  const r = await run('curl', ['-sS', '-o', out, '-D', hdr, ...args, url], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, `curl ${url} failed: ${r.stderr}`);
  const lines = readFileSync(hdr, 'utf8').split('\r\n');
  const status = Number(lines[0]!.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  const body = readFileSync(out);
  return { status, headers, body, text: body.toString() };
}

/** The site at `<bucket>.localhost`: curl resolves every *.localhost name to the loopback itself. */
const site = (p: string, args: string[] = [], bucket = BUCKET): Promise<Fetched> =>
  curl(`http://${bucket}.localhost:${server.port}${p}`, args);

async function s3cmd(args: string[]): Promise<RunResult> {
  const r = await run('s3cmd', ['-c', server.s3cfgPath, ...args], {
    env: { ...process.env, LC_ALL: 'C.UTF-8' },
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, `s3cmd ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

async function aws(args: string[]): Promise<RunResult> {
  const r = await run(AWS, ['--endpoint-url', server.endpoint, ...args], { env: awsEnv, timeoutMs: 60_000 });
  assert.equal(r.code, 0, `aws ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** The public bucket policy exactly as Cellar's documentation gives it. */
function publicPolicyFile(bucket: string): string {
  const file = path.join(work, `policy-${bucket}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
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
      },
      null,
      2,
    ),
  );
  return file;
}

async function publish(bucket: string): Promise<void> {
  await s3cmd(['mb', `s3://${bucket}`]);
  await s3cmd(['sync', `${siteDir}/`, `s3://${bucket}/`]);
  await s3cmd(['setpolicy', publicPolicyFile(bucket), `s3://${bucket}`]);
}

before(async () => {
  server = await startServer();
  work = mkdtempSync(path.join(tmpdir(), 'cellar-e2e-website-'));
  siteDir = path.join(work, 'site');
  for (const [rel, body] of Object.entries(SITE)) {
    mkdirSync(path.dirname(path.join(siteDir, rel)), { recursive: true });
    writeFileSync(path.join(siteDir, rel), body);
  }
  awsEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  writeFileSync(path.join(work, 'aws-config'), '');
  Object.assign(awsEnv, {
    AWS_ACCESS_KEY_ID: server.owner.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.owner.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: path.join(work, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(work, 'aws-config'),
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  await publish(BUCKET);
  await publish(DOMAIN);
});

after(async () => {
  await server?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a site published with s3cmd sync + setpolicy', () => {
  test('<bucket>.localhost: index, clean URL, folder redirect, 404 page', { timeout: 300_000 }, async () => {
    const home = await site('/');
    assert.equal(home.status, 200);
    assert.equal(home.text, SITE['index.html']);
    assert.match(home.headers['content-type']!, /^text\/html/);
    const login = await site('/login');
    assert.equal(login.status, 200);
    assert.equal(login.text, SITE['login.html']);
    const about = await site('/about');
    assert.equal(about.status, 302);
    assert.equal(about.headers.location, '/about/');
    const followed = await site('/about', ['-L']);
    assert.equal(followed.text, SITE['about/index.html']);
    const missing = await site('/no/such/page');
    assert.equal(missing.status, 404);
    assert.equal(missing.text, SITE['404.html']);
    assert.match(missing.headers['content-type']!, /^text\/html/);
  });

  test('custom domain through --resolve', { timeout: 300_000 }, async () => {
    const url = `http://${DOMAIN}:${server.port}/login`;
    const r = await curl(url, ['--resolve', `${DOMAIN}:${server.port}:127.0.0.1`]);
    assert.equal(r.status, 200);
    assert.equal(r.text, SITE['login.html']);
  });

  test('path style on the service host is the S3 API', { timeout: 300_000 }, async () => {
    const r = await curl(`http://127.0.0.1:${server.port}/${BUCKET}/login.html`);
    assert.equal(r.status, 200);
    assert.equal(r.text, SITE['login.html']);
  });

  test('assets: types, images, and an unknown host', { timeout: 300_000 }, async () => {
    const css = await site('/css/site.css');
    assert.match(css.headers['content-type']!, /^text\/css/);
    assert.equal(css.headers['x-content-type-options'], 'nosniff');
    const png = await site('/images/logo.png');
    assert.equal(png.headers['content-type'], 'image/png');
    assert.deepEqual(png.body, PNG);
    const unknown = await site('/', [], 'no-such-bucket');
    assert.equal(unknown.status, 404);
    assert.doesNotMatch(unknown.text, /bucket|<\?xml/i);
  });

  test('a private object is 403 (HTML), without leaking missing keys', { timeout: 300_000 }, async () => {
    await s3cmd(['mb', 's3://acl-site']);
    await s3cmd(['put', '--acl-public', path.join(siteDir, 'index.html'), 's3://acl-site/index.html']);
    await s3cmd(['put', path.join(siteDir, 'login.html'), 's3://acl-site/secret.html']);
    assert.equal((await site('/', [], 'acl-site')).status, 200);
    const secret = await site('/secret', [], 'acl-site');
    assert.equal(secret.status, 403);
    assert.match(secret.headers['content-type']!, /^text\/html/);
    assert.doesNotMatch(secret.text, /Login/);
    assert.equal((await site('/nothing', [], 'acl-site')).status, 403);
  });

  test('conditional and range requests', { timeout: 300_000 }, async () => {
    const first = await site('/login');
    const etag = first.headers.etag!;
    assert.equal((await site('/login', ['-H', `If-None-Match: ${etag}`])).status, 304);
    assert.equal((await site('/login', ['-H', `If-Modified-Since: ${first.headers['last-modified']}`])).status, 304);
    const part = await site('/login', ['-r', '0-8']);
    assert.equal(part.status, 206);
    assert.equal(part.text, SITE['login.html']!.toString().slice(0, 9));
    assert.equal(part.headers['content-range'], `bytes 0-8/${SITE['login.html']!.length}`);
    assert.equal((await site('/login', ['-r', '100000-'])).status, 416);
  });

  test('compression: brotli and gzip on the fly, precompressed .br served as stored', {
    timeout: 300_000,
  }, async () => {
    const br = await site('/css/site.css', ['-H', 'Accept-Encoding: br']);
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.headers.vary, 'Accept-Encoding');
    assert.equal(brotliDecompressSync(br.body).toString(), CSS);
    const gz = await site('/css/site.css', ['-H', 'Accept-Encoding: gzip']);
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gz.body).toString(), CSS);
    const decoded = await site('/css/site.css', ['--compressed']);
    assert.equal(decoded.text, CSS);
    const pre = await site('/js/app.js', ['-H', 'Accept-Encoding: br, gzip']);
    assert.equal(pre.headers['content-encoding'], 'br');
    assert.deepEqual(pre.body, SITE['js/app.js.br']);
    assert.match(pre.headers['content-type']!, /javascript/);
  });
});

describe('website configuration with s3cmd, aws and the cellar CLI', () => {
  test('s3cmd ws-create, ws-info, ws-delete', { timeout: 300_000 }, async () => {
    await s3cmd(['ws-create', '--ws-index=home.html', '--ws-error=oops.html', `s3://${BUCKET}`]);
    const info = await s3cmd(['ws-info', `s3://${BUCKET}`]);
    assert.match(info.stdout, /Index document:\s+home\.html/);
    assert.match(info.stdout, /Error document:\s+oops\.html/);
    assert.equal((await site('/')).text, SITE['home.html']);
    const missing = await site('/nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.text, SITE['oops.html']);
    await s3cmd(['ws-delete', `s3://${BUCKET}`]);
    assert.match((await s3cmd(['ws-info', `s3://${BUCKET}`])).stdout, /Unable to receive website configuration/);
    assert.equal((await site('/')).text, SITE['index.html']);
    assert.equal((await site('/nope')).text, SITE['404.html']);
  });

  test('aws s3 website, then a routing rule that redirects', { timeout: 300_000 }, async () => {
    await aws(['s3', 'website', `s3://${BUCKET}`, '--index-document', 'index.html', '--error-document', '404.html']);
    const got = JSON.parse(
      (await aws(['s3api', 'get-bucket-website', '--bucket', BUCKET, '--output', 'json'])).stdout,
    ) as Record<string, unknown>;
    assert.deepEqual(got.IndexDocument, { Suffix: 'index.html' });
    assert.deepEqual(got.ErrorDocument, { Key: '404.html' });
    const cfg = path.join(work, 'website.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        IndexDocument: { Suffix: 'index.html' },
        ErrorDocument: { Key: '404.html' },
        RoutingRules: [
          {
            Condition: { KeyPrefixEquals: 'docs/' },
            Redirect: { ReplaceKeyPrefixWith: 'about/', HttpRedirectCode: '302' },
          },
        ],
      }),
    );
    await aws(['s3api', 'put-bucket-website', '--bucket', BUCKET, '--website-configuration', `file://${cfg}`]);
    const r = await site('/docs/team.html');
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, `http://${BUCKET}.localhost:${server.port}/about/team.html`);
    const followed = await site('/docs/', ['-L']);
    assert.equal(followed.text, SITE['about/index.html']);
    await aws(['s3api', 'delete-bucket-website', '--bucket', BUCKET]);
  });

  test('an object redirect (x-amz-website-redirect-location) answers 301', { timeout: 300_000 }, async () => {
    await s3cmd([
      'put',
      '--add-header=x-amz-website-redirect-location:/login',
      path.join(siteDir, 'oops.html'),
      `s3://${BUCKET}/old-login.html`,
    ]);
    const r = await site('/old-login');
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, '/login');
  });

  test('SPA fallback via `cellar bucket website --spa`: deep links serve index.html with 200', {
    timeout: 300_000,
  }, async () => {
    assert.equal((await site('/app/users/42')).status, 404);
    const cli = await server.cli(['bucket', 'website', BUCKET, '--spa']);
    assert.equal(cli.code, 0, cli.stderr);
    // The CLI writes the data directory from another process; the server notices within a second.
    const deadline = Date.now() + 5000;
    let r = await site('/app/users/42');
    while (r.status !== 200 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 100));
      r = await site('/app/users/42');
    }
    assert.equal(r.status, 200);
    assert.equal(r.text, SITE['index.html']);
    assert.equal((await site('/css/site.css')).text, CSS, 'real files are still served');
    const ws = await s3cmd(['ws-info', `s3://${BUCKET}`]);
    assert.match(ws.stdout, /Index document:\s+index\.html/);
    const shown = await server.cli(['bucket', 'website', BUCKET, '--show']);
    assert.deepEqual(JSON.parse(shown.stdout).routingRules, [
      {
        condition: { httpErrorCodeReturnedEquals: '404' },
        redirect: { replaceKeyWith: 'index.html', httpRedirectCode: '200' },
      },
    ]);
    assert.equal((await server.cli(['bucket', 'website', BUCKET, '--off'])).code, 0);
    assert.match((await s3cmd(['ws-info', `s3://${BUCKET}`])).stdout, /Unable to receive website configuration/);
    assert.notEqual((await server.cli(['bucket', 'website', 'no-such-bucket', '--spa'])).code, 0);
  });
});
