/**
 * Websites in upstream mode, end to end: one Ceph RGW (scripts/ceph/up.sh), two gateways. A
 * site is published with s3cmd through gateway A and the documented public policy, and visited
 * through gateway B; then freshness after writes (through A, and straight to RGW), and RGW
 * stopped under a warm cache and started again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  PutBucketPolicyCommand,
  PutBucketWebsiteCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { startCeph, type Rgw } from './helpers/ceph.js';
import { startGateway, type Gateway } from './helpers/gateway.js';
import { runOk } from './helpers/run.js';

interface Addon {
  id: string;
  accessKeyId: string;
  secretAccessKey: string;
}

let rgw: Rgw;
let a: Gateway;
let b: Gateway;
let owner: Addon;
let work: string;
let s3cfg: string;
const BUCKET = `site-${process.pid}`;
/** The bound for a write through any gateway to show on every gateway. */
const GATEWAY_WRITE_BOUND_MS = 1000;
/** CELLAR_UPSTREAM_REVALIDATE_MS, set explicitly so the direct-write bound below is the configured one. */
const REVALIDATE_MS = 500;

before(
  async () => {
    rgw = await startCeph();
    const env = { CELLAR_UPSTREAM_TIMEOUT_MS: '3000', CELLAR_UPSTREAM_REVALIDATE_MS: String(REVALIDATE_MS) };
    [a, b] = await Promise.all([startGateway(rgw, env), startGateway(rgw, env)]);
    const created = await a.cli(['addon', 'create', '--name', 'site-owner', '--json']);
    assert.equal(created.code, 0, created.stderr);
    owner = JSON.parse(created.stdout) as Addon;
    work = mkdtempSync(path.join(tmpdir(), 'cellar-upstream-web-'));
    s3cfg = path.join(work, 's3cfg');
    writeFileSync(s3cfg, (await a.cli(['addon', 's3cfg', owner.id])).stdout);
  },
  { timeout: 660_000 },
);

after(
  async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await rgw?.down();
    if (work) rmSync(work, { recursive: true, force: true });
  },
  { timeout: 120_000 },
);

/** s3cmd through a gateway, path style (localhost has no resolvable bucket subdomains for s3cmd). */
function s3cmd(g: Gateway, args: string[]) {
  return runOk('s3cmd', ['-c', s3cfg, `--host=localhost:${g.port}`, `--host-bucket=localhost:${g.port}`, ...args], {
    timeoutMs: 60_000,
    cwd: work,
  });
}

interface Page {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A visitor's request to `<bucket>.localhost` on a gateway (the Host header names the site). */
function visitBytes(
  g: Gateway,
  p: string,
  headers: Record<string, string> = {},
  bucket = BUCKET,
): Promise<Omit<Page, 'body'> & { body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port: g.port, path: p, headers: { host: `${bucket}.localhost:${g.port}`, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(20_000, () => req.destroy(new Error(`no answer for ${p}`)));
    req.on('error', reject);
  });
}

async function visit(g: Gateway, p: string, headers: Record<string, string> = {}, bucket = BUCKET): Promise<Page> {
  const r = await visitBytes(g, p, headers, bucket);
  return { ...r, body: r.body.toString('utf8') };
}

function sdk(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: owner.accessKeyId, secretAccessKey: owner.secretAccessKey },
  });
}

function publicPolicy(bucket: string): string {
  const file = path.join(work, `policy-${bucket}.json`);
  // Cellar's documentation's public-bucket policy, bucket name filled in.
  writeFileSync(
    file,
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
    }),
  );
  return file;
}

/**
 * Writes `body` with `put`, then asks `g` for the page until it serves `body`: the delay (ms
 * after the write was acknowledged) when seen within `boundMs`, else null; either way a last
 * request made once `boundMs` elapsed must serve the new body.
 */
