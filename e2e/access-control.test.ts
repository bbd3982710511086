/**
 * Issue 4 end to end, with the real clients: the two bucket policies of Cellar's documentation
 * (files identical to the documented examples, only the bucket name and add-on id filled in),
 * checked with anonymous curl and a second add-on's s3cfg; s3cmd setacl / put --acl-public;
 * aws s3api create-bucket --acl public-read; setcors / info / delcors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run, runOk, type RunResult } from './helpers/run.js';
import { createAddon, startServer, type Credentials, type E2eServer } from './helpers/server.js';

// Debian's aws-cli 2.x; a pyenv shim named `aws` earlier on PATH may be another version.
const AWS = '/usr/bin/aws';
const CONSOLE = 'https://console.clever-cloud.com';

// The documentation's examples, verbatim (reference: Cellar docs, "Public bucket policy",
// "Read-only policy example", "CORS Configuration").
const PUBLIC_POLICY = `{
  "Id": "Policy1587216857769",
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "Stmt1587216727444",
      "Action": ["s3:GetObject"],
      "Effect": "Allow",
      "Resource": "arn:aws:s3:::<bucket-name>/*",
      "Principal": "*"
    }
  ]
}
`;
const READ_ONLY_POLICY = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Action": ["s3:GetObject"],
      "Effect": "Allow",
      "Resource": "arn:aws:s3:::<bucket-name>/*",
      "Principal": {"AWS": "arn:aws:iam::cellar_xxx"}
    }
  ]
}
`;
const CORS_XML = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>https://console.clever-cloud.com</AllowedOrigin>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>POST</AllowedMethod>
    <AllowedMethod>DELETE</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
  </CORSRule>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>
`;

let server: E2eServer;
let second: Credentials;
let work: string;
/** Cellar-1 (the owner) and Cellar-2, as s3cfg files in the working directory. */
let cfg1: string;
let cfg2: string;
let awsEnv: NodeJS.ProcessEnv;
const env = { ...process.env, LC_ALL: 'C.UTF-8', PYTHONIOENCODING: 'utf-8' };

/** s3cmd run from the working directory, so `./policy.json` means what the documentation means. */
function s3cmd(args: string[]): Promise<RunResult> {
  return run('s3cmd', args, { env, cwd: work, timeoutMs: 60_000 });
}

