import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainGate, canonicalIp, type DnsLookup, type GateStepName, type SiteInfo } from './gate.js';

const SITES: Record<string, SiteInfo> = {
  'www.site.test': { exists: true, servesWebsite: true, detail: 'website configuration set' },
  'alias.site.test': { exists: true, servesWebsite: true, detail: 'public' },
  'elsewhere.test': { exists: true, servesWebsite: true, detail: 'public' },
  'mixed.test': { exists: true, servesWebsite: true, detail: 'public' },
  'bare.test': { exists: true, servesWebsite: true, detail: 'public' },
  'flaky.test': { exists: true, servesWebsite: true, detail: 'public' },
  'v6.test': { exists: true, servesWebsite: true, detail: 'public' },
  'private.test': { exists: true, servesWebsite: false, detail: 'private' },
  'docs.v2': { exists: true, servesWebsite: true, detail: 'public' },
};

const RECORDS: Record<string, { cname?: string[]; addrs?: string[]; txt?: string[]; fail?: string }> = {
  'www.site.test': { addrs: ['127.0.0.1'] },
  'alias.site.test': { cname: ['cellar.test.'], addrs: ['203.0.113.9'] },
  'elsewhere.test': { cname: ['cdn.other.test'], addrs: ['10.9.9.9'] },
  'mixed.test': { addrs: ['127.0.0.1', '10.9.9.9'] },
  'v6.test': { addrs: ['0:0:0:0:0:0:0:1'] },
  'flaky.test': { fail: 'ETIMEOUT' },
  'private.test': { addrs: ['127.0.0.1'] },
  '_cellar-challenge.www.site.test': { txt: ['unrelated', 'token:www.site.test'] },
  '_cellar-challenge.alias.site.test': { txt: ['token:someone-else'] },
};

function fakeDns(): DnsLookup & { asked: string[] } {
  const asked: string[] = [];
  const get = (name: string) => {
    asked.push(name);
    const r = RECORDS[name] ?? {};
    if (r.fail) throw Object.assign(new Error('dns'), { code: r.fail });
    return r;
  };
  return {
    asked,
    cname: async (n) => get(n).cname ?? [],
    addresses: async (n) => get(n).addrs ?? [],
    txt: async (n) => get(n).txt ?? [],
  };
}

function gate(
  requireProof = false,
  dns = fakeDns(),
  proofToken: (n: string) => string | Promise<string> = (n) => `token:${n}`,
): DomainGate {
  return new DomainGate({
    hosts: { serviceDomains: ['cellar.test'], websiteOnlyDomains: [] },
    sites: { site: (b) => SITES[b] ?? { exists: false, servesWebsite: false, detail: 'no such bucket' } },
    dns,
    serviceAddresses: ['127.0.0.1', '::1'],
    requireProof,
    proofToken,
  });
}

