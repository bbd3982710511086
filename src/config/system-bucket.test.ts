import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from './index.js';

test('CELLAR_SYSTEM_BUCKET: cellar-system by default; a plain bucket name, never a dotted (site-like) one', {
  timeout: 30_000,
}, () => {
  assert.equal(loadConfig({}).systemBucket, 'cellar-system');
  const cases: [string, boolean][] = [
    ['fleet-state', true],
    ['abc', true],
    ['a1-b2', true],
    ['ab', false],
    ['Cellar-System', false],
    ['www.example.com', false],
    ['-leading', false],
    ['trailing-', false],
    ['under_score', false],
    ['', false],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
  ];
  for (const [value, ok] of cases) {
    if (ok) assert.equal(loadConfig({ CELLAR_SYSTEM_BUCKET: value }).systemBucket, value);
    else
      assert.throws(
        () => loadConfig({ CELLAR_SYSTEM_BUCKET: value }),
        (e: Error) => e instanceof ConfigError && /CELLAR_SYSTEM_BUCKET/.test(e.message),
        value,
      );
  }
});
