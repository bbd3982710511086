import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageError, type StorageErrorCode } from '../errors.js';
import {
  DEFAULT_WEBSITE_CONFIG,
  indexSuffixOf,
  validateWebsiteConfig,
  type RoutingRule,
  type WebsiteConfig,
} from './config.js';

const index = { suffix: 'index.html' };
const withRules = (...routingRules: RoutingRule[]): WebsiteConfig => ({ indexDocument: index, routingRules });
const to = (redirect: RoutingRule['redirect'], condition?: RoutingRule['condition']): RoutingRule =>
  condition === undefined ? { redirect } : { condition, redirect };
const many = (n: number): RoutingRule[] => Array.from({ length: n }, () => to({ hostName: 'example.com' }));

const valid: Array<[string, WebsiteConfig]> = [
  ['index only', { indexDocument: index }],
  ['index and error document', { indexDocument: index, errorDocument: { key: '404.html' } }],
  ['redirect all, no protocol', { redirectAllRequestsTo: { hostName: 'example.com' } }],
  ['redirect all, https', { redirectAllRequestsTo: { hostName: 'example.com', protocol: 'https' } }],
  ['prefix rewrite', withRules(to({ replaceKeyPrefixWith: 'documents/' }, { keyPrefixEquals: 'docs/' }))],
  [
    'prefix stripped with an empty replacement',
    withRules(to({ replaceKeyPrefixWith: '' }, { keyPrefixEquals: 'old/' })),
  ],
  ['empty KeyPrefixEquals', withRules(to({ hostName: 'example.com' }, { keyPrefixEquals: '' }))],
  ['unconditional rule', withRules(to({ protocol: 'https', hostName: 'example.com' }))],
  [
    'error-code condition',
    withRules(
      to({ hostName: 'example.com', replaceKeyPrefixWith: 'report-404/' }, { httpErrorCodeReturnedEquals: '404' }),
    ),
  ],
  [
    'both conditions',
    withRules(to({ replaceKeyWith: 'x.html' }, { keyPrefixEquals: 'a/', httpErrorCodeReturnedEquals: '403' })),
  ],
  ...[301, 302, 303, 304, 305, 307, 308].map((c): [string, WebsiteConfig] => [
    `redirect code ${c}`,
    withRules(to({ httpRedirectCode: String(c) })),
  ]),
  [
    'SPA fallback: 404 -> index.html with 200',
    withRules(to({ replaceKeyWith: 'index.html', httpRedirectCode: '200' }, { httpErrorCodeReturnedEquals: '404' })),
  ],
  [
    'shared not-found page with 404',
    withRules(
      to(
        { replaceKeyWith: 'missing.html', httpRedirectCode: '404' },
        { keyPrefixEquals: 'blog/', httpErrorCodeReturnedEquals: '404' },
      ),
    ),
  ],
  ['50 rules', withRules(...many(50))],
];

for (const [name, cfg] of valid) {
  test(`validateWebsiteConfig accepts: ${name}`, { timeout: 30_000 }, () => {
    assert.equal(validateWebsiteConfig(cfg), cfg);
  });
}

type Bad = [string, WebsiteConfig, StorageErrorCode, string | RegExp, Record<string, string>?];
const REDIRECT_300 = 'The provided HTTP redirect code (300) is not valid. Valid codes are 3XX except 300.';
const MALFORMED = /^The XML you provided was not well-formed/;
const BAD_PROTOCOL =
  'Invalid protocol, protocol can be http or https. If not defined the protocol will be selected automatically.';