async function freshness(
  g: Gateway,
  pagePath: string,
  body: string,
  put: () => Promise<unknown>,
  boundMs: number,
): Promise<number> {
  await put();
  const acked = performance.now();
  for (;;) {
    const t = performance.now() - acked;
    if (t >= boundMs) break;
    const r = await visit(g, pagePath);
    if (r.body === body) return t;
    await new Promise((res) => setTimeout(res, 5));
  }
  const last = await visit(g, pagePath);
  assert.equal(last.body, body, `the new body is not served ${boundMs} ms after the write`);
  return performance.now() - acked;
}

function rgwPid(): number {
  const line = readFileSync(path.join(rgw.dir, 'run/pids'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('client.rgw '));
  assert.ok(line, 'radosgw pid recorded');
  return Number(line.split(' ')[1]);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

test('a site synced with s3cmd through A and made public is served by B', { timeout: 180_000 }, async () => {
  const site = path.join(work, 'site');
  mkdirSync(path.join(site, 'docs'), { recursive: true });
  writeFileSync(path.join(site, 'index.html'), '<h1>home</h1>');
  writeFileSync(path.join(site, 'about.html'), '<h1>about</h1>');
  writeFileSync(path.join(site, 'docs', 'index.html'), '<h1>docs</h1>');
  writeFileSync(path.join(site, '404.html'), '<h1>lost</h1>');
  writeFileSync(path.join(site, 'app.js'), `console.log(${JSON.stringify('x'.repeat(2000))});\n`);
  await s3cmd(a, ['mb', `s3://${BUCKET}`]);
  await s3cmd(a, ['sync', `${site}/`, `s3://${BUCKET}/`]);

  // Before the policy RGW refuses the anonymous visitor: 403, not the page.
  assert.equal((await visit(b, '/')).status, 403);
  await s3cmd(a, ['setpolicy', publicPolicy(BUCKET), `s3://${BUCKET}`]);
  // The bucket's settings are rechecked on the revalidation interval.
  await new Promise((r) => setTimeout(r, REVALIDATE_MS + 100));

  const home = await visit(b, '/');
  assert.equal(home.status, 200);
  assert.equal(home.body, '<h1>home</h1>');
  assert.match(home.headers['content-type'] ?? '', /^text\/html/);
  const etag = home.headers.etag;
  assert.match(etag ?? '', /^"[0-9a-f]{32}"$/);
  assert.equal((await visit(b, '/about')).body, '<h1>about</h1>', 'clean URL');
  assert.equal((await visit(b, '/docs/')).body, '<h1>docs</h1>');
  const slash = await visit(b, '/docs');
  assert.equal(slash.status, 302);
  assert.equal(slash.headers.location, '/docs/');
  const missing = await visit(b, '/no/such/page');
  assert.equal(missing.status, 404);
  assert.equal(missing.body, '<h1>lost</h1>', 'the error document');

  const again = await visit(b, '/', { 'if-none-match': etag! });
  assert.equal(again.status, 304);
  assert.equal(again.body, '');
  const part = await visit(b, '/about', { range: 'bytes=1-5' });
  assert.equal(part.status, 206);
  assert.equal(part.body, 'h1>ab');
  const js = await visit(b, '/app.js', { 'accept-encoding': 'gzip' });
  assert.equal(js.status, 200);
  assert.equal(js.headers['content-encoding'], 'gzip');

  // Over the cache's entry limit (1 MiB): streamed from RGW, whole and by range.
  const big = randomBytes(3 * 1024 * 1024);
  writeFileSync(path.join(work, 'big.bin'), big);
  await s3cmd(a, ['put', path.join(work, 'big.bin'), `s3://${BUCKET}/big.bin`]);
  const whole = await visitBytes(b, '/big.bin');
  assert.equal(whole.status, 200);
  assert.ok(whole.body.equals(big), 'the streamed body');
  const slice = await visitBytes(b, '/big.bin', { range: 'bytes=2000000-2000099' });
  assert.equal(slice.status, 206);
  assert.ok(slice.body.equals(big.subarray(2_000_000, 2_000_100)), 'the streamed range');

  // Website configuration and CORS, set through A, read by B with the system user.
  await s3cmd(a, ['ws-create', '--ws-index=index.html', '--ws-error=about.html', `s3://${BUCKET}`]);
  writeFileSync(
    path.join(work, 'cors.xml'),
    '<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example</AllowedOrigin>' +
      '<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>',
  );
  await s3cmd(a, ['setcors', path.join(work, 'cors.xml'), `s3://${BUCKET}`]);
  await new Promise((r) => setTimeout(r, REVALIDATE_MS + 100));
  const other = await visit(b, '/still/missing', { origin: 'https://app.example' });
  assert.equal(other.status, 404);
  assert.equal(other.body, '<h1>about</h1>', 'the configured error document');
  assert.equal(other.headers['access-control-allow-origin'], 'https://app.example');

  // A bucket without a public policy stays private on the website too.
  const closed = `closed-${process.pid}`;
  await s3cmd(a, ['mb', `s3://${closed}`]);
  await s3cmd(a, ['put', path.join(site, 'index.html'), `s3://${closed}/index.html`]);
  const denied = await visit(b, '/', {}, closed);
  assert.equal(denied.status, 403);
  assert.match(denied.headers['content-type'] ?? '', /^text\/html/);
  assert.equal((await visit(b, '/', {}, `nobucket-${process.pid}`)).status, 404);
});

test('an overwrite through A is served by B within 1 s (50 overwrites)', { timeout: 180_000 }, async () => {
  const client = sdk(a.endpoint);
  const key = 'fresh.html';
  const put = (body: string) => () =>
    client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentType: 'text/html' }));
  await put('v0')();
  assert.equal((await visit(b, `/${key}`)).body, 'v0');
  const delays: number[] = [];
  for (let i = 1; i <= 50; i++) {
    // B holds the previous version in its cache (the last poll served it).
    delays.push(await freshness(b, `/${key}`, `v${i}`, put(`v${i}`), GATEWAY_WRITE_BOUND_MS));
  }
  delays.sort((x, y) => x - y);
  process.stderr.write(
    `# write through A -> served by B: p50 ${percentile(delays, 50).toFixed(0)} ms, ` +
      `p99 ${percentile(delays, 99).toFixed(0)} ms, max ${delays.at(-1)!.toFixed(0)} ms (n=${delays.length})\n`,
  );
});

