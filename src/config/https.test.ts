import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from './index.js';

test('HTTPS settings: defaults keep HTTPS and issuance off', { timeout: 30_000 }, () => {
  const c = loadConfig({});
  assert.equal(c.httpsPort, null);
  assert.equal(c.acmeDirectory, '');
  assert.equal(c.certsDir, './certs');
  assert.deepEqual(c.serviceAddresses, []);
  assert.equal(c.httpsRedirect, true);
  assert.equal(c.hstsMaxAge, 0);
  assert.equal(c.domainProof, false);
});

test('HTTPS settings from the environment', { timeout: 30_000 }, () => {
  const c = loadConfig({
    CELLAR_HTTPS_PORT: '0',
    CELLAR_ACME_DIRECTORY: 'https://127.0.0.1:14000/dir',
    CELLAR_DNS_RESOLVER: '127.0.0.1:8053',
    CELLAR_SERVICE_ADDRESSES: '192.0.2.1, 2001:db8::1',
    CELLAR_DOMAIN_PROOF: 'true',
    CELLAR_ACME_RENEW_WINDOW_SECONDS: '3600',
  });
  assert.equal(c.httpsPort, 0);
  assert.equal(c.acmeDirectory, 'https://127.0.0.1:14000/dir');
  assert.equal(c.dnsResolver, '127.0.0.1:8053');
  assert.deepEqual(c.serviceAddresses, ['192.0.2.1', '2001:db8::1']);
  assert.equal(c.domainProof, true);
  assert.equal(c.acmeRenewWindowSeconds, 3600);
  for (const off of ['', 'off']) assert.equal(loadConfig({ CELLAR_HTTPS_PORT: off }).httpsPort, null);
  assert.equal(loadConfig({ CELLAR_DNS_RESOLVER: '[::1]:53' }).dnsResolver, '[::1]:53');
});

test('invalid HTTPS settings are one clear error naming them', { timeout: 30_000 }, () => {
  const bad: [Record<string, string>, RegExp][] = [
    [{ CELLAR_HTTPS_PORT: '70000' }, /CELLAR_HTTPS_PORT/],
    [{ CELLAR_ACME_DIRECTORY: 'not a url' }, /CELLAR_ACME_DIRECTORY: expected an http\(s\) URL/],
    [{ CELLAR_ACME_DIRECTORY: 'ftp://ca.example/dir' }, /CELLAR_ACME_DIRECTORY/],
    [{ CELLAR_DNS_RESOLVER: '127.0.0.1' }, /CELLAR_DNS_RESOLVER: expected host:port/],
    [{ CELLAR_DNS_RESOLVER: '127.0.0.1:0' }, /CELLAR_DNS_RESOLVER/],
    [
      { CELLAR_SERVICE_ADDRESSES: '127.0.0.1,cellar.example' },
      /CELLAR_SERVICE_ADDRESSES: expected a list of IP addresses/,
    ],
    [{ CELLAR_HSTS_MAX_AGE: '-1' }, /CELLAR_HSTS_MAX_AGE/],
  ];
  for (const [env, re] of bad) {
    assert.throws(
      () => loadConfig(env),
      (e: unknown) => e instanceof ConfigError && re.test(e.message),
      JSON.stringify(env),
    );
  }
});
