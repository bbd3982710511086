/**
 * Upstream mode, key rotation through the admin API (POST /api/v1/addons/<id>/keys) of gateway
 * A, against a real RGW: the add-on gets a new key pair in RGW (Admin Ops API: create key,
 * remove key), the old access key is refused everywhere (through A, through B which still had
 * its secret cached, and directly on RGW) and the new one works everywhere.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startCeph, type Rgw } from './helpers/ceph.js';
import { startGateway, type Gateway } from './helpers/gateway.js';
import { freePort } from './helpers/server.js';

interface Addon {
  id: string;
  name: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const TOKEN = 'rotation-test-token-0123456789';
const BUCKET = `keys-${process.pid}`;

let rgw: Rgw;
let a: Gateway;
let b: Gateway;
let adminPort: number;
let addon: Addon;

before(
  async () => {
    rgw = await startCeph();
    adminPort = await freePort();
    [a, b] = await Promise.all([
      startGateway(rgw, { CELLAR_ADMIN_PORT: String(adminPort), CELLAR_ADMIN_TOKEN: TOKEN }),
      startGateway(rgw),
    ]);
    const created = await a.cli(['addon', 'create', '--name', 'rotating', '--json']);
    assert.equal(created.code, 0, created.stderr);
    addon = JSON.parse(created.stdout) as Addon;
  },
  { timeout: 660_000 },
);

after(
  async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await rgw?.down();
  },
  { timeout: 120_000 },
);

function sdk(endpoint: string, keys: Pick<Addon, 'accessKeyId' | 'secretAccessKey'>): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey },
  });
}

async function read(endpoint: string, keys: Pick<Addon, 'accessKeyId' | 'secretAccessKey'>): Promise<string> {
  const c = sdk(endpoint, keys);
  try {
    const r = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'note.txt' }));
    return await r.Body!.transformToString();
  } finally {
    c.destroy();
  }
}

/**
 * The S3 error code a read with `keys` gets ('ok' if none), and who answered: RGW's request ids
 * start with "tx", the gateway's own answers carry its ids.
 */
async function refusal(
  endpoint: string,
  keys: Pick<Addon, 'accessKeyId' | 'secretAccessKey'>,
): Promise<{ code: string; by: 'rgw' | 'gateway' }> {
  try {
    await read(endpoint, keys);
    return { code: 'ok', by: 'rgw' };
  } catch (e) {
    const err = e as { name?: string; $metadata?: { requestId?: string } };
    return { code: err.name ?? String(e), by: err.$metadata?.requestId?.startsWith('tx') ? 'rgw' : 'gateway' };
  }
}

function rotate(id: string, token = TOKEN): Promise<Response> {
  return fetch(`http://127.0.0.1:${adminPort}/api/v1/addons/${id}/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(30_000),
  });
}

test('rotating an add-on key: old key refused through both gateways and on RGW, new key works everywhere', {
  timeout: 180_000,
}, async () => {
  const old = { accessKeyId: addon.accessKeyId, secretAccessKey: addon.secretAccessKey };
  const c = sdk(a.endpoint, old);
  await c.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'note.txt', Body: 'before rotation' }));
  c.destroy();
  // Both gateways now hold the old secret in their caches.
  assert.equal(await read(a.endpoint, old), 'before rotation');
  assert.equal(await read(b.endpoint, old), 'before rotation');
  assert.equal(await read(rgw.url, old), 'before rotation');

  const res = await rotate(addon.id);
  assert.equal(res.status, 200);
  const rotated = (await res.json()) as Addon;
  assert.equal(rotated.id, addon.id);
  assert.equal(rotated.name, 'rotating');
  assert.notEqual(rotated.accessKeyId, old.accessKeyId);
  assert.notEqual(rotated.secretAccessKey, old.secretAccessKey);
  assert.match(rotated.accessKeyId, /^[A-Z0-9]{20}$/);

  // Gateway A forgot the old secret at once: refused by A itself; RGW refuses it too.
  assert.deepEqual(await refusal(a.endpoint, old), { code: 'InvalidAccessKeyId', by: 'gateway' });
  assert.deepEqual(await refusal(rgw.url, old), { code: 'InvalidAccessKeyId', by: 'rgw' });
  // B still had the old secret cached (fetched over a second ago): RGW's refusal passes
  // through, and B drops the secret, so from then on B refuses the key itself.
  await new Promise((r) => setTimeout(r, 1100));
  assert.deepEqual(await refusal(b.endpoint, old), { code: 'InvalidAccessKeyId', by: 'rgw' });
  assert.deepEqual(await refusal(b.endpoint, old), { code: 'InvalidAccessKeyId', by: 'gateway' });

  // The new key works through both gateways and directly on RGW; the data stayed.
  assert.equal(await read(a.endpoint, rotated), 'before rotation');
  assert.equal(await read(b.endpoint, rotated), 'before rotation');
  assert.equal(await read(rgw.url, rotated), 'before rotation');
  const w = sdk(b.endpoint, rotated);
  await w.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'note.txt', Body: 'after rotation' }));
  w.destroy();
  assert.equal(await read(a.endpoint, rotated), 'after rotation');

  // The CLI shows the new key (one key per add-on, as in embedded mode).
  const shown = await a.cli(['addon', 'list', '--json']);
  assert.equal(shown.code, 0, shown.stderr);
  const listed = (JSON.parse(shown.stdout) as Addon[]).find((x) => x.id === addon.id);
  assert.equal(listed?.accessKeyId, rotated.accessKeyId);
  assert.equal(listed?.secretAccessKey, rotated.secretAccessKey);
});

test('rotating keys of an unknown add-on is a 404; a wrong token is a 401', { timeout: 60_000 }, async () => {
  const missing = await rotate('cellar_nosuchaddon');
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'NoSuchAddon');
  const denied = await rotate(addon.id, 'wrong-token-wrong-token-wrong');
  assert.equal(denied.status, 401);
});