const invalid: Bad[] = [
  [
    'redirect-all HostName with CR/LF (header injection; found by test/fuzz/website.test.ts)',
    { redirectAllRequestsTo: { hostName: 'example.com\r\nSet-Cookie: x=1' } },
    'InvalidRequest',
    'The HostName is not a valid host name.',
  ],
  [
    'rule HostName outside ASCII (Node refuses it in a header)',
    withRules(to({ hostName: 'b\u00fccher.example' })),
    'InvalidRequest',
    'The HostName is not a valid host name.',
  ],
  [
    'no index and no redirect-all',
    {},
    'InvalidArgument',
    'A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty',
    { ArgumentName: 'IndexDocument', ArgumentValue: 'null' },
  ],
  [
    'empty suffix',
    { indexDocument: { suffix: '' } },
    'InvalidArgument',
    'The IndexDocument Suffix is not well formed',
    { ArgumentName: 'IndexDocument', ArgumentValue: '' },
  ],
  [
    'suffix with a slash',
    { indexDocument: { suffix: 'a/index.html' } },
    'InvalidArgument',
    'The IndexDocument Suffix is not well formed',
    { ArgumentName: 'IndexDocument', ArgumentValue: 'a/index.html' },
  ],
  [
    'redirect-all with index',
    { redirectAllRequestsTo: { hostName: 'e.com' }, indexDocument: index },
    'InvalidArgument',
    'RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.',
    { ArgumentName: 'RedirectAllRequestsTo', ArgumentValue: 'not null' },
  ],
  [
    'redirect-all with error document',
    { redirectAllRequestsTo: { hostName: 'e.com' }, errorDocument: { key: 'e.html' } },
    'InvalidArgument',
    /RedirectAllRequestsTo cannot be provided/,
  ],
  [
    'redirect-all with rules',
    { redirectAllRequestsTo: { hostName: 'e.com' }, routingRules: many(1) },
    'InvalidArgument',
    /RedirectAllRequestsTo cannot be provided/,
  ],
  ['redirect-all with empty host', { redirectAllRequestsTo: { hostName: '' } }, 'MalformedXML', MALFORMED],
  [
    'redirect-all with bad protocol',
    { redirectAllRequestsTo: { hostName: 'e.com', protocol: 'ftp' as 'http' } },
    'InvalidRequest',
    BAD_PROTOCOL,
  ],
  ['empty error document key', { indexDocument: index, errorDocument: { key: '' } }, 'MalformedXML', MALFORMED],
  ['empty RoutingRules', withRules(), 'MalformedXML', MALFORMED],
  [
    '51 rules',
    withRules(...many(51)),
    'InvalidRequest',
    '51 routing rules provided, the number of routing rules in a website configuration is limited to 50.',
  ],
  [
    'empty condition',
    withRules(to({ hostName: 'e.com' }, {})),
    'InvalidRequest',
    "Condition cannot be empty. To redirect all requests without a condition, the condition element shouldn't be present.",
  ],
  [
    'error code 302 in condition',
    withRules(to({ hostName: 'e.com' }, { httpErrorCodeReturnedEquals: '302' })),
    'InvalidRequest',
    'The provided HTTP error code (302) is not valid. Valid codes are 4XX or 5XX.',
  ],
  [
    'error code 600 in condition',
    withRules(to({ hostName: 'e.com' }, { httpErrorCodeReturnedEquals: '600' })),
    'InvalidRequest',
    /HTTP error code \(600\)/,
  ],
  [
    'non-numeric error code',
    withRules(to({ hostName: 'e.com' }, { httpErrorCodeReturnedEquals: 'abc' })),
    'MalformedXML',
    MALFORMED,
  ],
  ['empty redirect', withRules(to({})), 'MalformedXML', MALFORMED],
  [
    'both key replacements',
    withRules(to({ replaceKeyWith: 'a', replaceKeyPrefixWith: 'b/' })),
    'InvalidRequest',
    'You can only define ReplaceKeyPrefix or ReplaceKey but not both.',
  ],
  ['bad redirect protocol', withRules(to({ protocol: 'gopher' as 'http' })), 'InvalidRequest', BAD_PROTOCOL],
  [
    'blank HostName',
    withRules(to({ hostName: '' })),
    'InvalidRequest',
    'The HostName cannot be blank. To redirect within the same domain, the element should not be present.',
  ],
  ['redirect code 300', withRules(to({ httpRedirectCode: '300' })), 'InvalidRequest', REDIRECT_300],
  ['redirect code 306', withRules(to({ httpRedirectCode: '306' })), 'InvalidRequest', /redirect code \(306\)/],
  ['redirect code 399', withRules(to({ httpRedirectCode: '399' })), 'InvalidRequest', /redirect code \(399\)/],
  [
    'redirect code 404 without condition',
    withRules(to({ httpRedirectCode: '404', replaceKeyWith: 'x' })),
    'InvalidRequest',
    /redirect code \(404\)/,
  ],
  ['non-numeric redirect code', withRules(to({ httpRedirectCode: 'soon' })), 'MalformedXML', MALFORMED],
  [
    'redirect code 200 without condition',
    withRules(to({ httpRedirectCode: '200', replaceKeyWith: 'index.html' })),
    'InvalidRequest',
    /redirect code \(200\)/,
  ],
  [
    'redirect code 200 on a prefix condition only',
    withRules(to({ httpRedirectCode: '200', replaceKeyWith: 'i.html' }, { keyPrefixEquals: 'a/' })),
    'InvalidRequest',
    /redirect code \(200\)/,
  ],
  [
    'redirect code 200 on a 403 condition',
    withRules(to({ httpRedirectCode: '200', replaceKeyWith: 'i.html' }, { httpErrorCodeReturnedEquals: '403' })),
    'InvalidRequest',
    /redirect code \(200\)/,
  ],
  [
    'redirect code 200 with HostName',
    withRules(to({ httpRedirectCode: '200', hostName: 'e.com' }, { httpErrorCodeReturnedEquals: '404' })),
    'InvalidRequest',
    /cannot be combined with HostName or Protocol/,
  ],
  [
    'redirect code 404 with Protocol',
    withRules(to({ httpRedirectCode: '404', protocol: 'https' }, { httpErrorCodeReturnedEquals: '404' })),
    'InvalidRequest',
    /cannot be combined with HostName or Protocol/,
  ],
  [
    'a bad rule after good ones',
    withRules(...many(3), to({ httpRedirectCode: '300' })),
    'InvalidRequest',
    REDIRECT_300,
  ],
];

for (const [name, cfg, code, message, details] of invalid) {
  test(`validateWebsiteConfig refuses: ${name}`, { timeout: 30_000 }, () => {
    assert.throws(
      () => validateWebsiteConfig(cfg),
      (e: unknown) => {
        assert.ok(e instanceof StorageError);
        assert.equal(e.code, code);
        if (typeof message === 'string') assert.equal(e.message, message);
        else assert.match(e.message, message);
        if (details !== undefined) assert.deepEqual(e.details, details);
        return true;
      },
    );
  });
}

test('default website config: index.html', { timeout: 30_000 }, () => {
  assert.equal(indexSuffixOf(undefined), 'index.html');
  assert.equal(indexSuffixOf({}), 'index.html');
  assert.equal(indexSuffixOf(DEFAULT_WEBSITE_CONFIG), 'index.html');
  assert.equal(indexSuffixOf({ indexDocument: { suffix: 'home.htm' } }), 'home.htm');
  assert.equal(validateWebsiteConfig(DEFAULT_WEBSITE_CONFIG), DEFAULT_WEBSITE_CONFIG);
});
