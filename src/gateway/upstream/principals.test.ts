import { test } from 'node:test';
import assert from 'node:assert/strict';
import { policyOperation, principalsFromRgw, principalsToRgw } from './principals.js';

test('add-on principals are translated both ways; everything else is left as written', { timeout: 30_000 }, () => {
  const cases: [string, string][] = [
    [
      '{"Principal": {"AWS": "arn:aws:iam::cellar_abc123"}}',
      '{"Principal": {"AWS": "arn:aws:iam:::user/cellar_abc123"}}',
    ],
    [
      '{"Principal":{"AWS":["arn:aws:iam::cellar_a","arn:aws:iam::cellar_b"]}}',
      '{"Principal":{"AWS":["arn:aws:iam:::user/cellar_a","arn:aws:iam:::user/cellar_b"]}}',
    ],
    ['{"Principal": "*"}', '{"Principal": "*"}'],
    // Not an add-on id, or not the whole value: untouched.
    ['{"AWS": "arn:aws:iam::123456789012:root"}', '{"AWS": "arn:aws:iam::123456789012:root"}'],
    ['{"Sid": "see arn:aws:iam::cellar_x"}', '{"Sid": "see arn:aws:iam::cellar_x"}'],
  ];
  for (const [cellar, rgw] of cases) {
    assert.equal(principalsToRgw(cellar), rgw);
    assert.equal(principalsFromRgw(rgw), cellar);
  }
});

test('policyOperation recognises ?policy on PUT and GET only', { timeout: 30_000 }, () => {
  assert.equal(policyOperation('PUT', 'policy'), 'put');
  assert.equal(policyOperation('GET', 'policy='), 'get');
  assert.equal(policyOperation('DELETE', 'policy'), null);
  assert.equal(policyOperation('GET', 'policystatus'), null);
  assert.equal(policyOperation('GET', 'prefix=policy'), null);
});
