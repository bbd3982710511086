import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli.js');

async function cellar(dataDir: string, ...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], {
      env: { ...process.env, CELLAR_DATA_DIR: dataDir, CELLAR_DOMAIN: 'cellar.example.com', CELLAR_HTTP_PORT: '9000' },
    });
    return { ...r, code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; code: number };
    return { stdout: err.stdout, stderr: err.stderr, code: err.code };
  }
}

test('cellar addon create / list / s3cfg / delete against the data directory', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cellar-cli-'));
  try {
    const created = await cellar(dir, 'addon', 'create', '--name', 'blog', '--email', 'me@example.com', '--json');
    assert.equal(created.code, 0, created.stderr);
    const a = JSON.parse(created.stdout) as Record<string, string>;
    assert.deepEqual(Object.keys(a).sort(), ['accessKeyId', 'email', 'id', 'name', 'secretAccessKey']);
    assert.match(a.id!, /^cellar_[a-z0-9]{12}$/);
    assert.equal(a.name, 'blog');
    assert.equal(a.email, 'me@example.com');
    assert.match(a.accessKeyId!, /^[A-Z0-9]{20}$/);
    assert.equal(a.secretAccessKey!.length, 40);

    const fixed = JSON.parse(
      (
        await cellar(
          dir,
          'addon',
          'create',
          '--access-key',
          'MYACCESSKEY1',
          '--secret-key',
          'my-secret-key-123',
          '--json',
        )
      ).stdout,
    ) as Record<string, string>;
    assert.equal(fixed.accessKeyId, 'MYACCESSKEY1');
    assert.equal(fixed.secretAccessKey, 'my-secret-key-123');
    const dup = await cellar(dir, 'addon', 'create', '--access-key', 'MYACCESSKEY1', '--secret-key', 'other-secret-1');
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, /already in use/);

    const list = JSON.parse((await cellar(dir, 'addon', 'list', '--json')).stdout) as Record<string, string>[];
    assert.deepEqual(list.map((x) => x.id).sort(), [a.id, fixed.id].sort());

    const cfg = await cellar(dir, 'addon', 's3cfg', a.id!);
    assert.equal(cfg.code, 0);
    assert.match(cfg.stdout, new RegExp(`^access_key = ${a.accessKeyId}$`, 'm'));
    assert.match(cfg.stdout, new RegExp(`^secret_key = ${a.secretAccessKey!.replace(/[+/]/g, '\\$&')}$`, 'm'));
    assert.match(cfg.stdout, /^host_base = cellar\.example\.com:9000$/m);
    assert.match(cfg.stdout, /^host_bucket = %\(bucket\)s\.cellar\.example\.com:9000$/m);

    const del = await cellar(dir, 'addon', 'delete', a.id!);
    assert.equal(del.code, 0, del.stderr);
    const after = JSON.parse((await cellar(dir, 'addon', 'list', '--json')).stdout) as Record<string, string>[];
    assert.deepEqual(
      after.map((x) => x.id),
      [fixed.id],
    );
    const missing = await cellar(dir, 'addon', 's3cfg', a.id!);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no add-on/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad usage and bad settings exit non-zero with one clear line', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cellar-cli-'));
  try {
    const unknown = await cellar(dir, 'frobnicate');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^cellar: unknown command: frobnicate$/m);
    const badKey = await cellar(dir, 'addon', 'create', '--access-key', 'ONLYKEY');
    assert.notEqual(badKey.code, 0);
    assert.match(badKey.stderr, /go together/);
    const r = await run(process.execPath, [CLI, 'addon', 'list'], {
      env: { ...process.env, CELLAR_DATA_DIR: dir, CELLAR_DOMAIN: 'not_a_domain' },
    }).catch((e: { code: number; stderr: string }) => e);
    assert.equal((r as { code: number }).code, 2);
    assert.equal(
      (r as { stderr: string }).stderr.trim().split('\n')[0],
      'cellar: invalid setting CELLAR_DOMAIN: not a domain name: not_a_domain',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
