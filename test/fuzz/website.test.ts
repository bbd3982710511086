/**
 * Fuzz target: website configuration and routing (src/storage/website, the XML codec in
 * src/s3api/handlers/website.ts). Any PutBucketWebsite body is a configuration or an S3 error;
 * for any accepted configuration and any request path, routing answers without throwing, and a
 * redirect's Location is a valid header value (visible ASCII: no CR/LF to inject a header, no
 * raw Unicode) that never starts with `//` (a protocol-relative open redirect, issue 12 F7).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { S3Error } from '../../src/s3api/errors.js';
import { websiteFromXml } from '../../src/s3api/handlers/website.js';
import { isStorageError } from '../../src/storage/errors.js';
import {
  applyRoutingRules,
  candidateKeys,
  encodeWebsitePath,
  pathToKey,
  redirectAll,
  type WebsiteConfig,
} from '../../src/storage/website/index.js';
import { anyString, check, timeout } from './harness.js';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const field = (name: string, value: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.option(
    value.map((v) => `<${name}>${esc(v)}</${name}>`),
    { nil: '' },
  );
const value = fc.oneof(
  fc.constantFrom(
    '',
    'docs/',
    'index.html',
    '/',
    '//evil.example',
    'a b',
    '404',
    '200',
    '301',
    '300',
    'http',
    'https',
    'ftp',
    'example.com',
    'ex\r\nample.com',
  ),
  anyString(20).map((s) => s.replace(/\0/g, '')),
);

const rule = fc
  .tuple(
    fc.option(
      fc
        .tuple(field('KeyPrefixEquals', value), field('HttpErrorCodeReturnedEquals', value))
        .map(([a, b]) => `<Condition>${a}${b}</Condition>`),
      { nil: '' },
    ),
    fc
      .tuple(
        field('Protocol', value),
        field('HostName', value),
        field('ReplaceKeyPrefixWith', value),
        field('ReplaceKeyWith', value),
        field('HttpRedirectCode', value),
      )
      .map((f) => `<Redirect>${f.join('')}</Redirect>`),
  )
  .map(([c, r]) => `<RoutingRule>${c}${r}</RoutingRule>`);

const configXml = fc
  .tuple(
    field(
      'IndexDocument',
      value.map((v) => `<Suffix>${esc(v)}</Suffix>`),
    ),
    field(
      'ErrorDocument',
      value.map((v) => `<Key>${esc(v)}</Key>`),
    ),
    fc.option(
      fc
        .tuple(field('HostName', value), field('Protocol', value))
        .map(([h, p]) => `<RedirectAllRequestsTo>${h}${p}</RedirectAllRequestsTo>`),
      { nil: '' },
    ),
    fc.option(
      fc.array(rule, { maxLength: 4 }).map((rs) => `<RoutingRules>${rs.join('')}</RoutingRules>`),
      { nil: '' },
    ),
  )
  // The fields were escaped as text; unescape the markup the generator itself added.
  .map(
    (parts) =>
      `<WebsiteConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts.join('').replace(/&lt;(\/?(?:Suffix|Key))&gt;/g, '<$1>')}</WebsiteConfiguration>`,
  );

const visibleAscii = /^[\x21-\x7e]*$/;

function assertLocation(location: string): void {
  assert.match(location, visibleAscii, `Location ${JSON.stringify(location)}`);
  assert.ok(!location.startsWith('//'), `protocol-relative Location ${JSON.stringify(location)}`);
}

test(
  'websiteFromXml: any document is a configuration or an S3 error; routing any path stays well-formed',
  { timeout: timeout() },
  () =>
    check(
      fc.property(
        fc.oneof({ weight: 5, arbitrary: configXml }, { weight: 1, arbitrary: anyString(80) }),
        fc.array(anyString(30), { minLength: 1, maxLength: 4 }),
        fc.constantFrom(null, 403, 404, 500),
        (xml, paths, error) => {
          let cfg: WebsiteConfig;
          try {
            cfg = websiteFromXml(xml);
          } catch (e) {
            assert.ok(
              e instanceof S3Error || isStorageError(e),
              `not an S3 error: ${(e as Error)?.stack ?? String(e)}`,
            );
            return;
          }
          for (const p of paths) {
            const key = pathToKey(`/${p}`);
            if ('error' in key) continue;
            for (const protocol of ['http', 'https'] as const) {
              const out = applyRoutingRules(cfg.routingRules ?? [], key.key, error, { protocol, host: 'site.example' });
              if (out.type === 'redirect') assertLocation(out.location);
            }
            if (cfg.redirectAllRequestsTo) assertLocation(redirectAll(cfg.redirectAllRequestsTo, `/${p}`, 'http'));
            const c = candidateKeys(key.key, cfg.indexDocument?.suffix ?? 'index.html');
            if (c.slashRedirectIfExists) assertLocation(c.slashRedirectIfExists.location);
          }
        },
      ),
      { runs: 2500, corpus: 'website' },
    ),
);

test(
  'pathToKey and encodeWebsitePath: any path decodes without NUL, and a key survives encoding',
  { timeout: timeout() },
  () =>
    check(
      fc.property(anyString(60), fc.string({ unit: 'grapheme', maxLength: 40 }), (raw, key) => {
        const r = pathToKey(raw);
        if (!('error' in r)) assert.ok(!r.key.includes('\0'));
        const encoded = encodeWebsitePath(key);
        assert.match(encoded, visibleAscii);
        assert.equal(decodeURIComponent(encoded), key);
      }),
      { runs: 4000 },
    ),
);
