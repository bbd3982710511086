import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateConditions, parseRange, type ConditionalHeaders } from './http-semantics.js';

test('parseRange', { timeout: 30_000 }, () => {
  const rows: [string | undefined, number, ReturnType<typeof parseRange>][] = [
    [undefined, 100, { type: 'full' }],
    ['bytes=0-9', 100, { type: 'partial', start: 0, end: 9 }],
    ['bytes=90-', 100, { type: 'partial', start: 90, end: 99 }],
    ['bytes=-10', 100, { type: 'partial', start: 90, end: 99 }],
    ['bytes=-1000', 100, { type: 'partial', start: 0, end: 99 }],
    ['bytes=50-1000', 100, { type: 'partial', start: 50, end: 99 }],
    ['bytes=100-', 100, { type: 'unsatisfiable' }],
    ['bytes=100-200', 100, { type: 'unsatisfiable' }],
    ['bytes=-0', 100, { type: 'unsatisfiable' }],
    ['bytes=0-', 0, { type: 'unsatisfiable' }],
    ['bytes=-5', 0, { type: 'unsatisfiable' }],
    ['bytes=9-3', 100, { type: 'full' }],
    ['bytes=0-1,5-6', 100, { type: 'full' }],
    ['items=0-1', 100, { type: 'full' }],
    ['bytes=abc', 100, { type: 'full' }],
    ['BYTES=1-1', 100, { type: 'partial', start: 1, end: 1 }],
  ];
  for (const [h, size, want] of rows) assert.deepEqual(parseRange(h, size), want, `${h} / ${size}`);
});

test('evaluateConditions', { timeout: 30_000 }, () => {
  const v = { etag: '"abc"', lastModified: new Date('2024-01-02T03:04:05.678Z') };
  const before = 'Mon, 01 Jan 2024 00:00:00 GMT';
  const same = 'Tue, 02 Jan 2024 03:04:05 GMT';
  const after = 'Wed, 03 Jan 2024 00:00:00 GMT';
  const rows: [ConditionalHeaders, boolean, string][] = [
    [{}, true, 'proceed'],
    [{ ifMatch: '"abc"' }, true, 'proceed'],
    [{ ifMatch: 'abc' }, true, 'proceed'],
    [{ ifMatch: '"x", "abc"' }, true, 'proceed'],
    [{ ifMatch: '*' }, true, 'proceed'],
    [{ ifMatch: '"nope"' }, true, 'precondition-failed'],
    [{ ifNoneMatch: '"abc"' }, true, 'not-modified'],
    [{ ifNoneMatch: '"abc"' }, false, 'precondition-failed'],
    [{ ifNoneMatch: '"other"' }, true, 'proceed'],
    [{ ifNoneMatch: '*' }, true, 'not-modified'],
    [{ ifModifiedSince: before }, true, 'proceed'],
    [{ ifModifiedSince: same }, true, 'not-modified'],
    [{ ifModifiedSince: after }, true, 'not-modified'],
    [{ ifModifiedSince: 'garbage' }, true, 'proceed'],
    [{ ifUnmodifiedSince: before }, true, 'precondition-failed'],
    [{ ifUnmodifiedSince: same }, true, 'proceed'],
    // If-Match true overrides a failing If-Unmodified-Since (S3 GetObject docs).
    [{ ifMatch: '"abc"', ifUnmodifiedSince: before }, true, 'proceed'],
    // If-None-Match false (no match) overrides If-Modified-Since (which would say 304).
    [{ ifNoneMatch: '"zzz"', ifModifiedSince: after }, true, 'proceed'],
    [{ ifNoneMatch: '"abc"', ifModifiedSince: before }, true, 'not-modified'],
  ];
  for (const [h, getOrHead, want] of rows) assert.equal(evaluateConditions(h, v, getOrHead), want, JSON.stringify(h));
});
