import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderS3cfg } from './s3cfg.js';

const keys = { accessKeyId: 'AK', secretAccessKey: 'SK', region: 'us-east-1' };

test('a real domain gets virtual-host style', { timeout: 30_000 }, () => {
  const cfg = renderS3cfg({ ...keys, endpoint: new URL('https://cellar.example.com') });
  assert.match(cfg, /^host_base = cellar\.example\.com$/m);
  assert.match(cfg, /^host_bucket = %\(bucket\)s\.cellar\.example\.com$/m);
  assert.match(cfg, /^use_https = True$/m);
  assert.match(cfg, /^access_key = AK$/m);
  assert.match(cfg, /^website_endpoint = https:\/\/%\(bucket\)s\.cellar\.example\.com\/$/m);
  assert.match(cfg, /^secret_key = SK$/m);
});

test('localhost and IP literals get path style', { timeout: 30_000 }, () => {
  for (const u of ['http://localhost:8080', 'http://127.0.0.1:9000', 'http://[::1]:9000']) {
    const cfg = renderS3cfg({ ...keys, endpoint: new URL(u) });
    const host = new URL(u).host;
    assert.match(cfg, new RegExp(`^host_bucket = ${host.replace(/[[\].]/g, '\\$&')}$`, 'm'), u);
    assert.match(cfg, /^use_https = False$/m);
  }
});
