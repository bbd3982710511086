import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runOk, type RunResult } from './helpers/run.js';
import { AWS, awsCli, type AwsCli } from './helpers/awscli.js';
import { startServer, type E2eServer } from './helpers/server.js';

const BUCKET = 'mybucket';

let server: E2eServer;
let cli: AwsCli;
let work: string;

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

function curl(url: string, out: string): Promise<RunResult> {
  return runOk('curl', ['-sS', '-o', out, '-w', '%{http_code}', url], { timeoutMs: 20_000 });
}

before(async () => {
  server = await startServer();
  cli = awsCli(server, 'cellar-e2e-aws-');
  work = cli.work;
});

after(async () => {
  await server?.dispose();
  cli?.dispose();
});

test('s3api create-bucket --acl public-read, as documented, creates a public-read bucket', {
  timeout: 300_000,
}, async () => {
  const created = await cli.json<{ Location?: string }>([
    's3api',
    'create-bucket',
    '--bucket',
    BUCKET,
    '--acl',
    'public-read',
  ]);
  assert.equal(created.Location, `/${BUCKET}`);
  await cli.ok(['s3api', 'head-bucket', '--bucket', BUCKET]);
  const ls = await cli.ok(['s3', 'ls']);
  assert.match(ls.stdout, new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d ${BUCKET}$`, 'm'));

  const acl = await cli.json<{
    Owner: { ID: string };
    Grants: { Grantee: { Type: string; URI?: string; ID?: string }; Permission: string }[];
  }>(['s3api', 'get-bucket-acl', '--bucket', BUCKET]);
  assert.equal(acl.Owner.ID, server.owner.id);
  assert.ok(
    acl.Grants.some((g) => g.Grantee.ID === server.owner.id && g.Permission === 'FULL_CONTROL'),
    JSON.stringify(acl),
  );
  assert.ok(
    acl.Grants.some(
      (g) => g.Grantee.URI === 'http://acs.amazonaws.com/groups/global/AllUsers' && g.Permission === 'READ',
    ),
    JSON.stringify(acl),
  );

  const again = await cli.run(['s3api', 'create-bucket', '--bucket', BUCKET]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /BucketAlreadyOwnedByYou/);
});

test('s3 cp uploads with headers, head-object shows them, s3 cp downloads byte-identically', {
  timeout: 300_000,
}, async () => {
  const body = randomBytes(5 * 1024 * 1024 + 17);
  const src = path.join(work, 'big.bin');
  const dst = path.join(work, 'big.out');
  writeFileSync(src, body);
  const up = await cli.ok([
    's3',
    'cp',
    src,
    `s3://${BUCKET}/files/big.bin`,
    '--content-type',
    'application/x-cellar',
    '--cache-control',
    'max-age=60',
    '--metadata',
    'origin=e2e,Mixed-Case=Yes',
  ]);
  assert.match(up.stdout, /upload: .*big\.bin to s3:\/\/mybucket\/files\/big\.bin/);

  const head = await cli.json<Record<string, unknown>>([
    's3api',
    'head-object',
    '--bucket',
    BUCKET,
    '--key',
    'files/big.bin',
  ]);
  assert.equal(head.ContentLength, body.length);
  assert.equal(head.ETag, `"${md5(body)}"`);
  assert.equal(head.ContentType, 'application/x-cellar');
  assert.equal(head.CacheControl, 'max-age=60');
  assert.deepEqual(head.Metadata, { origin: 'e2e', 'mixed-case': 'Yes' });
  assert.equal(typeof head.LastModified, 'string');

  const down = await cli.ok(['s3', 'cp', `s3://${BUCKET}/files/big.bin`, dst]);
  assert.match(down.stdout, /download: s3:\/\/mybucket\/files\/big\.bin to /);
  assert.ok(readFileSync(dst).equals(body), 'downloaded bytes differ');

  const missing = await cli.run(['s3api', 'head-object', '--bucket', BUCKET, '--key', 'files/none']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /\(404\)/);
});

// Above 8 MiB the cli switches to a multipart upload and ranged parallel downloads.
test('s3 cp of a 20 MiB file goes up in parts and comes back byte-identical', { timeout: 300_000 }, async () => {
  const body = randomBytes(20 * 1024 * 1024 + 5);
  const src = path.join(work, 'huge.bin');
  writeFileSync(src, body);
  await cli.ok(['s3', 'cp', src, `s3://${BUCKET}/files/huge.bin`, '--no-progress']);
  const head = await cli.json<{ ContentLength: number; ETag: string }>([
    's3api',
    'head-object',
    '--bucket',
    BUCKET,
    '--key',
    'files/huge.bin',
  ]);
  assert.equal(head.ContentLength, body.length);
  assert.match(head.ETag, /^"[0-9a-f]{32}-3"$/, 'three 8 MiB parts');
  await cli.ok(['s3', 'cp', `s3://${BUCKET}/files/huge.bin`, src + '.out', '--no-progress']);
  assert.equal(md5(readFileSync(src + '.out')), md5(body));
  await cli.ok(['s3', 'rm', `s3://${BUCKET}/files/huge.bin`]);
});

