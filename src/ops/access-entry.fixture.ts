/**
 * Test support for the access log's unit tests (not a test itself): a finished website hit as the
 * log sees it, with `over` and `rec` replacing any field.
 */
import { performance } from 'node:perf_hooks';
import type { RequestRecord } from '../shared/request-record.js';
import type { AccessEntry } from './access-line.js';

export function accessEntry(over: Partial<AccessEntry> = {}, rec: Partial<RequestRecord> = {}): AccessEntry {
  return {
    requestId: '0A1B2C0000000001',
    side: 'website',
    op: null,
    addon: null,
    bucket: 'site',
    errorCode: null,
    cache: 'hit',
    ...rec,
    remote: '127.0.0.1',
    host: 'site.localhost:8080',
    method: 'GET',
    protocol: 'HTTP/1.1',
    path: '/index.html',
    status: 200,
    bytesIn: 98,
    bytesOut: 4400,
    durationMs: 0.1234,
    endedAt: performance.now(),
    completed: true,
    ...over,
  };
}
