/**
 * Signing edge cases of real clients: botocore's HmacV1 (`signature_version='s3'`) on path-style
 * bucket requests, and curl's SigV4 over an x-amz-meta-* value holding UTF-8 bytes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run, runOk } from './helpers/run.js';
import { startServer, type E2eServer } from './helpers/server.js';

const T = { timeout: 120_000 };
let server: E2eServer;
let work: string;

before(async () => {
  server = await startServer();
  work = mkdtempSync(path.join(tmpdir(), 'cellar-e2e-signing-'));
}, T);

after(async () => {
  await server?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Debian's python3 with Debian's boto3 (installed by the test script), never the machine's own. */
function botocore(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = path.join(work, `s-${Math.random().toString(36).slice(2)}.py`);
  writeFileSync(file, script);
  const env = { PATH: '/usr/bin:/bin', HOME: work, LC_ALL: 'C.UTF-8' };
  return run('/usr/bin/python3', [file, server.endpoint, server.owner.accessKeyId, server.owner.secretAccessKey], {
    env,
    timeoutMs: 90_000,
  });
}

test('botocore signature_version=s3 (SigV2), path style: every bucket-level request is accepted', T, async () => {
  const r = await botocore(`
import sys, boto3
from botocore.config import Config
endpoint, ak, sk = sys.argv[1:4]
c = boto3.client('s3', endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk, region_name='us-east-1',
                 config=Config(signature_version='s3', s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))
b = 'sigv2-botocore'
c.create_bucket(Bucket=b)
c.put_object(Bucket=b, Key='k', Body=b'x')
assert c.list_objects_v2(Bucket=b, Prefix='k')['KeyCount'] == 1
assert c.list_objects(Bucket=b)['Contents'][0]['Key'] == 'k'
c.get_bucket_acl(Bucket=b)
c.get_object_acl(Bucket=b, Key='k')
c.get_bucket_location(Bucket=b)
c.get_bucket_versioning(Bucket=b)
c.put_bucket_policy(Bucket=b, Policy='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}' % b)
c.get_bucket_policy(Bucket=b)
c.delete_bucket_policy(Bucket=b)
c.list_multipart_uploads(Bucket=b)
r = c.delete_objects(Bucket=b, Delete={'Objects': [{'Key': 'k'}]})
assert [d['Key'] for d in r['Deleted']] == ['k'], r
c.delete_bucket(Bucket=b)
print('ok', boto3.__version__)
`);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^ok /m);
});

test('botocore with a wrong secret under SigV2 is still SignatureDoesNotMatch', T, async () => {
  const r = await botocore(`
import sys, boto3
from botocore.config import Config
endpoint, ak, sk = sys.argv[1:4]
c = boto3.client('s3', endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk + 'x', region_name='us-east-1',
                 config=Config(signature_version='s3', s3={'addressing_style': 'path'}, retries={'max_attempts': 1}))
try:
    c.get_bucket_acl(Bucket='anything')
    print('accepted')
except c.exceptions.ClientError as e:
    print(e.response['Error']['Code'])
`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'SignatureDoesNotMatch');
});

test('curl --aws-sigv4 with UTF-8 bytes in an x-amz-meta-* value: stored and returned byte for byte', T, async () => {
  const user = `${server.owner.accessKeyId}:${server.owner.secretAccessKey}`;
  const sig = ['--aws-sigv4', 'aws:amz:us-east-1:s3', '--user', user];
  const empty = createHash('sha256').update('').digest('hex');
  await runOk('curl', [
    '-sf',
    ...sig,
    '-X',
    'PUT',
    '-H',
    `x-amz-content-sha256: ${empty}`,
    `${server.endpoint}/utf8-meta`,
  ]);
  const body = 'abc';
  const sha = createHash('sha256').update(body).digest('hex');
  const put = await run('curl', [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    ...sig,
    '-X',
    'PUT',
    '-H',
    `x-amz-content-sha256: ${sha}`,
    '-H',
    'x-amz-meta-city: Zürich ✓',
    '--data-binary',
    body,
    `${server.endpoint}/utf8-meta/k`,
  ]);
  assert.equal(put.stdout, '200', put.stderr);
  const head = await runOk('curl', [
    '-sI',
    ...sig,
    '-H',
    `x-amz-content-sha256: ${empty}`,
    `${server.endpoint}/utf8-meta/k`,
  ]);
  const line = head.stdout.split('\r\n').find((l) => l.toLowerCase().startsWith('x-amz-meta-city:'));
  assert.equal(line, 'x-amz-meta-city: Zürich ✓');
});