test('s3 cp round-trips keys with spaces, unicode and URL characters', { timeout: 300_000 }, async () => {
  const keys = ['odd/a b.txt', 'odd/ünï-日本.txt', 'odd/p+q&r=s#t?u%v.txt'];
  for (const [i, key] of keys.entries()) {
    const src = path.join(work, `odd${i}`);
    const body = Buffer.concat([Buffer.from(key), randomBytes(64)]);
    writeFileSync(src, body);
    await cli.ok(['s3', 'cp', src, `s3://${BUCKET}/${key}`]);
    await cli.ok(['s3', 'cp', `s3://${BUCKET}/${key}`, src + '.out']);
    assert.ok(readFileSync(src + '.out').equals(body), `bytes of ${key} differ`);
  }
  const listed = await cli.json<{ Contents: { Key: string }[] }>([
    's3api',
    'list-objects-v2',
    '--bucket',
    BUCKET,
    '--prefix',
    'odd/',
  ]);
  assert.deepEqual(
    listed.Contents.map((c) => c.Key),
    [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
  );
});

test('s3 sync uploads a tree once, a second sync uploads nothing, a change uploads one file', {
  timeout: 300_000,
}, async () => {
  const root = path.join(work, 'site');
  const files = new Map<string, Buffer>();
  for (let i = 0; i < 40; i++) {
    const rel = `${['css', 'js', 'img/icons', 'docs/guide/deep'][i % 4]}/file-${i}.dat`;
    const body = randomBytes(10 + i * 131);
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), body);
    files.set(rel, body);
  }
  const first = await cli.ok(['s3', 'sync', root, `s3://${BUCKET}/site`, '--no-progress']);
  assert.equal(first.stdout.split('\n').filter((l) => l.startsWith('upload:')).length, 40, first.stdout);

  const second = await cli.ok(['s3', 'sync', root, `s3://${BUCKET}/site`, '--no-progress']);
  assert.equal(second.stdout.trim(), '', 'an unchanged tree syncs nothing');

  writeFileSync(path.join(root, 'css/file-0.dat'), 'changed, and of another size');
  files.set('css/file-0.dat', Buffer.from('changed, and of another size'));
  const third = await cli.ok(['s3', 'sync', root, `s3://${BUCKET}/site`, '--no-progress']);
  const uploads = third.stdout.trim().split('\n');
  assert.equal(uploads.length, 1, third.stdout);
  assert.match(uploads[0]!, /^upload: \S*site\/css\/file-0\.dat to s3:\/\/mybucket\/site\/css\/file-0\.dat$/);

  const back = path.join(work, 'site-back');
  await cli.ok(['s3', 'sync', `s3://${BUCKET}/site`, back, '--no-progress']);
  for (const [rel, body] of files)
    assert.ok(readFileSync(path.join(back, rel)).equals(body), `${rel} differs after sync down`);
});

test('s3 ls shows prefixes and objects, --recursive shows every key', { timeout: 300_000 }, async () => {
  const top = await cli.ok(['s3', 'ls', `s3://${BUCKET}/`]);
  const lines = top.stdout
    .trim()
    .split('\n')
    .map((l) => l.trim());
  assert.deepEqual(
    lines.filter((l) => l.startsWith('PRE ')),
    ['PRE files/', 'PRE odd/', 'PRE site/'],
  );

  const files = await cli.ok(['s3', 'ls', `s3://${BUCKET}/files/`]);
  assert.match(files.stdout, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+5242897 big\.bin$/m);

  const all = await cli.ok(['s3', 'ls', '--recursive', `s3://${BUCKET}/site/`]);
  assert.equal(all.stdout.trim().split('\n').length, 40);
  assert.match(all.stdout, / site\/docs\/guide\/deep\/file-3\.dat$/m);
});

