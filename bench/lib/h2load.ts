/** Runs h2load (Debian's nghttp2-client, one thread, pinned to the client core) over HTTP/2 or HTTP/1.1 and parses its report. */
import { cpuSeconds, run } from './proc.js';

export interface H2loadOptions {
  url: string;
  /** :authority (HTTP/2) or Host (HTTP/1.1): Cellar's website side routes on it. */
  authority?: string;
  connections: number;
  /** Streams in flight per connection (HTTP/2); HTTP/1.1 sends one request at a time. */
  streams: number;
  seconds: number;
  http1: boolean;
  cpus: string | null;
  serverPids?: number[];
}

export interface H2loadResult {
  requestsPerSec: number;
  protocol: string;
  /** Requests that failed or answered outside 2xx/3xx. */
  errors: number;
  serverCores: number;
  raw: string;
}

export function parseH2load(out: string): Omit<H2loadResult, 'serverCores'> {
  const done = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(
    out,
  );
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  return {
    requestsPerSec: Number(/finished in [^,]+, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN),
    protocol: /Application protocol: (\S+)/.exec(out)?.[1] ?? '',
    errors: (done ? Number(done[5]) + Number(done[6]) : 0) + (codes ? Number(codes[3]) + Number(codes[4]) : 0),
    raw: out,
  };
}

export async function h2load(o: H2loadOptions): Promise<H2loadResult> {
  const args = ['-t', '1', '-c', String(o.connections), '-D', String(o.seconds)];
  args.push(...(o.http1 ? ['--h1', '-m', '1'] : ['-m', String(o.streams)]));
  // h2load sends :authority as Host over HTTP/1.1.
  if (o.authority !== undefined) args.push('-H', `:authority: ${o.authority}`);
  args.push(o.url);
  const pids = o.serverPids ?? [];
  const cpu0 = pids.reduce((a, p) => a + cpuSeconds(p), 0);
  const t0 = performance.now();
  const r = await run('h2load', args, { cpus: o.cpus });
  const wall = (performance.now() - t0) / 1000;
  const cpu1 = pids.reduce((a, p) => a + cpuSeconds(p), 0);
  if (r.code !== 0) throw new Error(`h2load ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  const res = parseH2load(r.stdout);
  if (!Number.isFinite(res.requestsPerSec)) throw new Error(`cannot parse h2load output:\n${r.stdout}`);
  if (res.errors > 0) throw new Error(`h2load saw ${res.errors} failed or error responses (${o.url})`);
  return { ...res, serverCores: pids.length > 0 ? (cpu1 - cpu0) / wall : Number.NaN };
}
