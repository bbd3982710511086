import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateCorsRules } from '#storage';
import { corsRules, publicPolicy } from './buckets.js';
import { storedContentType } from './uploads.js';

test('storedContentType keeps media types and replaces anything else', { timeout: 5_000 }, () => {
  const cases: [string | undefined, string][] = [
    ['text/html', 'text/html'],
    ['text/html; charset=utf-8', 'text/html; charset=utf-8'],
    ['image/svg+xml', 'image/svg+xml'],
    [undefined, 'binary/octet-stream'],
    ['', 'binary/octet-stream'],
    ['not a type', 'binary/octet-stream'],
    ['text/html\r\nx: y', 'binary/octet-stream'],
    [`a/${'b'.repeat(300)}`, 'binary/octet-stream'],
  ];
  for (const [raw, want] of cases) assert.equal(storedContentType(raw), want, String(raw));
});

test('CORS templates are valid rule sets; the upload template needs an origin', { timeout: 5_000 }, () => {
  assert.deepEqual(validateCorsRules(corsRules('read-anywhere')).length, 1);
  const up = validateCorsRules(corsRules('uploads-from-origin', 'https://app.example.com'));
  assert.deepEqual(up[0]?.allowedOrigins, ['https://app.example.com']);
  assert.deepEqual(up[0]?.allowedMethods, ['PUT', 'POST', 'DELETE']);
  for (const origin of [undefined, '*', 'app.example.com', 'https://a.example.com/path', 'https://*.example.com'])
    assert.throws(() => corsRules('uploads-from-origin', origin), /needs an origin/, String(origin));
});

test('the public policy grants s3:GetObject on every key of the bucket to anyone', { timeout: 5_000 }, () => {
  const p = JSON.parse(publicPolicy('site')) as { Statement: Record<string, unknown>[] };
  assert.deepEqual(p.Statement, [
    { Sid: 'PublicRead', Action: ['s3:GetObject'], Effect: 'Allow', Resource: 'arn:aws:s3:::site/*', Principal: '*' },
  ]);
});
