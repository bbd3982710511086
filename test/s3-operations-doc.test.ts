/**
 * docs/s3-operations.md against the code: the router and a real server must agree with the table,
 * so the table cannot drift from what Cellar answers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { OPERATIONS } from '../src/s3api/router.js';
import { startTestCellar, type TestCellar } from './helpers/cellar.js';
import { errorCode, raw } from './helpers/raw.js';

const STATUSES = ['implemented', 'not configured', 'NotImplemented', 'not recognised'] as const;
type Status = (typeof STATUSES)[number];

interface Row {
  op: string;
  method: string;
  /** Path and query with `{bucket}`, `{key}` and `{id}` placeholders. */
  target: string;
  copySource: boolean;
  status: Status;
  notes: string;
}

/** The rows of every table in the document whose first cell links an operation. */
function parseTable(md: string): Row[] {
  const rows: Row[] = [];
  for (const line of md.split('\n')) {
    const m = /^\| \[(\w+)\]\([^)]*\) \| `(GET|PUT|POST|DELETE|HEAD) ([^`]+)`([^|]*)\| ([^|]+?) \| ([^|]*)\|$/.exec(
      line,
    );
    if (m === null) {
      assert.ok(!line.startsWith('| ['), `row not understood: ${line}`);
      continue;
    }
    const status = m[5]! as Status;
    assert.ok(STATUSES.includes(status), `unknown status "${status}" in: ${line}`);
    rows.push({
      op: m[1]!,
      method: m[2]!,
      target: m[3]!,
      copySource: m[4]!.includes('x-amz-copy-source'),
      status,
      notes: m[6]!.trim(),
    });
  }
  return rows;
}

const md = readFileSync(new URL('../../docs/s3-operations.md', import.meta.url), 'utf8');
const rows = parseTable(md);
const byOp = new Map(rows.map((r) => [r.op, r]));
const routed: ReadonlySet<string> = new Set(OPERATIONS);

/** The operation the router names for this row: its own, or the one it says it shares a request with. */
function routedAs(r: Row): string | null {
  if (routed.has(r.op)) return r.op;
  const alias = /same request as `(\w+)`/.exec(r.notes)?.[1];
  return alias !== undefined && routed.has(alias) ? alias : null;
}

describe('docs/s3-operations.md', () => {
  test("lists each operation once, AWS's whole list included", { timeout: 5_000 }, () => {
    assert.equal(byOp.size, rows.length, 'an operation is listed twice');
    // The API reference lists 111 actions for Amazon S3 (deprecated ones included); a table that
    // lost rows would pass the checks below.
    assert.ok(rows.length >= 112, `only ${rows.length} rows`);
    for (const op of ['AbortMultipartUpload', 'WriteGetObjectResponse', 'GetBucketLifecycle', 'CreateSession'])
      assert.ok(byOp.has(op), op);
  });

  test('every operation the router names is listed and not as "not recognised"', { timeout: 5_000 }, () => {
    for (const op of OPERATIONS) {
      const r = byOp.get(op);
      assert.ok(r, `${op} is routed but missing from docs/s3-operations.md`);
      assert.notEqual(r.status, 'not recognised', `${op} is routed but listed as not recognised`);
    }
  });

  test('every implemented or not configured row is routed, and "not recognised" ones are not', {
    timeout: 5_000,
  }, () => {
    for (const r of rows) {
      if (r.status === 'implemented' || r.status === 'not configured') {
        const as = routedAs(r);
        assert.ok(as !== null, `${r.op} is listed as ${r.status} but the router never names it`);
        assert.equal(byOp.get(as)!.status, r.status, `${r.op} shares its request with ${as} but not its status`);
      }
      if (r.status === 'not recognised') assert.ok(!routed.has(r.op), `${r.op} is routed now: update its row`);
    }
  });
});

describe('a real server answers each row as its status says', () => {
  let t: TestCellar;
  before(async () => {
    t = await startTestCellar();
  });
  after(() => t.stop());

  const auth = () => ({ type: 'v4' as const, addon: t.owner });

  // "not recognised" rows are handled as some other operation, some destructive: not sent.
  const live = rows.filter((r) => r.status !== 'not recognised');
  live.forEach((r, i) => {
    test(`${r.op}: ${r.status}`, { timeout: 10_000 }, async () => {
      // A bucket of its own, holding the key `k`, so no row depends on what another one did.
      const bucket = `ops-doc-${i}`;
      assert.equal((await raw(t.endpoint, { method: 'PUT', path: `/${bucket}`, auth: auth() })).status, 200);
      assert.equal(
        (await raw(t.endpoint, { method: 'PUT', path: `/${bucket}/k`, body: 'x', auth: auth() })).status,
        200,
      );
      const path = r.target
        .replaceAll('{bucket}', bucket)
        .replaceAll('{key}', 'k')
        .replaceAll('{id}', 'no-such-upload');
      const headers: Record<string, string> = r.copySource ? { 'x-amz-copy-source': `/${bucket}/k` } : {};
      const res = await raw(t.endpoint, { method: r.method, path, headers, auth: auth() });
      const code = errorCode(res.text);
      switch (r.status) {
        case 'NotImplemented':
          assert.equal(res.status, 501, `${r.op}: ${res.status} ${res.text}`);
          assert.equal(code, 'NotImplemented');
          break;
        case 'not configured':
          // Either the empty document or the "never set" error the notes name.
          if (res.status === 200) break;
          assert.equal(res.status, 404, `${r.op}: ${res.status} ${res.text}`);
          assert.ok(
            code !== undefined && r.notes.includes(code),
            `${r.op} answers ${code}, the notes name another code`,
          );
          break;
        case 'implemented':
          // Placeholder arguments may be refused (400, 404, 409), never as unsupported or a crash.
          assert.ok(res.status < 500, `${r.op}: ${res.status} ${res.text}`);
          break;
      }
    });
  });
});
