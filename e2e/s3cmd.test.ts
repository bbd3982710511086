import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { run, type RunResult } from './helpers/run.js';
import { sdkClient, startServer, type E2eServer } from './helpers/server.js';

// The acceptance keys: spaces, unicode, and characters that mean something in URLs and in
// s3cmd's own argument handling. Each must come back byte-identical and be listed as is.
const ODD_KEYS = [
  'with space.txt',
  'two  spaces/ and leading',
  'unicode/ünïcødé-日本語-✓.txt',
  'plus+sign+',
  'percent%25and%',
  'amp&ersand=1&x',
  'hash#fragment',
  'question?mark=1',
  'all of them + % & # ? ü',
  // 1024 bytes, the S3 maximum: 250 nested folders, two 2-byte characters, then 20 more.
  'dir/'.repeat(250) + 'éé' + 'x'.repeat(20),
];

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

/** S3 lists keys in UTF-8 byte order. */
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** The keys of an `s3cmd ls` listing of `bucket`, in the order printed. */
function listedKeys(out: string, bucket: string): string[] {
  const marker = ` s3://${bucket}/`;
  return out
    .split('\n')
    .filter((l) => l.includes(marker) && !/^\s*DIR\s/.test(l))
    .map((l) => l.slice(l.indexOf(marker) + marker.length));
}

/** A tree of 200 files in nested folders (up to 3 levels), with an empty file among them. */
function makeTree(root: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let i = 0; i < 200; i++) {
    const parts = [`d${i % 5}`, `s${i % 4}`];
    if (i % 3 === 0) parts.push(`deep${i % 2}`);
    const rel = [...parts, `f${i}.bin`].join('/');
    const body = i === 7 ? Buffer.alloc(0) : randomBytes(1 + ((i * 997) % 6000));
    mkdirSync(path.join(root, ...parts), { recursive: true });
    writeFileSync(path.join(root, rel), body);
    files.set(rel, body);
  }
  return files;
}

let server: E2eServer;
let sdk: S3Client;
let work: string;

before(async () => {
  server = await startServer();
  sdk = sdkClient(server);
  work = mkdtempSync(path.join(tmpdir(), 'cellar-e2e-s3cmd-'));
});