test('a write made directly to RGW is served by B within the revalidation time', { timeout: 120_000 }, async () => {
  const direct = sdk(rgw.url);
  const key = 'direct.html';
  const put = (body: string) => () =>
    direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentType: 'text/html' }));
  await put('d0')();
  assert.equal((await visit(b, `/${key}`)).body, 'd0');
  const delays: number[] = [];
  for (let i = 1; i <= 20; i++) delays.push(await freshness(b, `/${key}`, `d${i}`, put(`d${i}`), REVALIDATE_MS));
  delays.sort((x, y) => x - y);
  process.stderr.write(
    `# write straight to RGW -> served by B: p50 ${percentile(delays, 50).toFixed(0)} ms, ` +
      `max ${delays.at(-1)!.toFixed(0)} ms (n=${delays.length}, revalidation ${REVALIDATE_MS} ms)\n`,
  );
});

test('routing rules set through A are applied by B; the 200 SPA rule is refused by RGW 16.2', {
  timeout: 120_000,
}, async () => {
  const spa = `spa-${process.pid}`;
  const client = sdk(a.endpoint);
  await client.send(new CreateBucketCommand({ Bucket: spa }));
  const index = '<div id="app"></div>';
  const css = 'body { color: teal }';
  await client.send(new PutObjectCommand({ Bucket: spa, Key: 'index.html', Body: index, ContentType: 'text/html' }));
  await client.send(new PutObjectCommand({ Bucket: spa, Key: 'css/site.css', Body: css, ContentType: 'text/css' }));
  await client.send(new PutBucketPolicyCommand({ Bucket: spa, Policy: readFileSync(publicPolicy(spa), 'utf8') }));
  await new Promise((r) => setTimeout(r, REVALIDATE_MS + 100));
  assert.equal((await visit(b, '/app/users/42', {}, spa)).status, 404, 'no rule yet: a deep link is a 404');
  const fallback = (code: string) =>
    new PutBucketWebsiteCommand({
      Bucket: spa,
      WebsiteConfiguration: {
        IndexDocument: { Suffix: 'index.html' },
        RoutingRules: [
          {
            Condition: { HttpErrorCodeReturnedEquals: '404' },
            Redirect: { ReplaceKeyWith: 'index.html', HttpRedirectCode: code },
          },
        ],
      },
    });
  // The rule `cellar bucket website --spa` writes in embedded mode (404 -> index.html with 200,
  // a Garage extension): RGW 16.2 answers 400 InvalidArgument, passed through unchanged.
  await assert.rejects(client.send(fallback('200')), (e: { $metadata?: { httpStatusCode?: number } }) => {
    assert.equal(e.$metadata?.httpStatusCode, 400);
    return true;
  });
  // The same fallback as a redirect is stored by RGW, read by B with the system user, and
  // applied as in embedded mode.
  await client.send(fallback('302'));
  client.destroy();
  await new Promise((r) => setTimeout(r, REVALIDATE_MS + 100));
  const deep = await visit(b, '/app/users/42', {}, spa);
  assert.equal(deep.status, 302);
  assert.match(deep.headers.location ?? '', /\/index\.html$/);
  assert.equal((await visit(b, '/', {}, spa)).body, index);
  const real = await visit(b, '/css/site.css', {}, spa);
  assert.equal(real.status, 200);
  assert.equal(real.body, css, 'real files are still served');
  assert.equal((await visit(a, '/some/route', {}, spa)).status, 302, 'both gateways answer alike');
});

