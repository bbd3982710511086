/**
 * Test support for the access log's unit tests (not a test itself): a finished website hit as the
 * log sees it, with `over` replacing any field.
 */
import { performance } from 'node:perf_hooks';
import type { AccessEntry } from './access-line.js';

export function accessEntry(over: Partial<AccessEntry> = {}): AccessEntry {
  return {
    requestId: '0A1B2C0000000001',
    side: 'website',
    op: null,
    addon: null,
    bucket: 'site',
    errorCode: null,
    cache: 'hit',
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
