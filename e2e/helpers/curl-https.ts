/** curl over HTTPS to a test host mapped to 127.0.0.1, trusting one CA: status line, headers, body. */
import assert from 'node:assert/strict';
import { run } from './run.js';

export interface CurlReply {
  statusLine: string;
  /** Names lower-cased. */
  headers: Record<string, string>;
  body: string;
}

export async function curlHttps(o: {
  version: '--http2' | '--http1.1';
  host: string;
  port: number;
  caFile: string;
  path: string;
  extra?: string[];
}): Promise<CurlReply> {
  const r = await run(
    'curl',
    [
      '-sS',
      o.version,
      '--max-time',
      '40',
      '--cacert',
      o.caFile,
      '--resolve',
      `${o.host}:${o.port}:127.0.0.1`,
      '-D',
      '-',
      ...(o.extra ?? []),
      `https://${o.host}:${o.port}${o.path}`,
    ],
    { timeoutMs: 60_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  const end = r.stdout.indexOf('\r\n\r\n');
  const [statusLine = '', ...fields] = r.stdout.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const f of fields) {
    const i = f.indexOf(':');
    headers[f.slice(0, i).toLowerCase()] = f.slice(i + 1).trim();
  }
  return { statusLine, headers, body: r.stdout.slice(end + 4) };
}

type Curl = (version: '--http2' | '--http1.1', path: string, extra?: string[]) => Promise<CurlReply>;

/** `path` over HTTP/2 and HTTP/1.1: the same bytes, ETag and type, and the same 304 to If-None-Match. */
export async function assertH2LikeH1(curl: Curl, path: string, body: string): Promise<void> {
  const h2 = await curl('--http2', path);
  const h1 = await curl('--http1.1', path);
  assert.equal(h2.statusLine.trim(), 'HTTP/2 200');
  assert.equal(h1.statusLine.trim(), 'HTTP/1.1 200 OK');
  assert.equal(h2.body, body);
  assert.equal(h1.body, body);
  assert.match(h2.headers.etag ?? '', /^"[0-9a-f]{32}"$/);
  assert.equal(h2.headers.etag, h1.headers.etag);
  assert.equal(h2.headers['content-type'], h1.headers['content-type']);
  assert.equal(h2.headers.connection, undefined);
  for (const version of ['--http2', '--http1.1'] as const) {
    const c = await curl(version, path, ['-H', `If-None-Match: ${h2.headers.etag}`]);
    assert.match(c.statusLine, / 304\b/, version);
    assert.equal(c.body, '', version);
    assert.equal(c.headers.etag, h2.headers.etag, version);
  }
}
