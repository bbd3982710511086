import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, publicEndpoint } from './index.js';

test('defaults come from config/default.json', { timeout: 30_000 }, () => {
  const c = loadConfig({});
  assert.equal(c.dataDir, './data');
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.httpPort, 8080);
  assert.equal(c.domain, 'localhost');
  assert.equal(c.region, 'us-east-1');
  // Connection limits (issue 12): on by default.
  assert.equal(c.headersTimeoutMs, 30_000);
  assert.equal(c.bodyIdleTimeoutMs, 30_000);
  assert.equal(c.bodyMinBytesPerSecond, 1024);
  assert.equal(c.maxConnections, 8192);
  assert.equal(c.maxConnectionsPerClient, 256);
  assert.equal(loadConfig({ CELLAR_BODY_MIN_BYTES_PER_SECOND: '0' }).bodyMinBytesPerSecond, 0);
  // Full-disk reserve (issue 12): 64 MiB by default, 0 turns it off.
  assert.equal(c.minFreeBytes, 64 * 1024 * 1024);
  assert.equal(loadConfig({ CELLAR_MIN_FREE_BYTES: '0' }).minFreeBytes, 0);
});

test('operations settings: admin listener, token, access log, shutdown deadline', { timeout: 30_000 }, () => {
  const d = loadConfig({});
  assert.equal(d.adminPort, 8081);
  assert.equal(d.adminHost, '127.0.0.1');
  assert.equal(d.adminToken, '');
  assert.equal(d.accessLog, '');
  assert.equal(d.accessLogLevel, 'info');
  assert.equal(d.shutdownDeadlineMs, 30_000);
  const c = loadConfig({
    CELLAR_ADMIN_PORT: 'off',
    CELLAR_ADMIN_HOST: '0.0.0.0',
    CELLAR_ADMIN_TOKEN: 'a-long-enough-token',
    CELLAR_ACCESS_LOG: '/var/log/cellar/access.log',
    CELLAR_ACCESS_LOG_LEVEL: 'warn',
    CELLAR_SHUTDOWN_DEADLINE_MS: '0',
  });
  assert.equal(c.adminPort, null);
  assert.equal(c.adminHost, '0.0.0.0');
  assert.equal(c.adminToken, 'a-long-enough-token');
  assert.equal(c.accessLog, '/var/log/cellar/access.log');
  assert.equal(c.accessLogLevel, 'warn');
  assert.throws(() => loadConfig({ CELLAR_ACCESS_LOG_LEVEL: 'loud' }), /CELLAR_ACCESS_LOG_LEVEL/);
  assert.equal(c.shutdownDeadlineMs, 0);
  assert.equal(loadConfig({ CELLAR_ADMIN_PORT: '0' }).adminPort, 0);
  assert.equal(d.dashboardSessionSeconds, 28_800);
  assert.equal(loadConfig({ CELLAR_DASHBOARD_SESSION_SECONDS: '60' }).dashboardSessionSeconds, 60);
  assert.throws(() => loadConfig({ CELLAR_DASHBOARD_SESSION_SECONDS: '0' }), /CELLAR_DASHBOARD_SESSION_SECONDS/);
});

test('environment overrides the file, which overrides the defaults; overrides win', { timeout: 30_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cellar-cfg-'));
  const file = path.join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ httpPort: 9000, domain: 'files.example.com', region: 'eu-west-1' }));
  const c = loadConfig({ CELLAR_CONFIG: file, CELLAR_HTTP_PORT: '9100', CELLAR_EXTRA_DOMAINS: 'a.example, B.example' });
  assert.equal(c.httpPort, 9100);
  assert.equal(c.domain, 'files.example.com');
  assert.equal(c.region, 'eu-west-1');
  assert.deepEqual(c.extraDomains, ['a.example', 'b.example']);
  assert.equal(loadConfig({ CELLAR_HTTP_PORT: '9100' }, { httpPort: 0 }).httpPort, 0);
});

