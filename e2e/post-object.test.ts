/**
 * Browser-based uploads (PostObject) from real clients against a real server process:
 * boto3's generate_presigned_post (Debian's python3-boto3, SigV4 and SigV2) with the form sent
 * by curl, and the upload page a site owner hosts on a Cellar website, submitted by Chromium.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { BrowserContext } from 'playwright-core';
import { launchChromium } from './helpers/chromium.js';
import { run, runOk } from './helpers/run.js';
import { sdkClient, startServer, type E2eServer } from './helpers/server.js';

// Debian's interpreter and its python3-boto3, not whatever python a developer put first on PATH.
const PYTHON = '/usr/bin/python3';
const UPLOADS = 'uploads';
const SITE = 'www.upload.test';

let server: E2eServer;
let s3: S3Client;
let work: string;

const md5 = (b: Buffer | string): string => createHash('md5').update(b).digest('hex');

before(async () => {
  server = await startServer();
  s3 = sdkClient(server);
  work = mkdtempSync(path.join(tmpdir(), 'cellar-e2e-post-'));
  await s3.send(new CreateBucketCommand({ Bucket: UPLOADS }));
});

after(async () => {
  s3?.destroy();
  await server?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface PresignedPost {
  url: string;
  fields: Record<string, string>;
}

/** Runs boto3's generate_presigned_post with the given signature version; the machine's AWS setup stays out. */
async function presignedPost(
  signatureVersion: 's3v4' | 's3',
  key: string,
  fields: Record<string, string>,
  conditions: unknown[],
): Promise<PresignedPost> {
  const script = path.join(work, 'presign.py');
  writeFileSync(
    script,
    `
import json, os, sys
import boto3
from botocore.config import Config
a = json.loads(sys.argv[1])
s3 = boto3.client('s3', endpoint_url=a['endpoint'], region_name='us-east-1',
                  aws_access_key_id=a['id'], aws_secret_access_key=a['secret'],
                  config=Config(signature_version=a['sig'], s3={'addressing_style': 'path'}))
print(json.dumps(s3.generate_presigned_post(a['bucket'], a['key'], Fields=a['fields'], Conditions=a['conditions'], ExpiresIn=600)))
`,
  );
  // A fresh environment: no AWS_* from the machine (AWS_CA_BUNDLE, profiles, endpoints) reaches boto3.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: work,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const arg = JSON.stringify({
    endpoint: server.endpoint,
    id: server.owner.accessKeyId,
    secret: server.owner.secretAccessKey,
    sig: signatureVersion,
    bucket: UPLOADS,
    key,
    fields,
    conditions,
  });
  const r = await runOk(PYTHON, [script, arg], { env, timeoutMs: 30_000 });
  return JSON.parse(r.stdout) as PresignedPost;
}

/** Posts the form with curl: every field as a literal string, then the file. Returns status, headers and body. */
async function curlPost(
  p: PresignedPost,
  file: string,
  filename: string,
): Promise<{ status: number; headers: string; body: string }> {
  const out = path.join(work, 'out.txt');
  const hdr = path.join(work, 'headers.txt');
  const args = ['-sS', '-o', out, '-D', hdr, '-w', '%{http_code}'];
  for (const [name, value] of Object.entries(p.fields)) args.push('--form-string', `${name}=${value}`);
  args.push('-F', `file=@${file};filename=${filename};type=text/plain`, p.url);
  const r = await runOk('curl', args, { timeoutMs: 30_000 });
  return { status: Number(r.stdout), headers: readFileSync(hdr, 'utf8'), body: readFileSync(out, 'utf8') };
}

test('boto3 generate_presigned_post (SigV4) + curl: 201, the object stored as the form said', {
  timeout: 60_000,
}, async () => {
  const p = await presignedPost(
    's3v4',
    'from-boto/${filename}',
    { 'Content-Type': 'text/plain', success_action_status: '201' },
    [['starts-with', '$Content-Type', 'text/'], { success_action_status: '201' }, ['content-length-range', 1, 1048576]],
  );
  assert.equal(p.fields['x-amz-algorithm'], 'AWS4-HMAC-SHA256', JSON.stringify(p.fields));
  const content = `hello from curl ${randomBytes(4).toString('hex')}\n`;
  const file = path.join(work, 'hello.txt');
  writeFileSync(file, content);
  const res = await curlPost(p, file, 'hello.txt');
  assert.equal(res.status, 201, res.body);
  assert.match(res.body, new RegExp(`<Key>from-boto/hello\\.txt</Key><ETag>&quot;${md5(content)}&quot;</ETag>`));
  assert.match(res.headers, new RegExp(`^etag: "${md5(content)}"\\r?$`, 'im'));
  const got = await s3.send(new GetObjectCommand({ Bucket: UPLOADS, Key: 'from-boto/hello.txt' }));
  assert.equal(await got.Body!.transformToString(), content);
  assert.equal(got.ContentType, 'text/plain');
});

test('boto3 generate_presigned_post (SigV2, signature_version s3) + curl: 204', { timeout: 60_000 }, async () => {
  const p = await presignedPost('s3', 'v2/${filename}', {}, []);
  assert.ok(p.fields.AWSAccessKeyId !== undefined && p.fields.signature !== undefined, JSON.stringify(p.fields));
  const file = path.join(work, 'v2.txt');
  writeFileSync(file, 'signed the old way');
  const res = await curlPost(p, file, 'v2.txt');
  assert.equal(res.status, 204, res.body);
  const got = await s3.send(new GetObjectCommand({ Bucket: UPLOADS, Key: 'v2/v2.txt' }));
  assert.equal(await got.Body!.transformToString(), 'signed the old way');
});