async function s3cmdOk(args: string[]): Promise<RunResult> {
  const r = await s3cmd(args);
  assert.equal(r.code, 0, `s3cmd ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** s3cmd must fail, and say it was refused (403 AccessDenied). */
async function s3cmdDenied(args: string[]): Promise<RunResult> {
  const r = await s3cmd(args);
  assert.notEqual(r.code, 0, `s3cmd ${args.join(' ')} should have been refused:\n${r.stdout}`);
  assert.match(r.stderr, /403|AccessDenied|Access Denied/, `s3cmd ${args.join(' ')}: ${r.stderr}`);
  return r;
}

/** Anonymous curl: the HTTP status and the body. */
async function curl(
  method: string,
  url: string,
  extra: string[] = [],
): Promise<{ status: number; body: string; headers: string }> {
  const out = path.join(work, 'curl.out');
  const hdr = path.join(work, 'curl.hdr');
  rmSync(out, { force: true });
  const r = await runOk('curl', ['-sS', '-X', method, '-o', out, '-D', hdr, '-w', '%{http_code}', ...extra, url], {
    timeoutMs: 20_000,
  });
  let body = '';
  try {
    body = readFileSync(out, 'utf8');
  } catch {
    // HEAD and empty answers leave no file.
  }
  return { status: Number(r.stdout), body, headers: readFileSync(hdr, 'utf8') };
}

function aws(args: string[]): Promise<RunResult> {
  return run(AWS, ['--endpoint-url', server.endpoint, '--output', 'json', ...args], { env: awsEnv, timeoutMs: 60_000 });
}

async function awsOk(args: string[]): Promise<RunResult> {
  const r = await aws(args);
  assert.equal(r.code, 0, `aws ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

const url = (bucket: string, key = ''): string => `${server.endpoint}/${bucket}/${key}`;

before(async () => {
  server = await startServer();
  work = mkdtempSync(path.join(tmpdir(), 'cellar-e2e-acl-'));
  second = await createAddon(server, 'Cellar-2');
  cfg1 = path.join(work, 's3cfg-1.txt');
  cfg2 = path.join(work, 's3cfg-2.txt');
  writeFileSync(cfg1, readFileSync(server.s3cfgPath));
  writeFileSync(cfg2, (await server.cli(['addon', 's3cfg', second.id])).stdout);
  writeFileSync(path.join(work, 'index.html'), '<h1>hello</h1>\n');
  writeFileSync(path.join(work, 'data.csv'), 'a,b\n1,2\n');
  writeFileSync(path.join(work, 'aws-config'), '');
  writeFileSync(path.join(work, 'aws-credentials'), '');
  // Nothing from the machine's own AWS setup may leak in.
  awsEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  Object.assign(awsEnv, {
    AWS_ACCESS_KEY_ID: server.owner.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.owner.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: path.join(work, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(work, 'aws-credentials'),
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
});

after(async () => {
  await server?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the second add-on id looks like the documentation says (cellar_xxx)', { timeout: 300_000 }, () => {
  assert.match(second.id, /^cellar_/);
  assert.notEqual(second.id, server.owner.id);
});

describe('documented public bucket policy', () => {
  const b = 'public-site';

  test('setpolicy makes every object anonymously readable; writes stay refused; delpolicy restores the ACL', {
    timeout: 300_000,
  }, async () => {
    await s3cmdOk(['-c', cfg1, 'mb', `s3://${b}`]);
    await s3cmdOk(['-c', cfg1, 'put', 'index.html', `s3://${b}/index.html`]);
    await s3cmdOk(['-c', cfg1, 'put', 'data.csv', `s3://${b}/deep/dir/data.csv`]);
    assert.equal((await curl('GET', url(b, 'index.html'))).status, 403, 'private before the policy');

    writeFileSync(path.join(work, 'policy.json'), PUBLIC_POLICY.replace('<bucket-name>', b));
    // The documentation's second form, options after the command.
    await s3cmdOk(['setpolicy', './policy.json', '-c', cfg1, `s3://${b}`]);

    const page = await curl('GET', url(b, 'index.html'));
    assert.equal(page.status, 200);
    assert.equal(page.body, '<h1>hello</h1>\n');
    const deep = await curl('GET', url(b, 'deep/dir/data.csv'));
    assert.equal(deep.status, 200);
    assert.equal(deep.body, 'a,b\n1,2\n');
    assert.equal((await curl('HEAD', url(b, 'index.html'), ['-I'])).status, 200);
    // "No one can access the write permission without authentication."
    const put = await curl('PUT', url(b, 'hacked.html'), ['--data-binary', 'x', '-H', 'content-type: text/html']);
    assert.equal(put.status, 403);
    assert.match(put.body, /<Code>AccessDenied<\/Code>/);
    assert.equal((await curl('DELETE', url(b, 'index.html'))).status, 403);
    assert.equal((await curl('GET', url(b))).status, 403, 'the policy opens objects, not the listing');
    assert.equal((await curl('PUT', `${url(b)}?policy`, ['--data-binary', '{}'])).status, 403);
    assert.equal((await curl('DELETE', `${url(b)}?policy`)).status, 403);
    assert.equal((await curl('GET', url(b, 'hacked.html'))).status, 403, 'nothing was written');
    const ls = await s3cmdOk(['-c', cfg1, 'ls', '-r', `s3://${b}`]);
    assert.doesNotMatch(ls.stdout, /hacked/);

    const info = await s3cmdOk(['-c', cfg1, 'info', `s3://${b}`]);
    assert.match(info.stdout, /Policy:\s+\{/);
    assert.match(info.stdout, /Stmt1587216727444/);

    await s3cmdOk(['-c', cfg1, 'delpolicy', `s3://${b}`]);
    assert.equal((await curl('GET', url(b, 'index.html'))).status, 403, 'the original ACL applies again');
    assert.match((await s3cmdOk(['-c', cfg1, 'info', `s3://${b}`])).stdout, /Policy:\s+none/);
  });
});

describe('documented read-only policy for another add-on', () => {
  const b = 'cellar1-data';

  test('Cellar-2 can get, and cannot list, put, delete or change the bucket; delpolicy ends it', {
    timeout: 300_000,
  }, async () => {
    await s3cmdOk(['-c', cfg1, 'mb', `s3://${b}`]);
    await s3cmdOk(['-c', cfg1, 'put', 'data.csv', `s3://${b}/reports/data.csv`]);
    await s3cmdDenied(['-c', cfg2, 'get', '--force', `s3://${b}/reports/data.csv`, path.join(work, 'before.csv')]);

    writeFileSync(
      path.join(work, 'policy.json'),
      READ_ONLY_POLICY.replace('<bucket-name>', b).replace('cellar_xxx', second.id),
    );
    await s3cmdOk([`--config=${cfg1}`, 'setpolicy', './policy.json', `s3://${b}`]);

    // The policy grants s3:GetObject on the objects: reading works...
    const dest = path.join(work, 'got.csv');
    await s3cmdOk(['-c', cfg2, 'get', '--force', `s3://${b}/reports/data.csv`, dest]);
    assert.equal(readFileSync(dest, 'utf8'), 'a,b\n1,2\n');
    // ...and nothing else: not s3:ListBucket, nor any write or bucket change.
    await s3cmdDenied(['-c', cfg2, 'ls', `s3://${b}`]);
    await s3cmdDenied(['-c', cfg2, 'put', 'index.html', `s3://${b}/index.html`]);
    await s3cmdDenied(['-c', cfg2, 'del', `s3://${b}/reports/data.csv`]);
    await s3cmdDenied(['-c', cfg2, 'setpolicy', './policy.json', `s3://${b}`]);
    await s3cmdDenied(['-c', cfg2, 'delpolicy', `s3://${b}`]);
    await s3cmdDenied(['-c', cfg2, 'setacl', '--acl-public', `s3://${b}/reports/data.csv`]);
    await s3cmdDenied(['-c', cfg2, 'rb', `s3://${b}`]);
    // Cellar-2's credentials do not reach the owner's other buckets, nor the owner's list of buckets.
    const buckets = await s3cmdOk(['-c', cfg2, 'ls']);
    assert.doesNotMatch(buckets.stdout, new RegExp(b));
    // Anonymous callers get nothing from this policy.
    assert.equal((await curl('GET', url(b, 'reports/data.csv'))).status, 403);
    // The owner still sees everything, unchanged.
    const ls = await s3cmdOk(['-c', cfg1, 'ls', '-r', `s3://${b}`]);
    assert.match(ls.stdout, /reports\/data\.csv/);
    assert.doesNotMatch(ls.stdout, /index\.html/);

    await s3cmdOk(['-c', cfg1, 'delpolicy', `s3://${b}`]);
    await s3cmdDenied(['-c', cfg2, 'get', '--force', `s3://${b}/reports/data.csv`, path.join(work, 'after.csv')]);
  });
});

describe('ACLs with s3cmd and aws', () => {
  const b = 'acl-bucket';

  test('setacl --acl-public then --acl-private on an object', { timeout: 300_000 }, async () => {
    await s3cmdOk(['-c', cfg1, 'mb', `s3://${b}`]);
    await s3cmdOk(['-c', cfg1, 'put', 'index.html', `s3://${b}/page.html`]);
    assert.equal((await curl('GET', url(b, 'page.html'))).status, 403);
    await s3cmdOk(['-c', cfg1, 'setacl', '--acl-public', `s3://${b}/page.html`]);
    const got = await curl('GET', url(b, 'page.html'));
    assert.equal(got.status, 200);
    assert.equal(got.body, '<h1>hello</h1>\n');
    const info = await s3cmdOk(['-c', cfg1, 'info', `s3://${b}/page.html`]);
    assert.match(info.stdout, /ACL:\s+\*anon\*: READ/);
    await s3cmdOk(['-c', cfg1, 'setacl', '--acl-private', `s3://${b}/page.html`]);
    assert.equal((await curl('GET', url(b, 'page.html'))).status, 403);
    assert.doesNotMatch((await s3cmdOk(['-c', cfg1, 'info', `s3://${b}/page.html`])).stdout, /\*anon\*/);
  });

  test('setacl --acl-grant=read:<second add-on id> lets the second add-on read, and only read', {
    timeout: 300_000,
  }, async () => {
    await s3cmdOk(['-c', cfg1, 'put', 'data.csv', `s3://${b}/shared.csv`]);
    await s3cmdDenied(['-c', cfg2, 'get', '--force', `s3://${b}/shared.csv`, path.join(work, 'g0.csv')]);
    await s3cmdOk(['-c', cfg1, 'setacl', `--acl-grant=read:${second.id}`, `s3://${b}/shared.csv`]);
    const dest = path.join(work, 'g1.csv');
    await s3cmdOk(['-c', cfg2, 'get', '--force', `s3://${b}/shared.csv`, dest]);
    assert.equal(readFileSync(dest, 'utf8'), 'a,b\n1,2\n');
    const info = await s3cmdOk(['-c', cfg1, 'info', `s3://${b}/shared.csv`]);
    assert.match(info.stdout, /ACL:\s+Cellar-2: READ/);
    await s3cmdDenied(['-c', cfg2, 'put', 'index.html', `s3://${b}/shared.csv`]);
    await s3cmdDenied(['-c', cfg2, 'ls', `s3://${b}`]);
    assert.equal((await curl('GET', url(b, 'shared.csv'))).status, 403);
    await s3cmdOk(['-c', cfg1, 'setacl', `--acl-revoke=read:${second.id}`, `s3://${b}/shared.csv`]);
    await s3cmdDenied(['-c', cfg2, 'get', '--force', `s3://${b}/shared.csv`, path.join(work, 'g2.csv')]);
  });

  test('put --acl-public uploads an anonymously readable object', { timeout: 300_000 }, async () => {
    await s3cmdOk(['-c', cfg1, 'put', '--acl-public', 'data.csv', `s3://${b}/public.csv`]);
    const got = await curl('GET', url(b, 'public.csv'));
    assert.equal(got.status, 200);
    assert.equal(got.body, 'a,b\n1,2\n');
    assert.equal((await curl('GET', url(b))).status, 403, 'the bucket itself stays private');
  });

  test('setacl --acl-public on the bucket opens the listing, not the private objects', {
    timeout: 300_000,
  }, async () => {
    await s3cmdOk(['-c', cfg1, 'setacl', '--acl-public', `s3://${b}`]);
    const list = await curl('GET', url(b));
    assert.equal(list.status, 200);
    assert.match(list.body, /<Key>page\.html<\/Key>/);
    assert.equal((await curl('GET', url(b, 'page.html'))).status, 403);
    await s3cmdOk(['-c', cfg1, 'setacl', '--acl-private', `s3://${b}`]);
    assert.equal((await curl('GET', url(b))).status, 403);
  });

  test('aws s3api create-bucket --acl public-read: anonymous listing works, a private object stays private', {
    timeout: 300_000,
  }, async () => {
    const nb = 'aws-public-bucket';
    await awsOk(['s3api', 'create-bucket', '--bucket', nb, '--acl', 'public-read']);
    await awsOk(['s3api', 'put-object', '--bucket', nb, '--key', 'secret.txt', '--body', path.join(work, 'data.csv')]);
    const list = await curl('GET', url(nb));
    assert.equal(list.status, 200);
    assert.match(list.body, /<Key>secret\.txt<\/Key>/);
    const obj = await curl('GET', url(nb, 'secret.txt'));
    assert.equal(obj.status, 403);
    assert.match(obj.body, /<Code>AccessDenied<\/Code>/);
    assert.equal((await curl('PUT', url(nb, 'anon.txt'), ['--data-binary', 'x'])).status, 403);
    const acl = JSON.parse((await awsOk(['s3api', 'get-bucket-acl', '--bucket', nb])).stdout) as {
      Grants: Array<{ Grantee: { URI?: string }; Permission: string }>;
    };
    assert.ok(
      acl.Grants.some(
        (g) => g.Grantee.URI === 'http://acs.amazonaws.com/groups/global/AllUsers' && g.Permission === 'READ',
      ),
      JSON.stringify(acl),
    );
    // The documented public policy through the aws CLI, and its status.
    writeFileSync(path.join(work, 'aws-policy.json'), PUBLIC_POLICY.replace('<bucket-name>', nb));
    await awsOk([
      's3api',
      'put-bucket-policy',
      '--bucket',
      nb,
      '--policy',
      `file://${path.join(work, 'aws-policy.json')}`,
    ]);
    const status = JSON.parse((await awsOk(['s3api', 'get-bucket-policy-status', '--bucket', nb])).stdout) as {
      PolicyStatus: { IsPublic: boolean };
    };
    assert.equal(status.PolicyStatus.IsPublic, true);
    assert.equal((await curl('GET', url(nb, 'secret.txt'))).status, 200);
  });
});

describe('CORS with s3cmd', () => {
  const b = 'cors-bucket';

  test('setcors / info / delcors round trip, and the browser-facing headers in between', {
    timeout: 300_000,
  }, async () => {
    await s3cmdOk(['-c', cfg1, 'mb', `s3://${b}`]);
    writeFileSync(path.join(work, 'cors.xml'), CORS_XML);
    // The documented commands, without -s (HTTPS is another issue).
    await s3cmdOk(['-c', cfg1, 'setcors', './cors.xml', `s3://${b}`]);
    const info = await s3cmdOk(['-c', cfg1, 'info', `s3://${b}`]);
    // s3cmd prints the configuration document as the server sent it, up to the ACL lines.
    const cors = /CORS:\s+([\s\S]*?)\n\s+ACL:/.exec(info.stdout)?.[1] ?? '';
    assert.match(cors, /<AllowedOrigin>https:\/\/console\.clever-cloud\.com<\/AllowedOrigin>/);
    assert.match(cors, /<ExposeHeader>ETag<\/ExposeHeader>/);
    assert.match(cors, /<MaxAgeSeconds>3000<\/MaxAgeSeconds>/);

    const pre = await curl('OPTIONS', url(b, 'upload.bin'), [
      '-H',
      `Origin: ${CONSOLE}`,
      '-H',
      'Access-Control-Request-Method: PUT',
      '-H',
      'Access-Control-Request-Headers: content-type',
    ]);
    assert.equal(pre.status, 200);
    assert.match(pre.headers, new RegExp(`access-control-allow-origin: ${CONSOLE}`, 'i'));
    assert.match(pre.headers, /access-control-allow-methods: .*PUT/i);
    assert.match(pre.headers, /access-control-allow-headers: content-type/i);
    const get = await curl('OPTIONS', url(b, 'x'), [
      '-H',
      'Origin: https://example.org',
      '-H',
      'Access-Control-Request-Method: GET',
    ]);
    assert.equal(get.status, 200);
    assert.match(get.headers, /access-control-max-age: 3000/i);
    assert.equal(
      (
        await curl('OPTIONS', url(b, 'x'), [
          '-H',
          'Origin: https://evil.example',
          '-H',
          'Access-Control-Request-Method: PUT',
        ])
      ).status,
      403,
    );

    await s3cmdOk(['-c', cfg1, 'delcors', `s3://${b}`]);
    assert.match((await s3cmdOk(['-c', cfg1, 'info', `s3://${b}`])).stdout, /CORS:\s+none/);
    const anyGet = ['-H', 'Origin: https://example.org', '-H', 'Access-Control-Request-Method: GET'];
    assert.equal((await curl('OPTIONS', url(b, 'x'), anyGet)).status, 403);
    await s3cmdDenied(['-c', cfg2, 'setcors', './cors.xml', `s3://${b}`]);

    // "Be sure to save it before you update it": what info printed is a valid configuration to roll back to.
    writeFileSync(path.join(work, 'saved-cors.xml'), cors);
    await s3cmdOk(['-c', cfg1, 'setcors', './saved-cors.xml', `s3://${b}`]);
    assert.equal((await curl('OPTIONS', url(b, 'x'), anyGet)).status, 200);
    assert.equal(
      (await curl('OPTIONS', url(b, 'x'), ['-H', `Origin: ${CONSOLE}`, '-H', 'Access-Control-Request-Method: DELETE']))
        .status,
      200,
    );
  });
});

describe('s3cmd info', () => {
  const b = 'info-bucket';

  test('shows location, payer, policy, CORS and ACL without erroring on what is not configured', {
    timeout: 300_000,
  }, async () => {
    await s3cmdOk(['-c', cfg1, 'mb', `s3://${b}`]);
    const info = await s3cmdOk(['-c', cfg1, 'info', `s3://${b}`]);
    assert.match(info.stdout, new RegExp(`s3://${b}/ \\(bucket\\):`));
    assert.match(info.stdout, /Location:\s+\S+/);
    assert.match(info.stdout, /Payer:\s+BucketOwner/);
    assert.match(info.stdout, /Expiration Rule: none/);
    assert.match(info.stdout, /Policy:\s+none/);
    assert.match(info.stdout, /CORS:\s+none/);
    assert.match(info.stdout, /ACL:\s+\S+: FULL_CONTROL/);
    assert.equal(info.stderr.includes('ERROR'), false, info.stderr);
  });

  test('lifecycle, tagging, encryption and website answer "not configured" with the AWS codes', {
    timeout: 300_000,
  }, async () => {
    const rows: Array<[string, string]> = [
      ['get-bucket-lifecycle-configuration', 'NoSuchLifecycleConfiguration'],
      ['get-bucket-tagging', 'NoSuchTagSet'],
      ['get-bucket-encryption', 'ServerSideEncryptionConfigurationNotFoundError'],
      ['get-bucket-website', 'NoSuchWebsiteConfiguration'],
      ['get-bucket-policy', 'NoSuchBucketPolicy'],
      ['get-bucket-cors', 'NoSuchCORSConfiguration'],
    ];
    // Independent reads: run together, the CLI starts slowly.
    const [payerRun, ...results] = await Promise.all([
      awsOk(['s3api', 'get-bucket-request-payment', '--bucket', b]),
      ...rows.map(([cmd]) => aws(['s3api', cmd, '--bucket', b])),
    ]);
    rows.forEach(([cmd, code], i) => {
      const r = results[i]!;
      assert.notEqual(r.code, 0, `${cmd}: ${r.stdout}`);
      assert.match(r.stderr, new RegExp(`\\(${code}\\)`), `${cmd}: ${r.stderr}`);
    });
    const payer = JSON.parse(payerRun!.stdout) as { Payer: string };
    assert.equal(payer.Payer, 'BucketOwner');
  });
});