const bad: [Record<string, string>, RegExp][] = [
  [{ CELLAR_HTTP_PORT: 'abc' }, /CELLAR_HTTP_PORT/],
  [{ CELLAR_MIN_FREE_BYTES: '64M' }, /CELLAR_MIN_FREE_BYTES/],
  [{ CELLAR_HEADERS_TIMEOUT_MS: '0' }, /CELLAR_HEADERS_TIMEOUT_MS.*at least 1/],
  [{ CELLAR_BODY_IDLE_TIMEOUT_MS: '0' }, /CELLAR_BODY_IDLE_TIMEOUT_MS.*at least 1/],
  [{ CELLAR_BODY_MIN_BYTES_PER_SECOND: '-1' }, /CELLAR_BODY_MIN_BYTES_PER_SECOND/],
  [{ CELLAR_MAX_CONNECTIONS: '0' }, /CELLAR_MAX_CONNECTIONS.*at least 1/],
  [{ CELLAR_MAX_CONNECTIONS_PER_CLIENT: 'many' }, /CELLAR_MAX_CONNECTIONS_PER_CLIENT/],
  [{ CELLAR_HTTP_PORT: '70000' }, /CELLAR_HTTP_PORT: port out of range/],
  [{ CELLAR_HTTP_PORT: '' }, /CELLAR_HTTP_PORT/],
  [{ CELLAR_HOST: 'not a host' }, /CELLAR_HOST/],
  [{ CELLAR_DOMAIN: 'bad_domain' }, /CELLAR_DOMAIN/],
  [{ CELLAR_REGION: 'Bad Region' }, /CELLAR_REGION/],
  [{ CELLAR_USE_HTTPS: 'maybe' }, /CELLAR_USE_HTTPS/],
  [{ CELLAR_LOG_LEVEL: 'loud' }, /CELLAR_LOG_LEVEL/],
  [{ CELLAR_DATA_DIR: '' }, /CELLAR_DATA_DIR/],
  [{ CELLAR_CONFIG: '/nonexistent/cellar.json' }, /CELLAR_CONFIG: cannot read/],
  [{ CELLAR_UPSTREAM_URL: 'ftp://rgw:7480' }, /CELLAR_UPSTREAM_URL: expected an http\(s\) URL/],
  [{ CELLAR_UPSTREAM_URL: 'http://rgw:7480' }, /CELLAR_UPSTREAM_ACCESS_KEY: .*needs/],
  [{ CELLAR_UPSTREAM_URL: 'http://rgw:7480', CELLAR_UPSTREAM_ACCESS_KEY: 'K' }, /CELLAR_UPSTREAM_ACCESS_KEY: .*needs/],
  [
    { CELLAR_UPSTREAM_URL: 'http://rgw:7480/s3', CELLAR_UPSTREAM_ACCESS_KEY: 'K', CELLAR_UPSTREAM_SECRET_KEY: 'S' },
    /CELLAR_UPSTREAM_URL: expected scheme/,
  ],
  [{ CELLAR_UPSTREAM_TIMEOUT_MS: '0' }, /CELLAR_UPSTREAM_TIMEOUT_MS: must be at least 1/],
  [{ CELLAR_UPSTREAM_TIMEOUT_MS: '2s' }, /CELLAR_UPSTREAM_TIMEOUT_MS/],
  [{ CELLAR_UPSTREAM_REVALIDATE_MS: '-1' }, /CELLAR_UPSTREAM_REVALIDATE_MS: not a non-negative integer/],
  [
    { CELLAR_UPSTREAM_STALE_IF_ERROR_SECONDS: '-5' },
    /CELLAR_UPSTREAM_STALE_IF_ERROR_SECONDS: not a non-negative integer/,
  ],
  [{ CELLAR_ADMIN_PORT: '65536' }, /CELLAR_ADMIN_PORT: port out of range/],
  [{ CELLAR_ADMIN_HOST: 'not a host' }, /CELLAR_ADMIN_HOST/],
  [{ CELLAR_ADMIN_TOKEN: 'short' }, /CELLAR_ADMIN_TOKEN: must be at least 16/],
  [{ CELLAR_SHUTDOWN_DEADLINE_MS: '-5' }, /CELLAR_SHUTDOWN_DEADLINE_MS/],
];

test('upstream mode: off by default, on with a URL and the system keys', { timeout: 30_000 }, () => {
  const off = loadConfig({});
  assert.equal(off.upstreamUrl, '');
  assert.equal(off.upstreamTimeoutMs, 30000);
  assert.equal(off.upstreamRevalidateMs, 500);
  assert.equal(off.upstreamStaleIfErrorSeconds, 300);
  const on = loadConfig({
    CELLAR_UPSTREAM_URL: 'http://10.0.0.5:7480',
    CELLAR_UPSTREAM_ACCESS_KEY: 'SYSKEY',
    CELLAR_UPSTREAM_SECRET_KEY: 'syssecret',
    CELLAR_UPSTREAM_TIMEOUT_MS: '2500',
    CELLAR_UPSTREAM_REVALIDATE_MS: '0',
    CELLAR_UPSTREAM_STALE_IF_ERROR_SECONDS: '60',
  });
  assert.equal(on.upstreamRevalidateMs, 0);
  assert.equal(on.upstreamStaleIfErrorSeconds, 60);
  assert.equal(on.upstreamUrl, 'http://10.0.0.5:7480');
  assert.equal(on.upstreamAccessKey, 'SYSKEY');
  assert.equal(on.upstreamSecretKey, 'syssecret');
  assert.equal(on.upstreamTimeoutMs, 2500);
});

test('an invalid setting is one clear error naming it', { timeout: 30_000 }, () => {
  for (const [env, re] of bad) {
    assert.throws(
      () => loadConfig(env),
      (e: unknown) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('\n'),
      JSON.stringify(env),
    );
  }
});

test('unknown keys and bad JSON in the config file are refused', { timeout: 30_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cellar-cfg-'));
  const unknown = path.join(dir, 'u.json');
  writeFileSync(unknown, JSON.stringify({ httpPrt: 1 }));
  assert.throws(() => loadConfig({ CELLAR_CONFIG: unknown }), /httpPrt .*unknown setting/);
  const broken = path.join(dir, 'b.json');
  writeFileSync(broken, '{ nope');
  assert.throws(() => loadConfig({ CELLAR_CONFIG: broken }), /not valid JSON/);
});

test('publicEndpoint', { timeout: 30_000 }, () => {
  assert.equal(publicEndpoint(loadConfig({}), 8081).href, 'http://localhost:8081/');
  assert.equal(
    publicEndpoint(loadConfig({ CELLAR_PUBLIC_URL: 'https://s3.example.com' })).href,
    'https://s3.example.com/',
  );
});