test('the gate, step by step', { timeout: 30_000 }, async () => {
  const cases: {
    name: string;
    proof?: boolean;
    allowed: boolean;
    failAt?: GateStepName;
    match?: RegExp;
    dnsAsked: boolean;
  }[] = [
    { name: 'www.site.test', allowed: true, dnsAsked: true },
    { name: 'WWW.Site.Test.', allowed: true, dnsAsked: true },
    { name: 'alias.site.test', allowed: true, match: /CNAME cellar.test/, dnsAsked: true },
    { name: 'v6.test', allowed: true, dnsAsked: true },
    { name: 'docs.v2.cellar.test', allowed: true, match: /not needed under a service domain/, dnsAsked: false },
    { name: 'localhost', allowed: false, failAt: 'name', dnsAsked: false },
    { name: '127.0.0.1', allowed: false, failAt: 'name', dnsAsked: false },
    { name: 'cellar.test', allowed: false, failAt: 'name', match: /service host/, dnsAsked: false },
    { name: 'under_score.test', allowed: false, failAt: 'name', dnsAsked: false },
    { name: 'nobucket.test', allowed: false, failAt: 'bucket', dnsAsked: false },
    { name: 'private.test', allowed: false, failAt: 'website', dnsAsked: false },
    { name: 'nobucket.cellar.test', allowed: false, failAt: 'bucket', dnsAsked: false },
    {
      name: 'elsewhere.test',
      allowed: false,
      failAt: 'dns',
      match: /CNAME cdn.other.test is not a service domain.*10\.9\.9\.9 not among/,
      dnsAsked: true,
    },
    { name: 'mixed.test', allowed: false, failAt: 'dns', match: /10\.9\.9\.9/, dnsAsked: true },
    { name: 'bare.test', allowed: false, failAt: 'dns', match: /no A\/AAAA records/, dnsAsked: true },
    { name: 'flaky.test', allowed: false, failAt: 'dns', match: /ETIMEOUT/, dnsAsked: true },
    { name: 'www.site.test', proof: true, allowed: true, dnsAsked: true },
    { name: 'alias.site.test', proof: true, allowed: false, failAt: 'proof', match: /do not hold/, dnsAsked: true },
    {
      name: 'v6.test',
      proof: true,
      allowed: false,
      failAt: 'proof',
      match: /no TXT record at _cellar-challenge.v6.test/,
      dnsAsked: true,
    },
    { name: 'docs.v2.cellar.test', proof: true, allowed: true, dnsAsked: false },
  ];
  for (const c of cases) {
    const dns = fakeDns();
    const d = await gate(c.proof, dns).check(c.name);
    const label = `${c.name}${c.proof ? ' (proof)' : ''}`;
    assert.equal(d.allowed, c.allowed, `${label}: ${d.reason}`);
    if (c.failAt) assert.equal(d.steps.find((s) => s.ok === false)?.step, c.failAt, label);
    if (c.match) assert.match(d.steps.map((s) => s.detail).join(' | '), c.match, label);
    assert.equal(dns.asked.length > 0, c.dnsAsked, `${label}: asked ${dns.asked.join(',')}`);
  }
});

test('exhaustive mode (the CLI) still reports DNS and proof after an earlier failure', {
  timeout: 30_000,
}, async () => {
  const d = await gate(true).check('private.test', { exhaustive: true });
  assert.equal(d.allowed, false);
  assert.deepEqual(
    d.steps.map((s) => [s.step, s.ok]),
    [
      ['name', true],
      ['bucket', true],
      ['website', false],
      ['dns', true],
      ['proof', false],
    ],
  );
  const short = await gate(true).check('private.test');
  assert.deepEqual(
    short.steps.map((s) => [s.step, s.ok]),
    [
      ['name', true],
      ['bucket', true],
      ['website', false],
      ['dns', null],
      ['proof', null],
    ],
  );
});

test('checkSite never asks DNS', { timeout: 30_000 }, async () => {
  const dns = fakeDns();
  assert.equal((await gate(true, dns).checkSite('www.site.test')).allowed, true);
  assert.equal((await gate(true, dns).checkSite('private.test')).allowed, false);
  assert.deepEqual(dns.asked, []);
});

test("a fleet's proof token (a promise): checked the same; a secret that cannot be read fails the proof step", {
  timeout: 30_000,
}, async () => {
  assert.equal((await gate(true, fakeDns(), async (n) => `token:${n}`).check('www.site.test')).allowed, true);
  const down = await gate(true, fakeDns(), () => Promise.reject(new Error('RGW did not answer'))).check(
    'www.site.test',
  );
  assert.equal(down.allowed, false);
  const proof = down.steps.find((s) => s.step === 'proof');
  assert.equal(proof?.ok, false);
  assert.match(proof?.detail ?? '', /domain token is unavailable: RGW did not answer/);
});

test('canonicalIp', { timeout: 30_000 }, () => {
  assert.equal(canonicalIp('0:0:0:0:0:0:0:1'), '::1');
  assert.equal(canonicalIp('2001:DB8::0:1'), '2001:db8::1');
  assert.equal(canonicalIp('127.0.0.1'), '127.0.0.1');
});
