import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessEntry as entry } from './access-entry.fixture.js';
import type { AccessEntry } from './access-line.js';
import { encodeLine, levelOf, lineBound } from './access-line.js';

const TIME = '2026-12-02T03:04:05.678Z';

/** The line as a string, checked to be ASCII and within its announced bound. */
function format(e: AccessEntry, time: string): string {
  const bound = lineBound(e, time);
  const b = Buffer.alloc(bound + 8, 0xff);
  const end = encodeLine(e, time, b, 4);
  assert.ok(end - 4 <= bound, `line of ${end - 4} bytes within its bound of ${bound}`);
  assert.equal(b[3], 0xff, 'nothing written before the start');
  assert.equal(b[end], 0xff, 'nothing written past the end');
  const line = b.subarray(4, end);
  assert.ok(
    line.every((c) => c < 0x80),
    'ASCII only',
  );
  return line.toString('latin1');
}

test('each line is one JSON object with every field, whatever the client put in host and path', {
  timeout: 5000,
}, () => {
  const cases: { name: string; e: AccessEntry; expect: Record<string, unknown> }[] = [
    {
      name: 'plain website hit',
      e: entry(),
      expect: { host: 'site.localhost:8080', path: '/index.html', cache: 'hit' },
    },
    {
      name: 'quotes, backslashes and control characters',
      e: entry({ host: 'a"b\\c', path: '/x"\n\t\u0001y' }),
      expect: { host: 'a"b\\c', path: '/x"\n\t\u0001y' },
    },
    {
      name: 'non-ASCII path',
      e: entry({ path: '/caf\u00e9/\u65e5\u672c/\u{1F600}' }),
      expect: { path: '/café/日本/😀' },
    },
    { name: 'lone surrogate', e: entry({ path: '/\ud800x' }), expect: { path: '/\ud800x' } },
    {
      name: 'S3 error with add-on and operation',
      e: entry({
        status: 403,
        method: 'PUT',
        side: 's3',
        op: 'PutObject',
        addon: 'cellar_ab12',
        errorCode: 'AccessDenied',
        cache: null,
      }),
      expect: { side: 's3', op: 'PutObject', addon: 'cellar_ab12', error: 'AccessDenied', cache: null, level: 'warn' },
    },
    { name: 'error code chosen by RGW', e: entry({ errorCode: 'Odd"Code' }), expect: { error: 'Odd"Code' } },
    {
      name: 'absent host, method and remote',
      e: entry({ host: undefined, method: undefined, remote: undefined }),
      expect: { host: null, method: null, remote: null },
    },
    {
      name: 'no bucket',
      e: entry({ bucket: null, side: 'admin', cache: null }),
      expect: { bucket: null, side: 'admin' },
    },
    { name: 'cut answer', e: entry({ completed: false }), expect: { completed: false, level: 'warn' } },
    { name: 'server error', e: entry({ status: 503 }), expect: { status: 503, level: 'error' } },
    {
      name: 'counts that could not be taken',
      e: entry({ bytesIn: Number.NaN, bytesOut: Number.POSITIVE_INFINITY }),
      expect: { bytesIn: null, bytesOut: null },
    },
    {
      name: 'large and odd counts',
      e: entry({ bytesIn: 0, bytesOut: 2 ** 53 - 1, status: 999 }),
      expect: { bytesIn: 0, bytesOut: 2 ** 53 - 1, status: 999 },
    },
    { name: 'a count past exact integers', e: entry({ bytesOut: 2 ** 60 }), expect: { bytesOut: 2 ** 60 } },
    { name: 'a negative count', e: entry({ bytesIn: -5 }), expect: { bytesIn: -5 } },
    { name: 'HTTP/2 on the S3 side', e: entry({ protocol: 'HTTP/2', side: 's3' }), expect: { protocol: 'HTTP/2' } },
  ];
  for (const c of cases) {
    {
      const line = format(c.e, TIME);
      assert.ok(line.endsWith('}\n'), `${c.name}: one line`);
      assert.equal(line.indexOf('\n'), line.length - 1, `${c.name}: no raw newline inside`);
      const parsed = JSON.parse(line) as Record<string, unknown>;
      assert.deepEqual(Object.keys(parsed), [
        'level',
        'time',
        'requestId',
        'remote',
        'host',
        'method',
        'protocol',
        'path',
        'side',
        'op',
        'addon',
        'bucket',
        'status',
        'error',
        'bytesIn',
        'bytesOut',
        'ms',
        'cache',
        'completed',
      ]);
      assert.equal(parsed.time, TIME);
      assert.equal(parsed.requestId, c.e.requestId);
      for (const [k, v] of Object.entries(c.expect)) assert.deepEqual(parsed[k], v, `${c.name}: ${k}`);
    }
  }
});

test('durations are milliseconds rounded to the microsecond', { timeout: 5000 }, () => {
  const cases: [number, number][] = [
    [0, 0],
    [0.0004, 0],
    [0.0005, 0.001],
    [0.1234, 0.123],
    [1.5, 1.5],
    [12.0456, 12.046],
    [1234.5678, 1234.568],
    [60000, 60000],
  ];
  for (const [ms, expected] of cases) {
    const parsed = JSON.parse(format(entry({ durationMs: ms }), TIME)) as { ms: number };
    assert.equal(parsed.ms, expected, `${ms} ms`);
  }
});

test('level: info below 400, warn for 4xx and cut answers, error for 5xx', { timeout: 5000 }, () => {
  const cases: [number, boolean, string][] = [
    [200, true, 'info'],
    [304, true, 'info'],
    [200, false, 'warn'],
    [404, true, 'warn'],
    [499, true, 'warn'],
    [500, true, 'error'],
    [503, false, 'error'],
  ];
  for (const [status, completed, level] of cases) assert.equal(levelOf(entry({ status, completed })), level);
});

test('any string a client sends comes back from the line unchanged', { timeout: 10_000 }, () => {
  // Every UTF-16 unit, lone surrogates included, in strings of random length and content.
  let seed = 12345;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed;
  };
  const units = [
    0, 0x1f, 0x20, 0x22, 0x5c, 0x7e, 0x7f, 0x80, 0xff, 0x100, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xfffd, 0xffff,
  ];
  for (let i = 0; i < 2000; i++) {
    const n = next() % 40;
    let s = '';
    for (let j = 0; j < n; j++)
      s += String.fromCharCode(next() % 2 === 0 ? units[next() % units.length]! : next() % 0x10000);
    const parsed = JSON.parse(format(entry({ path: s, host: s, bucket: s, addon: s, errorCode: s }), TIME)) as Record<
      string,
      unknown
    >;
    for (const k of ['path', 'host', 'bucket', 'addon', 'error'])
      assert.equal(parsed[k], s, `${k} of ${JSON.stringify(s)}`);
  }
});
