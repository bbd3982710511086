import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadProofSecret, proofToken } from './proof.js';

test('proofToken: stable per domain and secret, normalized, different across domains and installs', {
  timeout: 30_000,
}, () => {
  const a = Buffer.alloc(32, 1);
  const b = Buffer.alloc(32, 2);
  const t = proofToken(a, 'www.site.test');
  assert.match(t, /^[0-9a-f]{40}$/);
  assert.equal(proofToken(a, 'WWW.Site.test.'), t);
  assert.notEqual(proofToken(a, 'www.site2.test'), t);
  assert.notEqual(proofToken(b, 'www.site.test'), t);
});

test('loadProofSecret: created once with mode 0600, then read back', { timeout: 30_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cellar-proof-'));
  try {
    const first = loadProofSecret(path.join(dir, 'data'));
    assert.equal(first.length, 32);
    assert.equal(statSync(path.join(dir, 'data', 'domain-proof.key')).mode & 0o777, 0o600);
    assert.deepEqual(loadProofSecret(path.join(dir, 'data')), first);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
