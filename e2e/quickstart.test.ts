import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run, runOk } from './helpers/run.js';
import { CLI, cellarEnv, createAddon, freePort, startServer, type E2eServer } from './helpers/server.js';

let server: E2eServer;
const scratch: string[] = [];

const s3cmdEnv = { ...process.env, LC_ALL: 'C.UTF-8' };

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'cellar-e2e-qs-'));
  scratch.push(d);
  return d;
}

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.dispose();
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

test('first start prints the endpoint, the keys and the s3cfg path, and writes that file', { timeout: 300_000 }, () => {
  const out = server.stdout();
  assert.match(out, new RegExp(`^Cellar is running at http://localhost:${server.port}/`, 'm'));
  assert.match(out, new RegExp(`^\\s*access key: ${server.owner.accessKeyId}$`, 'm'));
  assert.ok(out.includes(`secret key: ${server.owner.secretAccessKey}\n`));
  assert.match(server.owner.accessKeyId, /^[A-Z0-9]{16,}$/);
  assert.ok(server.owner.secretAccessKey.length >= 32);
  assert.match(server.owner.id, /^cellar_[a-z0-9]+$/);
  assert.equal(server.s3cfgPath, path.join(server.dataDir, 's3cfg'));
  // The file holds a secret: readable by its owner only.
  assert.equal(statSync(server.s3cfgPath).mode & 0o777, 0o600);
});

test('the printed credentials work: the s3cmd and aws lines of the banner run as printed', {
  timeout: 300_000,
}, async () => {
  const lines = server
    .stdout()
    .split('\n')
    .map((l) => l.trim());
  const s3cmdLine = lines.find((l) => l.startsWith('s3cmd '));
  const awsLine = lines.find((l) => l.includes(' aws '));
  assert.ok(s3cmdLine && awsLine, server.stdout());

  const mb = await runOk('bash', ['-c', s3cmdLine], { env: s3cmdEnv });
  assert.match(mb.stdout, /Bucket 's3:\/\/[a-z0-9.-]+\/' created/);
  const bucket = /s3:\/\/([a-z0-9.-]+)/.exec(s3cmdLine)![1]!;

  const ls = await runOk('s3cmd', ['-c', server.s3cfgPath, 'ls'], { env: s3cmdEnv });
  assert.match(ls.stdout, new RegExp(`s3://${bucket}$`, 'm'));

  // Debian's aws-cli 2 rather than whatever `aws` comes first on PATH; the machine's own AWS config stays out.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  const empty = path.join(tempDir(), 'none');
  const awsLs = await runOk('bash', ['-c', `aws() { /usr/bin/aws "$@"; }; ${awsLine}`], {
    env: { ...env, AWS_CONFIG_FILE: empty, AWS_SHARED_CREDENTIALS_FILE: empty, AWS_EC2_METADATA_DISABLED: 'true' },
  });
  assert.match(awsLs.stdout, new RegExp(` ${bucket}$`, 'm'));
});

test('SIGTERM stops the server with exit code 0: it closes idle keep-alive connections rather than wait for them', {
  timeout: 300_000,
}, async () => {
  const idle = new Agent({ keepAlive: true });
  const socket = await new Promise<Socket>((resolve, reject) => {
    request(server.endpoint + '/', { agent: idle }, (res) => {
      const { socket } = res;
      res.resume().on('end', () => resolve(socket));
    })
      .on('error', reject)
      .end();
  });
  let closedByServer = false;
  socket.once('end', () => {
    closedByServer = true;
  });
  // stop() sends SIGTERM and escalates to SIGKILL after 5 s: code 0 without a signal means the
  // server finished its own shutdown, which an open keep-alive connection would have held up.
  const exit = await server.stop();
  await new Promise((resolve) => (socket.destroyed ? resolve(undefined) : socket.once('close', resolve)));
  idle.destroy();
  assert.ok(exit, 'the server was running');
  assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null });
  assert.ok(closedByServer, 'the server ended the idle connection');
});

