import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { adminToken, tokenMatches } from './token.js';

test('tokenMatches: only "Bearer <exact token>"', { timeout: 5000 }, () => {
  const t = 'abcdefghijklmnop';
  const cases: [string | undefined, boolean][] = [
    [`Bearer ${t}`, true],
    [`bearer ${t}`, true],
    [`Bearer  ${t} `, true],
    [undefined, false],
    ['', false],
    [`Bearer ${t}x`, false],
    [`Bearer ${t.slice(1)}`, false],
    [`Basic ${t}`, false],
    [t, false],
    [`Bearer ${t} extra`, false],
  ];
  for (const [header, want] of cases) assert.equal(tokenMatches(t, header), want, String(header));
});

test('adminToken: configured wins; else generated once (0600) and read back after', { timeout: 5000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cellar-token-'));
  try {
    assert.deepEqual(adminToken(dir, 'configured-token-123'), {
      token: 'configured-token-123',
      generated: false,
      file: path.join(dir, 'admin-token'),
    });
    const first = adminToken(dir, '');
    assert.equal(first.generated, true);
    assert.match(first.token, /^[A-Za-z0-9_-]{32}$/);
    assert.equal(statSync(first.file).mode & 0o777, 0o600);
    const second = adminToken(dir, '');
    assert.deepEqual(second, { ...first, generated: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
