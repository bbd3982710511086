/**
 * Upstream mode end to end: one Ceph RGW (scripts/ceph/up.sh) and two gateways in front of it.
 * Add-ons are RGW users made by `cellar addon`; s3cmd and the SDK talk to the gateways; RGW is
 * stopped, stalled and brought back under them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startCeph, type Rgw } from './helpers/ceph.js';
import { startGateway, type Gateway } from './helpers/gateway.js';
import { run, runOk } from './helpers/run.js';

interface Addon {
  id: string;
  name: string;
  email: string;
  accessKeyId: string;
  secretAccessKey: string;
}

let rgw: Rgw;
let a: Gateway;
let b: Gateway;
let owner: Addon;
let work: string;

const TIMEOUT_MS = 3000;

before(
  async () => {
    rgw = await startCeph();
    // Measured here so CI logs show what the harness costs.
    process.stderr.write(`# ceph cluster + rgw answering after ${rgw.startSeconds}s\n`);
    [a, b] = await Promise.all([
      startGateway(rgw, { CELLAR_UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS) }),
      startGateway(rgw, { CELLAR_UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS) }),
    ]);
    const created = await a.cli(['addon', 'create', '--name', 'site-owner', '--json']);
    assert.equal(created.code, 0, created.stderr);
    owner = JSON.parse(created.stdout) as Addon;
    work = mkdtempSync(path.join(tmpdir(), 'cellar-upstream-'));
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

function sdk(
  g: Gateway | string,
  creds: Pick<Addon, 'accessKeyId' | 'secretAccessKey'> = owner,
  extra: { maxAttempts?: number; requestChecksumCalculation?: 'WHEN_REQUIRED' } = {},
): S3Client {
  return new S3Client({
    endpoint: typeof g === 'string' ? g : g.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
    ...extra,
  });
}

async function bodyBytes(c: S3Client, bucket: string, key: string): Promise<Buffer> {
  const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

test('cellar addon create|list|s3cfg|delete manage RGW users; their keys work directly against RGW', {
  timeout: 60_000,
}, async () => {
  assert.match(owner.id, /^cellar_[a-z0-9]{12}$/);
  assert.deepEqual(Object.keys(owner).sort(), ['accessKeyId', 'email', 'id', 'name', 'secretAccessKey']);
  assert.equal(owner.name, 'site-owner');
  assert.match(owner.accessKeyId, /^[A-Z0-9]{20}$/);
  assert.equal(owner.secretAccessKey.length, 40);

  const fixed = JSON.parse(
    (
      await a.cli([
        'addon',
        'create',
        '--email',
        'blog@example.com',
        '--access-key',
        'UPSTREAMKEY1',
        '--secret-key',
        'upstream-secret-1',
        '--json',
      ])
    ).stdout,
  ) as Addon;
  assert.equal(fixed.accessKeyId, 'UPSTREAMKEY1');
  assert.equal(fixed.email, 'blog@example.com');
  const dup = await a.cli(['addon', 'create', '--access-key', 'UPSTREAMKEY1', '--secret-key', 'other-secret-1']);
  assert.notEqual(dup.code, 0);
  assert.match(dup.stderr, /already in use/);

  // Gateway B sees the add-ons made through A's settings: they live in RGW.
  const list = JSON.parse((await b.cli(['addon', 'list', '--json'])).stdout) as Addon[];
  assert.deepEqual(list.map((x) => x.id).sort(), [owner.id, fixed.id].sort());
  assert.ok(!list.some((x) => x.id === 'cellar-system'), 'the system user is not an add-on');

  const cfg = await b.cli(['addon', 's3cfg', fixed.id]);
  assert.equal(cfg.code, 0, cfg.stderr);
  assert.match(cfg.stdout, /^access_key = UPSTREAMKEY1$/m);
  assert.match(cfg.stdout, /^secret_key = upstream-secret-1$/m);

  // The add-on lives in Ceph: RGW itself accepts its keys.
  const direct = sdk(rgw.url, fixed);
  await direct.send(new PutObjectCommand({ Bucket: await makeBucket(direct, 'direct'), Key: 'k', Body: 'direct' }));

  const busy = await a.cli(['addon', 'delete', fixed.id]);
  assert.notEqual(busy.code, 0, 'an add-on that owns buckets is not deleted');
  assert.match(busy.stderr, /still owns buckets/);
  const other = JSON.parse((await a.cli(['addon', 'create', '--json'])).stdout) as Addon;
  const del = await a.cli(['addon', 'delete', other.id]);
  assert.equal(del.code, 0, del.stderr);
  const missing = await a.cli(['addon', 's3cfg', other.id]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /no add-on/);
});

let bucketSeq = 0;
async function makeBucket(c: S3Client, prefix: string): Promise<string> {
  const name = `${prefix}-${process.pid}-${++bucketSeq}`;
  await c.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

test('s3cmd mb/put/ls/get/del through gateway A; gateway B lists the same objects', { timeout: 120_000 }, async () => {
  const s3cfg = path.join(work, 's3cfg');
  const cfg = await a.cli(['addon', 's3cfg', owner.id]);
  assert.equal(cfg.code, 0, cfg.stderr);
  writeFileSync(s3cfg, cfg.stdout);
  // localhost has no resolvable subdomains: path style, to the gateway's port.
  const via = (g: Gateway) => ['-c', s3cfg, `--host=localhost:${g.port}`, `--host-bucket=localhost:${g.port}`];
  const s3cmdOk = (g: Gateway, args: string[]) => runOk('s3cmd', [...via(g), ...args], { timeoutMs: 60_000 });

  const bucket = `s3cmd-${process.pid}`;
  await s3cmdOk(a, ['mb', `s3://${bucket}`]);
  const files: [string, Buffer][] = [
    ['small.txt', Buffer.from('hello from s3cmd\n')],
    ['dir//double slash.bin', randomBytes(70_000)],
    ['a/../dots + plus%.bin', randomBytes(1000)],
    // Over s3cmd's 15 MiB chunk size: a multipart upload.
    ['big.bin', randomBytes(17 * 1024 * 1024)],
  ];
  for (const [i, [key, body]] of files.entries()) {
    const src = path.join(work, `in-${i}`);
    writeFileSync(src, body);
    await s3cmdOk(a, ['put', src, `s3://${bucket}/${key}`]);
  }
  const listed = (await s3cmdOk(b, ['ls', '--recursive', `s3://${bucket}`])).stdout;
  for (const [key] of files)
    assert.ok(listed.includes(` s3://${bucket}/${key}\n`), `B does not list ${key}:\n${listed}`);
  for (const [i, [key, body]] of files.entries()) {
    const dst = path.join(work, `out-${i}`);
    await s3cmdOk(a, ['get', '--force', `s3://${bucket}/${key}`, dst]);
    assert.ok(readFileSync(dst).equals(body), `bytes of ${key} differ`);
  }
  // SigV2 clients too: the gateway verifies V2 and forwards with SigV4.
  const v2 = path.join(work, 'out-v2');
  await s3cmdOk(b, ['--signature-v2', 'get', '--force', `s3://${bucket}/small.txt`, v2]);
  assert.equal(readFileSync(v2, 'utf8'), 'hello from s3cmd\n');
  await s3cmdOk(a, ['del', '--recursive', '--force', `s3://${bucket}`]);
  assert.equal((await s3cmdOk(b, ['ls', `s3://${bucket}`])).stdout.trim(), '');
  await s3cmdOk(a, ['rb', `s3://${bucket}`]);
  const gone = await run('s3cmd', [...via(b), 'ls', `s3://${bucket}`], { timeoutMs: 60_000 });
  assert.notEqual(gone.code, 0);
  assert.match(gone.stderr, /NoSuchBucket/);
});

test('aws cli flows through gateway A, read back through gateway B', { timeout: 120_000 }, async () => {
  // Debian's aws-cli 2.x; a pyenv shim named `aws` earlier on PATH may be another version.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  writeFileSync(path.join(work, 'aws-config'), '');
  Object.assign(env, {
    AWS_ACCESS_KEY_ID: owner.accessKeyId,
    AWS_SECRET_ACCESS_KEY: owner.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: path.join(work, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(work, 'aws-config'),
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  const aws = (g: Gateway, args: string[]) =>
    runOk('/usr/bin/aws', ['--endpoint-url', g.endpoint, ...args], { env, timeoutMs: 60_000 });
  const bucket = `awscli-${process.pid}`;
  const small = randomBytes(5000);
  // Over the CLI's 8 MiB threshold: a multipart upload.
  const large = randomBytes(20 * 1024 * 1024);
  writeFileSync(path.join(work, 'aws-small'), small);
  writeFileSync(path.join(work, 'aws-large'), large);
  await aws(a, ['s3', 'mb', `s3://${bucket}`]);
  await aws(a, ['s3', 'cp', path.join(work, 'aws-small'), `s3://${bucket}/small file.bin`]);
  await aws(a, ['s3', 'cp', path.join(work, 'aws-large'), `s3://${bucket}/large.bin`]);
  const listed = (await aws(b, ['s3', 'ls', `s3://${bucket}/`])).stdout;
  assert.match(listed, / 5000 small file\.bin$/m);
  assert.match(listed, new RegExp(` ${large.length} large\\.bin$`, 'm'));
  await aws(b, ['s3', 'cp', `s3://${bucket}/large.bin`, path.join(work, 'aws-large.back')]);
  assert.ok(readFileSync(path.join(work, 'aws-large.back')).equals(large));
  const head = JSON.parse(
    (await aws(b, ['s3api', 'head-object', '--bucket', bucket, '--key', 'small file.bin', '--output', 'json'])).stdout,
  ) as { ContentLength: number };
  assert.equal(head.ContentLength, small.length);
  await aws(a, ['s3', 'rm', '--recursive', `s3://${bucket}`]);
  await aws(a, ['s3', 'rb', `s3://${bucket}`]);
  assert.doesNotMatch((await aws(b, ['s3', 'ls'])).stdout, new RegExp(bucket));
});

test('the SDK on default settings (aws-chunked, CRC32 trailer) puts and uploads multipart through the gateway', {
  timeout: 120_000,
}, async () => {
  const viaA = sdk(a);
  const bucket = await makeBucket(viaA, 'sdk');
  const body = randomBytes(300_000);
  // A stream of known length: the SDK frames it aws-chunked with a trailing CRC32.
  await viaA.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'streamed.bin',
      Body: Readable.from([body.subarray(0, 100_000), body.subarray(100_000)]),
      ContentLength: body.length,
    }),
  );
  assert.ok((await bodyBytes(sdk(b), bucket, 'streamed.bin')).equals(body));

  // The same request straight to RGW 16.2 is refused: this is what the gateway bridges.
  await assert.rejects(
    sdk(rgw.url, owner, { maxAttempts: 1 }).send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'direct.bin',
        Body: Readable.from([body]),
        ContentLength: body.length,
      }),
    ),
  );

  const big = randomBytes(11 * 1024 * 1024 + 123);
  const upload = new Upload({
    client: viaA,
    params: {
      Bucket: bucket,
      Key: 'multi part.bin',
      Body: Readable.from([big.subarray(0, 4_000_000), big.subarray(4_000_000)]),
    },
    partSize: 5 * 1024 * 1024,
    queueSize: 2,
  });
  const uploaded = await upload.done();
  assert.ok((await bodyBytes(sdk(b), bucket, 'multi part.bin')).equals(big));
  const multiHead = await sdk(b).send(new HeadObjectCommand({ Bucket: bucket, Key: 'multi part.bin' }));
  assert.match(uploaded.ETag ?? '', /^"[0-9a-f]{32}-3"$/);
  assert.equal(uploaded.ETag, multiHead.ETag);
  // A checksum RGW 16.2 cannot check is checked by the gateway, and a body failing it is never stored.
  await assert.rejects(
    sdk(a, owner, { maxAttempts: 1 }).send(
      new PutObjectCommand({ Bucket: bucket, Key: 'corrupt.bin', Body: 'hello', ChecksumCRC32: 'AAAAAA==' }),
    ),
    (e: { name: string; $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(e.name, 'BadDigest');
      assert.equal(e.$metadata?.httpStatusCode, 400);
      return true;
    },
  );
  await assert.rejects(
    sdk(b).send(new HeadObjectCommand({ Bucket: bucket, Key: 'corrupt.bin' })),
    (e: { name: string }) => e.name === 'NotFound',
  );

  // RGW answers a missing bucket before reading the body and hangs up: its answer reaches the client.
  await assert.rejects(
    sdk(a, owner, { maxAttempts: 1 }).send(
      new PutObjectCommand({
        Bucket: `${bucket}-missing`,
        Key: 'k',
        Body: Readable.from([big.subarray(0, 5_000_000), big.subarray(5_000_000)]),
        ContentLength: big.length,
      }),
    ),
    (e: { name: string }) => e.name === 'NoSuchBucket',
  );

  const listed = await sdk(b).send(new ListObjectsV2Command({ Bucket: bucket }));
  assert.deepEqual(
    listed.Contents?.map((o) => [o.Key, o.Size]),
    [
      ['multi part.bin', big.length],
      ['streamed.bin', body.length],
    ],
  );
});

/** The base64 CRC32 the SDK sends and S3 answers (x-amz-checksum-crc32). */
function crc32Base64(b: Buffer): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(b));
  return out.toString('base64');
}