test('a restart on the same data dir keeps the add-on and its buckets and creates no other', {
  timeout: 300_000,
}, async () => {
  await server.restart();
  const out = server.stdout();
  assert.match(out, new RegExp(`^Cellar is running at http://localhost:${server.port}/`, 'm'));
  assert.doesNotMatch(out, /First start|secret key/);
  const list = JSON.parse(
    (await runOk(process.execPath, [CLI, 'addon', 'list', '--json'], { env: server.env() })).stdout,
  ) as { id: string; accessKeyId: string }[];
  assert.deepEqual(
    list.map((a) => [a.id, a.accessKeyId]),
    [[server.owner.id, server.owner.accessKeyId]],
  );
  const ls = await runOk('s3cmd', ['-c', server.s3cfgPath, 'ls'], { env: s3cmdEnv });
  assert.match(ls.stdout, /s3:\/\/my-bucket$/m);
});

test('addon create and addon s3cfg give a second, separate add-on that works with s3cmd', {
  timeout: 300_000,
}, async () => {
  const other = await createAddon(server, 'second');
  assert.notEqual(other.id, server.owner.id);
  const cfg = path.join(tempDir(), 's3cfg');
  const printed = await runOk(process.execPath, [CLI, 'addon', 's3cfg', other.id], { env: server.env() });
  assert.ok(printed.stdout.split('\n').includes(`access_key = ${other.accessKeyId}`), printed.stdout);
  await runOk('bash', ['-c', 'cat > "$1"', 'sh', cfg], { input: printed.stdout });

  assert.equal(
    (await runOk('s3cmd', ['-c', cfg, 'ls'], { env: s3cmdEnv })).stdout.trim(),
    '',
    'a new add-on sees no buckets',
  );
  const taken = await run('s3cmd', ['-c', cfg, 'mb', 's3://my-bucket'], { env: s3cmdEnv });
  assert.notEqual(taken.code, 0);
  assert.match(taken.stderr, /BucketAlreadyExists/);
  await runOk('s3cmd', ['-c', cfg, 'mb', 's3://second-bucket'], { env: s3cmdEnv });
  const denied = await run('s3cmd', ['-c', server.s3cfgPath, 'ls', 's3://second-bucket'], { env: s3cmdEnv });
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /AccessDenied/);
});

const BAD_SETTINGS: { name: string; env: Record<string, string>; setting: string }[] = [
  { name: 'a port that is not a number', env: { CELLAR_HTTP_PORT: 'abc' }, setting: 'CELLAR_HTTP_PORT' },
  { name: 'a port out of range', env: { CELLAR_HTTP_PORT: '70000' }, setting: 'CELLAR_HTTP_PORT' },
  { name: 'an unknown log level', env: { CELLAR_LOG_LEVEL: 'loud' }, setting: 'CELLAR_LOG_LEVEL' },
  { name: 'a domain with an underscore', env: { CELLAR_DOMAIN: 'bad_domain.test' }, setting: 'CELLAR_DOMAIN' },
  { name: 'a missing config file', env: { CELLAR_CONFIG: '/nonexistent/cellar.json' }, setting: 'CELLAR_CONFIG' },
];

for (const c of BAD_SETTINGS) {
  test(`${c.name} stops start-up with one line naming ${c.setting}`, { timeout: 300_000 }, async () => {
    const dir = tempDir();
    const r = await run(process.execPath, [CLI, 'serve'], { env: cellarEnv(dir, 0, c.env), timeoutMs: 15_000 });
    assert.notEqual(r.code, 0);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
    assert.ok(lines[0]!.includes(c.setting), lines[0]);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.doesNotMatch(r.stdout, /Cellar is running/);
  });
}

test('a port already in use stops start-up with one line naming CELLAR_HTTP_PORT', { timeout: 300_000 }, async () => {
  const port = await freePort();
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
  try {
    const r = await run(process.execPath, [CLI, 'serve'], { env: cellarEnv(tempDir(), port), timeoutMs: 15_000 });
    assert.notEqual(r.code, 0);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /CELLAR_HTTP_PORT/);
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
});
