/**
 * The dashboard's owner API in upstream mode (a gateway in front of a test RGW): an add-on owner
 * (an RGW user) logs in with their keys and downloads their s3cfg; the bucket features, which
 * need the local store, answer a clear 501 JSON error instead of failing or pretending.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startCeph, type Rgw } from './helpers/ceph.js';
import { startGateway, type Gateway } from './helpers/gateway.js';
import { freePort } from './helpers/server.js';

let rgw: Rgw;
let gw: Gateway;
let admin: string;
let owner: { id: string; accessKeyId: string; secretAccessKey: string };

const HEADERS = { 'x-cellar-dashboard': '1', 'content-type': 'application/json' };

before(
  async () => {
    rgw = await startCeph();
    const adminPort = await freePort();
    gw = await startGateway(rgw, { CELLAR_ADMIN_PORT: String(adminPort) });
    admin = `http://127.0.0.1:${adminPort}`;
    const created = await gw.cli(['addon', 'create', '--name', 'dash-owner', '--json']);
    assert.equal(created.code, 0, created.stderr);
    owner = JSON.parse(created.stdout) as typeof owner;
  },
  { timeout: 600_000 },
);

after(
  async () => {
    await gw?.stop();
    await rgw?.down();
  },
  { timeout: 120_000 },
);

async function login(secret: string): Promise<Response> {
  return fetch(`${admin}/api/v1/owner/session`, {
    method: 'POST',
    headers: HEADERS,
    body: JSON.stringify({ accessKeyId: owner.accessKeyId, secretAccessKey: secret }),
  });
}

test('an RGW user logs in, gets their s3cfg; bucket routes answer 501 NotImplemented', {
  timeout: 60_000,
}, async () => {
  const wrong = await login('not-the-secret');
  assert.equal(wrong.status, 401);
  await wrong.arrayBuffer();

  const res = await login(owner.secretAccessKey);
  assert.equal(res.status, 200, await res.clone().text());
  assert.deepEqual(await res.json(), { id: owner.id, name: 'dash-owner' });
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;

  const who = await fetch(`${admin}/api/v1/owner/session`, { headers: { cookie } });
  const session = (await who.json()) as { id: string; buckets: boolean };
  assert.equal(session.id, owner.id);
  assert.equal(session.buckets, false);

  const cfg = await fetch(`${admin}/api/v1/owner/s3cfg`, { headers: { cookie } });
  assert.equal(cfg.status, 200);
  assert.ok((await cfg.text()).split('\n').includes(`access_key = ${owner.accessKeyId}`));

  for (const [method, route, body] of [
    ['GET', '/buckets', undefined],
    ['POST', '/buckets', '{"name":"upstream-dash"}'],
    ['PUT', '/buckets/upstream-dash/public', '{"public":true}'],
    ['GET', '/buckets/upstream-dash/domain', undefined],
  ] as const) {
    const r = await fetch(`${admin}/api/v1/owner${route}`, { method, headers: { ...HEADERS, cookie }, body });
    assert.equal(r.status, 501, `${method} ${route}`);
    const e = ((await r.json()) as { error: { code: string; message: string } }).error;
    assert.equal(e.code, 'NotImplemented');
    assert.match(e.message, /upstream mode/);
  }
});