test('boto3 policy with a content-length-range: a bigger file is EntityTooLarge and not stored', {
  timeout: 60_000,
}, async () => {
  const p = await presignedPost('s3v4', 'limited.txt', {}, [['content-length-range', 1, 10]]);
  const file = path.join(work, 'big.txt');
  writeFileSync(file, 'x'.repeat(11));
  const res = await curlPost(p, file, 'big.txt');
  assert.equal(res.status, 400, res.body);
  assert.match(res.body, /<Code>EntityTooLarge<\/Code>/);
  const missing = await run(
    'curl',
    ['-sS', '-o', '/dev/null', '-w', '%{http_code}', `${server.endpoint}/${UPLOADS}/limited.txt`],
    { timeoutMs: 20_000 },
  );
  assert.equal(missing.stdout, '403', 'nothing to read');
  await assert.rejects(s3.send(new GetObjectCommand({ Bucket: UPLOADS, Key: 'limited.txt' })), /NoSuchKey/);
});

/** The SigV4 POST policy signature, computed here as a site owner's backend would (sigv4-post-example.html). */
function signPolicy(secret: string, date: string, policy: string): string {
  let key: Buffer = createHmac('sha256', `AWS4${secret}`).update(date).digest();
  for (const part of ['us-east-1', 's3', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
  return createHmac('sha256', key).update(policy).digest('hex');
}

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

test('Chromium: the upload page of a Cellar-hosted site posts a file to a bucket and follows the redirect', {
  timeout: 120_000,
}, async () => {
  const site = (p: string): string => `http://${SITE}:${server.port}${p}`;
  const now = new Date();
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const credential = `${server.owner.accessKeyId}/${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
  const done = site('/done.html');
  const policy = Buffer.from(
    JSON.stringify({
      expiration: new Date(now.getTime() + 3600_000).toISOString(),
      conditions: [
        { bucket: UPLOADS },
        ['starts-with', '$key', 'incoming/'],
        { success_action_redirect: done },
        ['starts-with', '$Content-Type', 'text/'],
        ['content-length-range', 1, 1048576],
        { 'x-amz-credential': credential },
        { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' },
        { 'x-amz-date': amzDate },
      ],
    }),
  ).toString('base64');
  const fields: Array<[string, string]> = [
    ['key', 'incoming/${filename}'],
    ['success_action_redirect', done],
    ['Content-Type', 'text/plain'],
    ['x-amz-credential', credential],
    ['x-amz-algorithm', 'AWS4-HMAC-SHA256'],
    ['x-amz-date', amzDate],
    ['policy', policy],
    ['x-amz-signature', signPolicy(server.owner.secretAccessKey, amzDate.slice(0, 8), policy)],
  ];
  // Virtual-host style, as AWS's example form posts to http://<bucket>.s3.amazonaws.com/.
  const uploadPage = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Upload</title></head><body>
<form id="upload" action="http://${UPLOADS}.localhost:${server.port}/" method="post" enctype="multipart/form-data">
${fields.map(([n, v]) => `<input type="hidden" name="${n}" value="${escapeHtml(v)}">`).join('\n')}
<input type="file" name="file"><button id="send" type="submit">Upload</button></form></body></html>`;
  const donePage = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Uploaded</title></head><body><p id="key"></p>
<script>document.getElementById('key').textContent = new URLSearchParams(location.search).get('key');</script></body></html>`;
  await s3.send(new CreateBucketCommand({ Bucket: SITE }));
  await s3.send(
    new PutBucketPolicyCommand({
      Bucket: SITE,
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${SITE}/*` }],
      }),
    }),
  );
  await s3.send(
    new PutObjectCommand({
      Bucket: SITE,
      Key: 'upload.html',
      Body: uploadPage,
      ContentType: 'text/html; charset=utf-8',
    }),
  );
  await s3.send(
    new PutObjectCommand({ Bucket: SITE, Key: 'done.html', Body: donePage, ContentType: 'text/html; charset=utf-8' }),
  );

  let context: BrowserContext | undefined;
  try {
    context = await launchChromium(path.join(work, 'profile'), { timeout: 60_000 });
    const page = context.pages()[0] ?? (await context.newPage());
    const opened = await page.goto(site('/upload.html'));
    assert.equal(opened?.status(), 200);
    assert.equal(await page.title(), 'Upload');
    const content = Buffer.from(`notes typed in a browser ${randomBytes(4).toString('hex')}\n`);
    await page.setInputFiles('input[name=file]', { name: 'notes.txt', mimeType: 'text/plain', buffer: content });
    await Promise.all([page.waitForURL((u) => u.pathname === '/done.html', { timeout: 30_000 }), page.click('#send')]);
    const landed = new URL(page.url());
    assert.equal(landed.host, `${SITE}:${server.port}`);
    assert.equal(landed.searchParams.get('bucket'), UPLOADS);
    assert.equal(landed.searchParams.get('key'), 'incoming/notes.txt');
    assert.equal(landed.searchParams.get('etag'), `"${md5(content)}"`);
    assert.equal(await page.textContent('#key'), 'incoming/notes.txt');
    const got = await s3.send(new GetObjectCommand({ Bucket: UPLOADS, Key: 'incoming/notes.txt' }));
    assert.equal(Buffer.from(await got.Body!.transformToByteArray()).toString(), content.toString());
    assert.equal(got.ContentType, 'text/plain');
  } finally {
    await context?.close();
  }
});