test('RGW stopped: cached pages still served, a miss gets a 503 page; RGW back: recovery', {
  timeout: 300_000,
}, async () => {
  assert.equal((await visit(b, '/about')).body, '<h1>about</h1>');
  await rgw.stopRgw();
  try {
    // Past the revalidation time, so that B must ask RGW (and fails to).
    await new Promise((r) => setTimeout(r, REVALIDATE_MS + 200));
    const cached = await visit(b, '/about');
    assert.equal(cached.status, 200);
    assert.equal(cached.body, '<h1>about</h1>');
    const started = performance.now();
    const miss = await visit(b, '/never/seen.html');
    const ms = performance.now() - started;
    assert.equal(miss.status, 503);
    assert.match(miss.headers['content-type'] ?? '', /^text\/html/);
    assert.match(miss.body, /503 Service Unavailable/);
    process.stderr.write(`# miss with RGW stopped answered 503 in ${ms.toFixed(0)} ms\n`);
  } finally {
    await rgw.startRgw();
  }
  // Stalled (accepts connections, never answers): the timeout turns it into the same outcomes.
  assert.equal((await visit(b, '/about')).body, '<h1>about</h1>');
  const pid = rgwPid();
  process.kill(pid, 'SIGSTOP');
  try {
    await new Promise((r) => setTimeout(r, REVALIDATE_MS + 200));
    let started = performance.now();
    const cached = await visit(b, '/about');
    assert.equal(cached.status, 200);
    assert.equal(cached.body, '<h1>about</h1>');
    process.stderr.write(`# cached page with RGW stalled served in ${(performance.now() - started).toFixed(0)} ms\n`);
    started = performance.now();
    const miss = await visit(b, '/stalled/miss.html');
    assert.equal(miss.status, 503);
    process.stderr.write(`# miss with RGW stalled answered 503 in ${(performance.now() - started).toFixed(0)} ms\n`);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  // Recovery without restarting the gateways: a new page written through A shows on B.
  await sdk(a.endpoint).send(
    new PutObjectCommand({ Bucket: BUCKET, Key: 'never/seen.html', Body: 'back', ContentType: 'text/html' }),
  );
  let seen: Page | null = null;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    seen = await visit(b, '/never/seen.html');
    if (seen.status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(seen?.status, 200, b.stderr().slice(-3000));
  assert.equal(seen?.body, 'back');
});
