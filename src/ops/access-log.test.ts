import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { accessEntry as entry } from './access-entry.fixture.js';
import { createAccessLog } from './access-log.js';

/** A fresh directory, removed when the test ends. */
function tempDir(t: TestContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'cellar-alog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the file gets every line once flushed, filtered by level, a line longer than a batch included', {
  timeout: 10_000,
}, async (t) => {
  const dir = tempDir(t);
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
});

test('a quiet server still writes its lines within the flush interval', { timeout: 10_000 }, async (t) => {
  const dir = tempDir(t);
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
});

test('buffers reused once written never change lines already handed over', { timeout: 20_000 }, async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'many.log');
  const log = createAccessLog({ destination: file })!;
  // About 25 batches of 256 KiB; pauses let writes finish, so later batches reuse buffers.
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    log.write(entry({ path: `/p${i}/${'y'.repeat(i % 200)}` }));
    if (i % 500 === 0) await new Promise((r) => setTimeout(r, 2));
  }
  await log.close();
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, n);
  for (let i = 0; i < n; i++)
    assert.equal((JSON.parse(lines[i]!) as { path: string }).path, `/p${i}/${'y'.repeat(i % 200)}`, `line ${i}`);
});

test("a line's time is its request's end, not the moment the line is written", { timeout: 10_000 }, async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'times.log');
  const log = createAccessLog({ destination: file })!;
  const agesMs = [0, 250, 5000, 90_000];
  const before = Date.now();
  const now = performance.now();
  for (const age of agesMs) log.write(entry({ endedAt: now - age }));
  const after = Date.now();
  await log.close();
  const times = readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => Date.parse((JSON.parse(l) as { time: string }).time));
  for (const [i, age] of agesMs.entries()) {
    // To the millisecond (the line's time is truncated), within the two readings around it.
    assert.ok(
      times[i]! >= before - age - 1 && times[i]! <= after - age,
      `${age} ms ago: ${times[i]} in [${before - age - 1}, ${after - age}]`,
    );
  }
});