test('the SDK gets the CRC32 the gateway verified on PutObject and UploadPart, and the ETag of a completed upload', {
  timeout: 120_000,
}, async () => {
  const c = sdk(a);
  const bucket = await makeBucket(c, 'answers');
  const body = randomBytes(200_000);
  // Trailing CRC32 (a stream of known length is sent aws-chunked), then CRC32 as a header.
  const streamed = await c.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'trailer.bin',
      Body: Readable.from([body]),
      ContentLength: body.length,
    }),
  );
  assert.equal(streamed.ChecksumCRC32, crc32Base64(body));
  const small = Buffer.from('checksum as a header');
  const headed = await c.send(
    new PutObjectCommand({ Bucket: bucket, Key: 'header.txt', Body: small, ChecksumCRC32: crc32Base64(small) }),
  );
  assert.equal(headed.ChecksumCRC32, crc32Base64(small));
  // RGW 16.2 cannot keep the checksum (README, upstream mode): reads do not return it.
  const head = await c.send(new HeadObjectCommand({ Bucket: bucket, Key: 'trailer.bin', ChecksumMode: 'ENABLED' }));
  assert.equal(head.ContentLength, body.length);
  assert.equal(head.ChecksumCRC32, undefined);

  // Multipart in a versioned bucket: the ETag filled in is the new version's.
  await c.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1234)];
  const up = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'multi.bin' }));
  const etags: string[] = [];
  for (const [i, part] of parts.entries()) {
    const r = await c.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: 'multi.bin',
        UploadId: up.UploadId,
        PartNumber: i + 1,
        Body: Readable.from([part]),
        ContentLength: part.length,
      }),
    );
    assert.equal(r.ChecksumCRC32, crc32Base64(part), `part ${i + 1}`);
    etags.push(r.ETag!);
  }
  const done = await c.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: 'multi.bin',
      UploadId: up.UploadId,
      MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
    }),
  );
  // S3's multipart ETag: the MD5 of the parts' binary MD5s, then "-<number of parts>".
  const md5s = parts.map((p) => createHash('md5').update(p).digest());
  assert.equal(done.ETag, `"${createHash('md5').update(Buffer.concat(md5s)).digest('hex')}-2"`);
  assert.ok(done.VersionId, 'a versioned bucket names the new version');
  // Overwritten afterwards: the ETag above was the completed version's.
  await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'multi.bin', Body: 'newer' }));
  const version = await sdk(b).send(
    new HeadObjectCommand({ Bucket: bucket, Key: 'multi.bin', VersionId: done.VersionId }),
  );
  assert.equal(version.ETag, done.ETag);
  assert.equal(version.ContentLength, parts[0]!.length + parts[1]!.length);

  // Why the gateway fills it in: RGW itself answers the same request with an empty ETag.
  const direct = sdk(rgw.url, owner, { requestChecksumCalculation: 'WHEN_REQUIRED' });
  const again = await direct.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'direct.bin' }));
  const part = await direct.send(
    new UploadPartCommand({ Bucket: bucket, Key: 'direct.bin', UploadId: again.UploadId, PartNumber: 1, Body: small }),
  );
  const directDone = await direct.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: 'direct.bin',
      UploadId: again.UploadId,
      MultipartUpload: { Parts: [{ ETag: part.ETag, PartNumber: 1 }] },
    }),
  );
  assert.equal(directDone.ETag, '');
});

