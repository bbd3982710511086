import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isStorageError, type WebsiteConfig } from '#storage';
import { S3Error } from '../errors.js';
import { toXml } from '../xml.js';
import { websiteFromXml, websiteToXml } from './website.js';

const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';

const rows: Array<[string, string, WebsiteConfig]> = [
  // Exactly what s3cmd ws-create sends (S3.website_create), whitespace included.
  [
    's3cmd ws-create',
    `<WebsiteConfiguration ${NS}>  <IndexDocument>    <Suffix>index.html</Suffix>  </IndexDocument>  <ErrorDocument>    <Key>404.html</Key>  </ErrorDocument></WebsiteConfiguration>`,
    { indexDocument: { suffix: 'index.html' }, errorDocument: { key: '404.html' } },
  ],
  [
    'redirect all (AWS example)',
    `<WebsiteConfiguration ${NS}><RedirectAllRequestsTo><HostName>example.com</HostName><Protocol>https</Protocol></RedirectAllRequestsTo></WebsiteConfiguration>`,
    { redirectAllRequestsTo: { hostName: 'example.com', protocol: 'https' } },
  ],
  [
    'routing rules (AWS how-to-page-redirect example)',
    `<WebsiteConfiguration ${NS}>
  <IndexDocument><Suffix>index.html</Suffix></IndexDocument>
  <ErrorDocument><Key>error.html</Key></ErrorDocument>
  <RoutingRules>
    <RoutingRule>
      <Condition><KeyPrefixEquals>docs/</KeyPrefixEquals></Condition>
      <Redirect><ReplaceKeyPrefixWith>documents/</ReplaceKeyPrefixWith></Redirect>
    </RoutingRule>
    <RoutingRule>
      <Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition>
      <Redirect><HostName>ec2-11-22-333-44.compute-1.amazonaws.com</HostName><ReplaceKeyPrefixWith>report-404/</ReplaceKeyPrefixWith><HttpRedirectCode>302</HttpRedirectCode></Redirect>
    </RoutingRule>
  </RoutingRules>
</WebsiteConfiguration>`,
    {
      indexDocument: { suffix: 'index.html' },
      errorDocument: { key: 'error.html' },
      routingRules: [
        { condition: { keyPrefixEquals: 'docs/' }, redirect: { replaceKeyPrefixWith: 'documents/' } },
        {
          condition: { httpErrorCodeReturnedEquals: '404' },
          redirect: {
            hostName: 'ec2-11-22-333-44.compute-1.amazonaws.com',
            replaceKeyPrefixWith: 'report-404/',
            httpRedirectCode: '302',
          },
        },
      ],
    },
  ],
  [
    'empty ReplaceKeyPrefixWith strips the prefix',
    `<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument><RoutingRules><RoutingRule><Condition><KeyPrefixEquals>old/</KeyPrefixEquals></Condition><Redirect><ReplaceKeyPrefixWith/></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`,
    {
      indexDocument: { suffix: 'index.html' },
      routingRules: [{ condition: { keyPrefixEquals: 'old/' }, redirect: { replaceKeyPrefixWith: '' } }],
    },
  ],
  [
    'SPA fallback rule without a condition-less redirect',
    `<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument><RoutingRules><RoutingRule><Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><ReplaceKeyWith>index.html</ReplaceKeyWith><HttpRedirectCode>200</HttpRedirectCode></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>`,
    {
      indexDocument: { suffix: 'index.html' },
      routingRules: [
        {
          condition: { httpErrorCodeReturnedEquals: '404' },
          redirect: { replaceKeyWith: 'index.html', httpRedirectCode: '200' },
        },
      ],
    },
  ],
];

for (const [name, xml, expected] of rows) {
  test(`websiteFromXml: ${name}`, { timeout: 30_000 }, () => {
    const cfg = websiteFromXml(xml);
    assert.deepEqual(cfg, expected);
    // What GetBucketWebsite writes reads back the same.
    assert.deepEqual(websiteFromXml(toXml('WebsiteConfiguration', websiteToXml(cfg))), expected);
  });
}

const bad: Array<[string, string, string]> = [
  ['not XML', '<WebsiteConfiguration>', 'MalformedXML'],
  ['wrong root', '<CORSConfiguration/>', 'MalformedXML'],
  ['empty configuration', '<WebsiteConfiguration/>', 'InvalidArgument'],
  ['IndexDocument without Suffix', '<WebsiteConfiguration><IndexDocument/></WebsiteConfiguration>', 'MalformedXML'],
  [
    'empty Suffix',
    '<WebsiteConfiguration><IndexDocument><Suffix></Suffix></IndexDocument></WebsiteConfiguration>',
    'InvalidArgument',
  ],
  [
    'rule without Redirect',
    '<WebsiteConfiguration><IndexDocument><Suffix>i</Suffix></IndexDocument><RoutingRules><RoutingRule><Condition><KeyPrefixEquals>a</KeyPrefixEquals></Condition></RoutingRule></RoutingRules></WebsiteConfiguration>',
    'MalformedXML',
  ],
  [
    'empty Condition',
    '<WebsiteConfiguration><IndexDocument><Suffix>i</Suffix></IndexDocument><RoutingRules><RoutingRule><Condition/><Redirect><HostName>x</HostName></Redirect></RoutingRule></RoutingRules></WebsiteConfiguration>',
    'InvalidRequest',
  ],
  [
    'two IndexDocuments',
    '<WebsiteConfiguration><IndexDocument><Suffix>a</Suffix></IndexDocument><IndexDocument><Suffix>b</Suffix></IndexDocument></WebsiteConfiguration>',
    'MalformedXML',
  ],
  [
    'redirect-all with an index',
    '<WebsiteConfiguration><RedirectAllRequestsTo><HostName>x</HostName></RedirectAllRequestsTo><IndexDocument><Suffix>i</Suffix></IndexDocument></WebsiteConfiguration>',
    'InvalidArgument',
  ],
  [
    'bad protocol',
    '<WebsiteConfiguration><RedirectAllRequestsTo><HostName>x</HostName><Protocol>ftp</Protocol></RedirectAllRequestsTo></WebsiteConfiguration>',
    'InvalidRequest',
  ],
];

for (const [name, xml, code] of bad) {
  test(`websiteFromXml refuses: ${name}`, { timeout: 30_000 }, () => {
    assert.throws(
      () => websiteFromXml(xml),
      (e: unknown) => {
        const c = e instanceof S3Error ? e.code : isStorageError(e) ? e.code : undefined;
        assert.equal(c, code, String(e));
        return true;
      },
    );
  });
}
