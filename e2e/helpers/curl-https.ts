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