test('the two documented bucket policies work verbatim with s3cmd through the gateways', {
  timeout: 120_000,
}, async () => {
  const second = JSON.parse((await a.cli(['addon', 'create', '--name', 'third-party', '--json'])).stdout) as Addon;
  const cfgFor = async (who: Addon, name: string): Promise<string> => {
    const r = await a.cli(['addon', 's3cfg', who.id]);
    assert.equal(r.code, 0, r.stderr);
    const file = path.join(work, name);
    writeFileSync(file, r.stdout);
    return file;
  };
  const cfg1 = await cfgFor(owner, 'cellar-1.s3cfg');
  const cfg2 = await cfgFor(second, 'cellar-2.s3cfg');
  const via = (g: Gateway) => [`--host=localhost:${g.port}`, `--host-bucket=localhost:${g.port}`];
  const bucket = `policies-${process.pid}`;
  const s3cmd = (args: string[]) => run('s3cmd', args, { timeoutMs: 60_000, cwd: work });
  const ok = async (args: string[]) => {
    const r = await s3cmd(args);
    assert.equal(r.code, 0, `s3cmd ${args.join(' ')}\n${r.stderr}`);
    return r;
  };
  await ok([...via(a), '-c', cfg1, 'mb', `s3://${bucket}`]);
  writeFileSync(path.join(work, 'page.html'), '<h1>shared</h1>');
  await ok([...via(a), '-c', cfg1, 'put', path.join(work, 'page.html'), `s3://${bucket}/page.html`]);
  const anonymous = () =>
    fetch(`${b.endpoint}/${bucket}/page.html`).then(async (r) => [r.status, await r.text()] as const);
  assert.equal((await anonymous())[0], 403);

  // Public bucket policy, the documentation's text with the bucket name filled in.
  writeFileSync(
    path.join(work, 'policy.json'),
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
  await ok(['setpolicy', './policy.json', '-c', cfg1, ...via(a), `s3://${bucket}`]);
  assert.deepEqual(await anonymous(), [200, '<h1>shared</h1>']);
  await ok(['delpolicy', '-c', cfg1, ...via(b), `s3://${bucket}`]);
  assert.equal((await anonymous())[0], 403);

  // Read-only access for another add-on, named the Cellar way.
  const readOnly = JSON.stringify(
    {
      Version: '2012-10-17',
      Statement: [
        {
          Action: ['s3:GetObject'],
          Effect: 'Allow',
          Resource: `arn:aws:s3:::${bucket}/*`,
          Principal: { AWS: `arn:aws:iam::${second.id}` },
        },
      ],
    },
    null,
    2,
  );
  writeFileSync(path.join(work, 'policy.json'), readOnly);
  const before = await s3cmd([
    `--config=${cfg2}`,
    ...via(b),
    'get',
    '--force',
    `s3://${bucket}/page.html`,
    path.join(work, 'got.html'),
  ]);
  assert.notEqual(before.code, 0, 'no access before the policy');
  await ok([`--config=${cfg1}`, ...via(a), 'setpolicy', './policy.json', `s3://${bucket}`]);
  await ok([`--config=${cfg2}`, ...via(b), 'get', '--force', `s3://${bucket}/page.html`, path.join(work, 'got.html')]);
  assert.equal(readFileSync(path.join(work, 'got.html'), 'utf8'), '<h1>shared</h1>');
  const write = await s3cmd([
    `--config=${cfg2}`,
    ...via(b),
    'put',
    path.join(work, 'page.html'),
    `s3://${bucket}/intruder.html`,
  ]);
  assert.notEqual(write.code, 0, 'read-only means read-only');
  assert.match(write.stderr, /AccessDenied/);
  // Read back, the policy names the add-on as it was written, not as RGW spells it.
  const info = await ok([`--config=${cfg1}`, ...via(b), 'info', `s3://${bucket}`]);
  assert.ok(info.stdout.includes(`arn:aws:iam::${second.id}`), info.stdout);
  assert.ok(!info.stdout.includes(':user/'), info.stdout);
});

test('RGW decides anonymous access; presigned URLs made for the gateway work', { timeout: 30_000 }, async () => {
  const c = sdk(a);
  const bucket = await makeBucket(c, 'anon');
  await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'public.txt', Body: 'for everyone', ACL: 'public-read' }));
  await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'private.txt', Body: 'owner only' }));
  const pub = await fetch(`${b.endpoint}/${bucket}/public.txt`);
  assert.equal(pub.status, 200);
  assert.equal(await pub.text(), 'for everyone');
  const priv = await fetch(`${b.endpoint}/${bucket}/private.txt`);
  assert.equal(priv.status, 403);
  assert.match(await priv.text(), /<Code>AccessDenied<\/Code>/);

  const url = await getSignedUrl(sdk(b), new GetObjectCommand({ Bucket: bucket, Key: 'private.txt' }), {
    expiresIn: 300,
  });
  const signed = await fetch(url);
  assert.equal(signed.status, 200);
  assert.equal(await signed.text(), 'owner only');
  const tampered = await fetch(url.replace('private.txt', 'public.txt'));
  assert.equal(tampered.status, 403);
  assert.match(await tampered.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
});

