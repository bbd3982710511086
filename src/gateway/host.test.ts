import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveHost, splitHostPort, type HostConfig, type HostResolution } from './host.js';

const cfg: HostConfig = {
  serviceDomains: ['localhost', 'cellar.example.com', 'Upper.Example.'],
  websiteOnlyDomains: ['web.cellar.example.com', 'sites.test'],
};

const service: HostResolution = { kind: 'service' };
const invalid: HostResolution = { kind: 'invalid' };
const sub = (bucket: string, websiteOnly = false): HostResolution => ({
  kind: 'bucket',
  bucket,
  via: 'subdomain',
  websiteOnly,
});
const custom = (bucket: string, websiteOnly = false): HostResolution => ({
  kind: 'bucket',
  bucket,
  via: 'custom',
  websiteOnly,
});

const rows: Array<[string, string | undefined, HostResolution]> = [
  ['service host', 'localhost', service],
  ['service host with port', 'localhost:8080', service],
  ['second service domain', 'cellar.example.com', service],
  ['uppercase service host', 'CELLAR.Example.COM', service],
  ['service host with trailing dot', 'localhost.', service],
  ['service host with trailing dot and port', 'localhost.:9000', service],
  ['configured domain normalised (case, trailing dot)', 'b.upper.example', sub('b')],
  ['IPv4 literal', '127.0.0.1', service],
  ['IPv4 literal with port', '10.1.2.3:9000', service],
  ['IPv6 literal', '[::1]', service],
  ['IPv6 literal with port', '[2001:db8::1]:8443', service],
  ['uppercase IPv6 literal', '[2001:DB8::A]', service],
  ['subdomain bucket', 'photos.localhost', sub('photos')],
  ['subdomain bucket with port', 'photos.localhost:8080', sub('photos')],
  ['uppercase subdomain bucket', 'PHOTOS.LocalHost', sub('photos')],
  ['subdomain with trailing dot', 'photos.localhost.', sub('photos')],
  ['dotted bucket', 'a.b.localhost', sub('a.b')],
  ['dotted bucket under second domain', 'blog.mycompany.com.cellar.example.com', sub('blog.mycompany.com')],
  ['nested domain: longest wins', 'site.web.cellar.example.com', sub('site', true)],
  ['nested domain root is website-only custom', 'web.cellar.example.com', custom('web.cellar.example.com', true)],
  ['website-only subdomain', 'my-site.sites.test:80', sub('my-site', true)],
  ['website-only root', 'sites.test', custom('sites.test', true)],
  ['custom domain', 'www.site.test', custom('www.site.test')],
  ['custom domain with port and case', 'WWW.Site.Test:443', custom('www.site.test')],
  ['custom domain with trailing dot', 'blog.example.org.', custom('blog.example.org')],
  ['punycode custom domain', 'xn--caf-dma.example', custom('xn--caf-dma.example')],
  ['suffix without dot boundary is custom', 'notlocalhost', custom('notlocalhost')],
  ['missing host', undefined, invalid],
  ['empty host', '', invalid],
  ['blank host', '   ', invalid],
  ['port only', ':8080', invalid],
  ['non-numeric port', 'localhost:http', invalid],
  ['port out of range', 'localhost:70000', invalid],
  ['empty port', 'localhost:', invalid],
  ['bare IPv6 without brackets', '::1', invalid],
  ['unterminated IPv6', '[::1', invalid],
  ['garbage after IPv6', '[::1]x', invalid],
  ['empty label', 'a..localhost', invalid],
  ['leading dot', '.localhost', invalid],
  ['only a dot', '.', invalid],
  ['space inside', 'a b.localhost', invalid],
  ['slash', 'evil.com/x', invalid],
  ['userinfo', 'user@localhost', invalid],
  ['raw unicode', 'café.localhost', invalid],
  ['numeric last label (IPv4 shorthand)', '127.1', invalid],
];

for (const [name, host, expected] of rows) {
  test(`resolveHost: ${name}`, { timeout: 30_000 }, () => {
    assert.deepEqual(resolveHost(host, cfg), expected);
  });
}

test('resolveHost: a domain listed as both service and website-only stays a service host', { timeout: 30_000 }, () => {
  const both: HostConfig = { serviceDomains: ['x.test'], websiteOnlyDomains: ['x.test'] };
  assert.deepEqual(resolveHost('x.test', both), service);
  assert.deepEqual(resolveHost('b.x.test', both), sub('b'));
});

test('resolveHost: with no configured domain every name is a custom domain', { timeout: 30_000 }, () => {
  assert.deepEqual(resolveHost('b.localhost', { serviceDomains: [], websiteOnlyDomains: [] }), custom('b.localhost'));
});

const splitRows: Array<[string, ReturnType<typeof splitHostPort>]> = [
  ['h', { host: 'h', ipv6: false }],
  ['h:1', { host: 'h', port: '1', ipv6: false }],
  ['[::1]:65535', { host: '::1', port: '65535', ipv6: true }],
  ['[::1]:65536', null],
  ['[zz::1]', null],
  ['[1.2.3.4]', null],
];
for (const [authority, expected] of splitRows) {
  test(`splitHostPort: ${authority}`, { timeout: 30_000 }, () => {
    assert.deepEqual(splitHostPort(authority), expected);
  });
}