after(async () => {
  sdk?.destroy();
  await server?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

for (const mode of ['v4', 'v2'] as const) {
  describe(`s3cmd with signature ${mode}`, () => {
    const bucket = `s3cmd-${mode}-basic`;
    const env = { ...process.env, LC_ALL: 'C.UTF-8', PYTHONIOENCODING: 'utf-8' };
    const s3cmd = (args: string[]): Promise<RunResult> =>
      run('s3cmd', ['-c', server.s3cfgPath, ...(mode === 'v2' ? ['--signature-v2'] : []), ...args], {
        env,
        timeoutMs: 60_000,
      });
    const s3cmdOk = async (args: string[]): Promise<RunResult> => {
      const r = await s3cmd(args);
      assert.equal(r.code, 0, `s3cmd ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
      return r;
    };
    const dir = (): string => {
      const d = path.join(work, mode);
      mkdirSync(d, { recursive: true });
      return d;
    };

    test('mb creates a bucket that ls lists', { timeout: 300_000 }, async () => {
      const r = await s3cmdOk(['mb', `s3://${bucket}`]);
      assert.match(r.stdout, new RegExp(`Bucket 's3://${bucket}/' created`));
      const ls = await s3cmdOk(['ls']);
      assert.match(ls.stdout, new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d\\s+s3://${bucket}$`, 'm'));
    });

    test('put with --mime-type and Cache-Control, info, then get byte-identical', { timeout: 300_000 }, async () => {
      const body = randomBytes(300 * 1024);
      const src = path.join(dir(), 'photo.bin');
      writeFileSync(src, body);
      await s3cmdOk([
        'put',
        '--mime-type=image/x-cellar',
        '--add-header=Cache-Control:public, max-age=600',
        src,
        `s3://${bucket}/photos/photo.bin`,
      ]);

      const info = await s3cmdOk(['info', `s3://${bucket}/photos/photo.bin`]);
      assert.match(info.stdout, /File size:\s+307200$/m);
      assert.match(info.stdout, /MIME type:\s+image\/x-cellar$/m);
      assert.match(info.stdout, new RegExp(`MD5 sum:\\s+${md5(body)}$`, 'm'));

      const head = await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: 'photos/photo.bin' }));
      assert.equal(head.ContentType, 'image/x-cellar');
      assert.equal(head.CacheControl, 'public, max-age=600');
      assert.equal(head.ETag, `"${md5(body)}"`);

      const page = path.join(dir(), 'page.html');
      writeFileSync(page, '<p>hi</p>');
      await s3cmdOk([
        'put',
        '--add-header=Content-Disposition:attachment; filename="a b.html"',
        '--add-header=Content-Language:fr-FR',
        '--add-header=Expires:Thu, 01 Dec 2039 16:00:00 GMT',
        '--add-header=x-amz-meta-Color:Blue Green',
        page,
        `s3://${bucket}/page.html`,
      ]);
      const ph = await sdk.send(new HeadObjectCommand({ Bucket: bucket, Key: 'page.html' }));
      assert.equal(ph.ContentDisposition, 'attachment; filename="a b.html"');
      assert.equal(ph.ContentLanguage, 'fr-FR');
      assert.equal(ph.ExpiresString ?? ph.Expires?.toUTCString(), 'Thu, 01 Dec 2039 16:00:00 GMT');
      assert.equal(ph.Metadata?.color, 'Blue Green');
      await s3cmdOk(['del', `s3://${bucket}/page.html`]);

      const dst = path.join(dir(), 'photo.out');
      await s3cmdOk(['get', '--force', `s3://${bucket}/photos/photo.bin`, dst]);
      assert.ok(readFileSync(dst).equals(body), 'downloaded bytes differ from the uploaded ones');
    });

    // s3cmd quietly retries with SigV2 after some 400s; the v4 suite would then prove nothing.
    test(`signs with ${mode} throughout, never falling back`, { timeout: 300_000 }, async () => {
      const src = path.join(dir(), 'sig.txt');
      writeFileSync(src, 'signature check');
      const key = 'sig/a b+c%d&e#f?g ü';
      const put = await s3cmdOk(['--debug', 'put', src, `s3://${bucket}/${key}`]);
      const get = await s3cmdOk(['--debug', 'get', '--force', `s3://${bucket}/${key}`, src + '.out']);
      const del = await s3cmdOk(['--debug', 'del', `s3://${bucket}/${key}`]);
      for (const r of [put, get, del]) {
        const log = r.stdout + r.stderr;
        assert.match(log, new RegExp(`Using signature ${mode}`));
        assert.doesNotMatch(log, new RegExp(`Using signature ${mode === 'v4' ? 'v2' : 'v4'}|Falling back`));
      }
      assert.equal(readFileSync(src + '.out', 'utf8'), 'signature check');
    });

    // signurl always makes a SigV2 query-string URL (AWSAccessKeyId, Expires, Signature).
    test('signurl gives a URL curl can fetch until it expires', { timeout: 300_000 }, async () => {
      const key = 'photos/shared ü+&#?.bin';
      const body = randomBytes(2048);
      const src = path.join(dir(), 'signurl.bin');
      writeFileSync(src, body);
      await s3cmdOk(['put', src, `s3://${bucket}/${key}`]);
      const out = path.join(dir(), 'signurl.out');
      const fetchUrl = async (expiry: string): Promise<string> => {
        const url = (await s3cmdOk(['signurl', `s3://${bucket}/${key}`, expiry])).stdout.trim();
        assert.match(url, /[?&]Signature=/);
        const r = await run('curl', ['-sS', '-o', out, '-w', '%{http_code}', url], { timeoutMs: 20_000 });
        return r.stdout;
      };
      assert.equal(await fetchUrl('+120'), '200');
      assert.ok(readFileSync(out).equals(body), 'bytes fetched through the signed URL differ');
      assert.equal(await fetchUrl(String(Math.floor(Date.now() / 1000) - 5)), '403');
      assert.match(readFileSync(out, 'utf8'), /<Code>AccessDenied<\/Code>/);
      await s3cmdOk(['del', `s3://${bucket}/${key}`]);
    });

    test('rb is refused while the bucket holds an object, del empties it, then rb works', {
      timeout: 300_000,
    }, async () => {
      const refused = await s3cmd(['rb', `s3://${bucket}`]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /BucketNotEmpty/);
      assert.match(
        (await s3cmdOk(['ls'])).stdout,
        new RegExp(`s3://${bucket}$`, 'm'),
        'the bucket must survive a refused rb',
      );

      const del = await s3cmdOk(['del', `s3://${bucket}/photos/photo.bin`]);
      assert.match(del.stdout, /delete: 's3:\/\/.*photo\.bin'/);
      assert.deepEqual(listedKeys((await s3cmdOk(['ls', '--recursive', `s3://${bucket}`])).stdout, bucket), []);
      const info = await s3cmd(['info', `s3://${bucket}/photos/photo.bin`]);
      assert.notEqual(info.code, 0, 'info on a deleted object must fail');

      await s3cmdOk(['rb', `s3://${bucket}`]);
      assert.doesNotMatch((await s3cmdOk(['ls'])).stdout, new RegExp(`s3://${bucket}$`, 'm'));
    });

    test('sync of 200 files in nested folders, a second sync uploads nothing, ls --recursive lists them', {
      timeout: 300_000,
    }, async () => {
      const b = `s3cmd-${mode}-sync`;
      await s3cmdOk(['mb', `s3://${b}`]);
      const root = path.join(dir(), 'tree');
      const files = makeTree(root);

      const first = await s3cmdOk(['sync', '--stats', root + '/', `s3://${b}/site/`]);
      assert.equal(first.stdout.split('\n').filter((l) => l.startsWith('upload:')).length, 200, first.stdout);
      assert.match(first.stdout, /Number of files transferred: 200\b/);

      const second = await s3cmdOk(['sync', '--stats', root + '/', `s3://${b}/site/`]);
      assert.doesNotMatch(second.stdout, /^upload:/m, 'a second sync of an unchanged tree uploads nothing');
      assert.match(second.stdout, /Uploaded 0 bytes/);

      const ls = await s3cmdOk(['ls', '--recursive', `s3://${b}`]);
      const keys = listedKeys(ls.stdout, b);
      const expected = [...files.keys()].map((k) => `site/${k}`).sort(byteOrder);
      assert.deepEqual(keys, expected, 'ls --recursive lists every synced file once, in byte order');

      const back = path.join(dir(), 'back');
      await s3cmdOk(['sync', `s3://${b}/site/`, back + '/']);
      for (const [rel, body] of files)
        assert.ok(readFileSync(path.join(back, rel)).equals(body), `${rel} differs after a round trip`);

      const refused = await s3cmd(['rb', `s3://${b}`]);
      assert.match(refused.stderr, /BucketNotEmpty/);
      await s3cmdOk(['del', '--recursive', '--force', `s3://${b}`]);
      await s3cmdOk(['rb', `s3://${b}`]);
    });

    // The documented custom-domain flow: a bucket named like the domain, path style via --host-bucket.
    test('a bucket named like a domain works path style; an underscore name is refused', {
      timeout: 300_000,
    }, async () => {
      const b = `cdn-${mode}.example.com`;
      await s3cmdOk([`--host-bucket=localhost:${server.port}`, 'mb', `s3://${b}`]);
      const src = path.join(dir(), 'index.html');
      writeFileSync(src, `<h1>${mode}</h1>`);
      await s3cmdOk(['put', src, `s3://${b}/index.html`]);
      assert.deepEqual(listedKeys((await s3cmdOk(['ls', `s3://${b}`])).stdout, b), ['index.html']);
      await s3cmdOk(['get', '--force', `s3://${b}/index.html`, src + '.out']);
      assert.equal(readFileSync(src + '.out', 'utf8'), `<h1>${mode}</h1>`);
      await s3cmdOk(['del', `s3://${b}/index.html`]);
      await s3cmdOk(['rb', `s3://${b}`]);

      const bad = await s3cmd(['mb', `s3://under_score-${mode}`]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /InvalidBucketName/);
    });

    test('odd keys (spaces, unicode, + % & # ?, 1024 bytes) round-trip byte-identically and list exactly', {
      timeout: 300_000,
    }, async () => {
      const b = `s3cmd-${mode}-keys`;
      await s3cmdOk(['mb', `s3://${b}`]);
      assert.equal(Buffer.byteLength(ODD_KEYS.at(-1)!), 1024);
      for (const [i, key] of ODD_KEYS.entries()) {
        const body = Buffer.concat([Buffer.from(key), randomBytes(100 + i)]);
        const src = path.join(dir(), `odd-${i}.in`);
        const dst = path.join(dir(), `odd-${i}.out`);
        writeFileSync(src, body);
        await s3cmdOk(['put', src, `s3://${b}/${key}`]);
        await s3cmdOk(['get', '--force', `s3://${b}/${key}`, dst]);
        assert.ok(readFileSync(dst).equals(body), `bytes of ${JSON.stringify(key)} differ`);
      }
      const keys = listedKeys((await s3cmdOk(['ls', '--recursive', `s3://${b}`])).stdout, b);
      assert.deepEqual(keys, [...ODD_KEYS].sort(byteOrder));

      const tooLong = await s3cmd([
        'put',
        path.join(dir(), 'odd-0.in'),
        `s3://${b}/${'dir/'.repeat(250)}${'x'.repeat(25)}`,
      ]);
      assert.notEqual(tooLong.code, 0, 'a 1025-byte key must be refused');
      assert.match(tooLong.stderr, /KeyTooLongError/);
    });
  });
}

test('the s3cfg written on first start names the server and its keys', { timeout: 300_000 }, () => {
  const lines = readFileSync(server.s3cfgPath, 'utf8').split('\n');
  for (const want of [
    `access_key = ${server.owner.accessKeyId}`,
    `secret_key = ${server.owner.secretAccessKey}`,
    `host_base = localhost:${server.port}`,
    // localhost has no resolvable subdomains, so the s3cfg must be path style.
    `host_bucket = localhost:${server.port}`,
  ])
    assert.ok(lines.includes(want), `s3cfg lacks "${want}":\n${lines.join('\n')}`);
});

test('the server logged no internal error while serving s3cmd', { timeout: 300_000 }, () => {
  const errors = server
    .stderr()
    .split('\n')
    .filter((l) => l.includes('"level":"error"'));
  assert.deepEqual(errors, []);
});