test('a client that pauses a download longer than the upstream timeout still gets every byte', {
  timeout: 60_000,
}, async () => {
  const c = sdk(a);
  const bucket = await makeBucket(c, 'slow');
  const body = randomBytes(32 * 1024 * 1024);
  await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'big.bin', Body: body }));
  const got = await sdk(a).send(new GetObjectCommand({ Bucket: bucket, Key: 'big.bin' }));
  const chunks: Buffer[] = [];
  let paused = false;
  for await (const chunk of got.Body as Readable) {
    chunks.push(chunk as Buffer);
    if (!paused) {
      paused = true;
      await new Promise((r) => setTimeout(r, TIMEOUT_MS * 1.5));
    }
  }
  assert.ok(Buffer.concat(chunks).equals(body));
});

test('a signature made with the wrong secret is SignatureDoesNotMatch; an unknown key InvalidAccessKeyId', {
  timeout: 30_000,
}, async () => {
  const wrong = sdk(a, { accessKeyId: owner.accessKeyId, secretAccessKey: 'x'.repeat(40) }, { maxAttempts: 1 });
  await assert.rejects(
    wrong.send(new ListObjectsV2Command({ Bucket: 'whatever' })),
    (e: { name: string; $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(e.name, 'SignatureDoesNotMatch');
      assert.equal(e.$metadata?.httpStatusCode, 403);
      return true;
    },
  );
  const unknown = sdk(a, { accessKeyId: 'NOSUCHKEY0000000000X', secretAccessKey: 'x'.repeat(40) }, { maxAttempts: 1 });
  await assert.rejects(
    unknown.send(new ListObjectsV2Command({ Bucket: 'whatever' })),
    (e: { name: string; $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(e.name, 'InvalidAccessKeyId');
      assert.equal(e.$metadata?.httpStatusCode, 403);
      return true;
    },
  );
});

async function expect503(g: Gateway): Promise<void> {
  // Anonymous path-style GET: the S3 API, forwarded as is.
  const res = await fetch(`${g.endpoint}/any-bucket/any-key`, { signal: AbortSignal.timeout(TIMEOUT_MS * 5) });
  const text = await res.text();
  assert.equal(res.status, 503, text);
  assert.match(res.headers.get('content-type') ?? '', /application\/xml/);
  assert.match(text, /<Code>ServiceUnavailable<\/Code>/);
  // A signed request too (its secret is cached from earlier requests, or the look-up fails).
  await assert.rejects(
    sdk(g, owner, { maxAttempts: 1 }).send(new ListObjectsV2Command({ Bucket: 'any-bucket' })),
    (e: { name: string; $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(e.$metadata?.httpStatusCode, 503);
      assert.equal(e.name, 'ServiceUnavailable');
      return true;
    },
  );
}

test('RGW stopped or stalled: 503 ServiceUnavailable, then recovery without restarting the gateways', {
  timeout: 180_000,
}, async () => {
  const c = sdk(a);
  const bucket = await makeBucket(c, 'outage');
  await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'before', Body: 'before' }));

  await rgw.stopRgw();
  await expect503(a);
  await expect503(b);
  await rgw.startRgw();
  await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'after', Body: 'after' }));
  assert.equal((await bodyBytes(sdk(b), bucket, 'before')).toString(), 'before');
  assert.equal((await bodyBytes(sdk(b), bucket, 'after')).toString(), 'after');

  // A stalled RGW (accepts connections, never answers): the timeout turns it into a 503.
  const pid = rgwPid();
  process.kill(pid, 'SIGSTOP');
  try {
    await expect503(a);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  assert.equal((await bodyBytes(sdk(a), bucket, 'after')).toString(), 'after');
  assert.deepEqual(
    a
      .stderr()
      .split('\n')
      .filter((l) => l.includes('"level":"error"')),
    [],
  );
});

