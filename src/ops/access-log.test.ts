import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RequestRecord } from '../shared/request-record.js';
import { createAccessLog, levelOf, lineFormatter, type AccessEntry } from './access-log.js';

function entry(over: Partial<AccessEntry> = {}, rec: Partial<RequestRecord> = {}): AccessEntry {
  return {
    rec: {
      requestId: '0A1B2C0000000001',
      side: 'website',
      op: null,
      addon: null,
      bucket: 'site',
      errorCode: null,
      cache: 'hit',
      ...rec,
    },
    remote: '127.0.0.1',
    host: 'site.localhost:8080',
    method: 'GET',
    protocol: 'HTTP/1.1',
    path: '/index.html',
    status: 200,
    bytesIn: 98,
    bytesOut: 4400,
    durationMs: 0.1234,
    completed: true,
    ...over,
  };
}

const TIME = '2026-12-02T03:04:05.678Z';

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
      e: entry(
        { status: 403, method: 'PUT' },
        { side: 's3', op: 'PutObject', addon: 'cellar_ab12', errorCode: 'AccessDenied', cache: null },
      ),
      expect: { side: 's3', op: 'PutObject', addon: 'cellar_ab12', error: 'AccessDenied', cache: null, level: 'warn' },
    },
    { name: 'error code chosen by RGW', e: entry({}, { errorCode: 'Odd"Code' }), expect: { error: 'Odd"Code' } },
    {
      name: 'absent host, method and remote',
      e: entry({ host: undefined, method: undefined, remote: undefined }),
      expect: { host: null, method: null, remote: null },
    },
    {
      name: 'no bucket',
      e: entry({}, { bucket: null, side: 'admin', cache: null }),
      expect: { bucket: null, side: 'admin' },
    },
    { name: 'cut answer', e: entry({ completed: false }), expect: { completed: false, level: 'warn' } },
    { name: 'server error', e: entry({ status: 503 }), expect: { status: 503, level: 'error' } },
  ];
  const format = lineFormatter();
  for (const c of cases) {
    // Twice: the second line comes from the remembered JSON of the same values.
    for (const round of [1, 2]) {
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
      assert.equal(parsed.requestId, c.e.rec.requestId);
      for (const [k, v] of Object.entries(c.expect)) assert.deepEqual(parsed[k], v, `${c.name} (round ${round}): ${k}`);
    }
  }
});

test('durations are milliseconds rounded to the microsecond', { timeout: 5000 }, () => {
  const format = lineFormatter();
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

test('the file gets every line once flushed, filtered by level, a line longer than a batch included', {
  timeout: 10_000,
}, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cellar-alog-'));
  try {
    const all = path.join(dir, 'all.log');
    const log = createAccessLog({ destination: all })!;
    const long = `/${'x'.repeat(200_000)}`;
    for (let i = 0; i < 3000; i++) log.write(entry({ path: `/p${i}` }));
    log.write(entry({ path: long }));
    log.write(entry({ status: 500 }));
    await log.close();
    const lines = readFileSync(all, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 3002);
    assert.deepEqual(
      lines.slice(0, 3).map((l) => (JSON.parse(l) as { path: string }).path),
      ['/p0', '/p1', '/p2'],
    );
    assert.equal((JSON.parse(lines[3000]!) as { path: string }).path, long);
    assert.equal(log.dropped, 0);

    const warn = path.join(dir, 'warn.log');
    const warnLog = createAccessLog({ destination: warn, level: 'warn' })!;
    warnLog.write(entry({ status: 200 }));
    warnLog.write(entry({ status: 404 }));
    warnLog.write(entry({ status: 200, completed: false }));
    warnLog.write(entry({ status: 502 }));
    await warnLog.close();
    assert.deepEqual(
      readFileSync(warn, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { status: number }).status),
      [404, 200, 502],
    );

    assert.equal(createAccessLog({ destination: path.join(dir, 'none.log'), level: 'silent' }), null);
    assert.equal(createAccessLog({ destination: 'off' }), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a quiet server still writes its lines within the flush interval', { timeout: 10_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cellar-alog-'));
  try {
    const file = path.join(dir, 'quiet.log');
    const log = createAccessLog({ destination: file, flushMs: 50 })!;
    log.write(entry({ path: '/one' }));
    let text = '';
    for (let i = 0; i < 100 && !text.includes('/one'); i++) {
      await new Promise((r) => setTimeout(r, 20));
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        // Not created yet.
      }
    }
    assert.match(text, /"path":"\/one"/);
    await log.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