test('s3api list-objects-v2 --prefix --delimiter returns the S3 JSON', { timeout: 300_000 }, async () => {
  type Listing = {
    Contents?: { Key: string; Size: number; ETag: string }[];
    CommonPrefixes?: { Prefix: string }[];
    KeyCount?: number;
    Prefix?: string;
    Delimiter?: string;
    IsTruncated?: boolean;
  };
  const page = await cli.json<Listing>([
    's3api',
    'list-objects-v2',
    '--bucket',
    BUCKET,
    '--prefix',
    'site/',
    '--delimiter',
    '/',
    '--no-paginate',
  ]);
  assert.equal(page.Prefix, 'site/');
  assert.equal(page.Delimiter, '/');
  assert.equal(page.IsTruncated, false);
  assert.deepEqual(
    page.CommonPrefixes?.map((p) => p.Prefix),
    ['site/css/', 'site/docs/', 'site/img/', 'site/js/'],
  );
  assert.equal(page.Contents, undefined);
  assert.equal(page.KeyCount, 4);

  const deep = await cli.json<Listing>([
    's3api',
    'list-objects-v2',
    '--bucket',
    BUCKET,
    '--prefix',
    'site/img/icons/file-1',
    '--delimiter',
    '/',
  ]);
  assert.deepEqual(
    deep.Contents?.map((c) => c.Key),
    ['site/img/icons/file-10.dat', 'site/img/icons/file-14.dat', 'site/img/icons/file-18.dat'],
  );
  assert.equal(deep.CommonPrefixes, undefined);
  for (const c of deep.Contents ?? []) assert.match(c.ETag, /^"[0-9a-f]{32}"$/);

  // The cli pages with continuation tokens behind --page-size; the union must be complete and ordered.
  const paged = await cli.json<Listing>([
    's3api',
    'list-objects-v2',
    '--bucket',
    BUCKET,
    '--prefix',
    'site/',
    '--page-size',
    '7',
  ]);
  const keys = paged.Contents?.map((c) => c.Key) ?? [];
  assert.equal(keys.length, 40);
  assert.deepEqual(keys, [...keys].sort());
});

test('s3 presign gives a URL curl can fetch; an expired one is refused with AccessDenied', {
  timeout: 300_000,
}, async () => {
  const key = 'files/shared file ü+&.txt';
  const src = path.join(work, 'presign.txt');
  writeFileSync(src, 'presigned bytes\n');
  await cli.ok(['s3', 'cp', src, `s3://${BUCKET}/${key}`]);

  const url = (await cli.ok(['s3', 'presign', `s3://${BUCKET}/${key}`, '--expires-in', '300'])).stdout.trim();
  assert.match(url, /X-Amz-Signature=[0-9a-f]{64}/);
  const out = path.join(work, 'presign.out');
  assert.equal((await curl(url, out)).stdout, '200');
  assert.equal(readFileSync(out, 'utf8'), 'presigned bytes\n');

  // Virtual-host style: curl resolves *.localhost to the loopback by itself.
  const vconfig = path.join(work, 'aws-config-virtual');
  writeFileSync(vconfig, '[default]\ns3 =\n    addressing_style = virtual\n');
  const vhost = await runOk(
    AWS,
    ['--endpoint-url', `http://localhost:${server.port}`, 's3', 'presign', `s3://${BUCKET}/${key}`],
    { env: { ...cli.env, AWS_CONFIG_FILE: vconfig } },
  );
  const vurl = vhost.stdout.trim();
  assert.ok(vurl.startsWith(`http://${BUCKET}.localhost:${server.port}/`), vurl);
  assert.equal((await curl(vurl, out)).stdout, '200');
  assert.equal(readFileSync(out, 'utf8'), 'presigned bytes\n');

  const tampered = url.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=600');
  assert.equal((await curl(tampered, out)).stdout, '403', 'a URL whose signed expiry was changed must be refused');
  assert.match(readFileSync(out, 'utf8'), /<Code>SignatureDoesNotMatch<\/Code>/);

  const short = (await cli.ok(['s3', 'presign', `s3://${BUCKET}/${key}`, '--expires-in', '1'])).stdout.trim();
  await new Promise((r) => setTimeout(r, 2100));
  assert.equal((await curl(short, out)).stdout, '403');
  assert.match(readFileSync(out, 'utf8'), /<Code>AccessDenied<\/Code>/);
});

test('s3 rm removes one object, --recursive the rest; then the bucket can go', { timeout: 300_000 }, async () => {
  const refused = await cli.run(['s3api', 'delete-bucket', '--bucket', BUCKET]);
  assert.match(refused.stderr, /BucketNotEmpty/);

  const one = await cli.ok(['s3', 'rm', `s3://${BUCKET}/files/big.bin`]);
  assert.match(one.stdout, /^delete: s3:\/\/mybucket\/files\/big\.bin$/m);
  const gone = await cli.run(['s3api', 'head-object', '--bucket', BUCKET, '--key', 'files/big.bin']);
  assert.match(gone.stderr, /\(404\)/);

  const rest = await cli.ok(['s3', 'rm', '--recursive', `s3://${BUCKET}/`]);
  assert.equal(
    rest.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('delete:')).length,
    40 + 3 + 1,
  );
  assert.equal((await cli.ok(['s3', 'ls', '--recursive', `s3://${BUCKET}/`])).stdout.trim(), '');

  await cli.ok(['s3', 'rb', `s3://${BUCKET}`]);
  const head = await cli.run(['s3api', 'head-bucket', '--bucket', BUCKET]);
  assert.match(head.stderr, /\(404\)/);
});

test('the server logged no internal error while serving the aws cli', { timeout: 300_000 }, () => {
  const errors = server
    .stderr()
    .split('\n')
    .filter((l) => l.includes('"level":"error"'));
  assert.deepEqual(errors, []);
});