test('a gateway killed mid-upload leaves no partial object, and the other gateway keeps serving', {
  timeout: 120_000,
}, async () => {
  const gw = await startGateway(rgw);
  try {
    const bucket = await makeBucket(sdk(a), 'crash');
    await sdk(a).send(new PutObjectCommand({ Bucket: bucket, Key: 'kept.txt', Body: 'kept' }));
    const total = 64 * 1024 * 1024;
    let sent = 0;
    let killed = false;
    const slow = new Readable({
      read() {
        if (sent >= total) return void this.push(null);
        sent += 1024 * 1024;
        // Half-way through, the gateway dies.
        if (sent > total / 2 && !killed) {
          killed = true;
          void gw.kill9();
        }
        setTimeout(() => this.push(randomBytes(1024 * 1024)), 5);
      },
    });
    await assert.rejects(
      sdk(gw, owner, { maxAttempts: 1 }).send(
        new PutObjectCommand({ Bucket: bucket, Key: 'partial.bin', Body: slow, ContentLength: total }),
      ),
    );
    assert.ok(killed, 'the gateway was killed during the upload');
    await assert.rejects(
      sdk(b).send(new HeadObjectCommand({ Bucket: bucket, Key: 'partial.bin' })),
      (e: { name: string }) => e.name === 'NotFound',
    );
    assert.equal((await bodyBytes(sdk(b), bucket, 'kept.txt')).toString(), 'kept');
  } finally {
    await gw.stop();
  }
});

function rgwPid(): number {
  const line = readFileSync(path.join(rgw.dir, 'run/pids'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('client.rgw '));
  assert.ok(line, 'radosgw pid recorded');
  return Number(line.split(' ')[1]);
}
