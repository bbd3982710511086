/** `cellar serve` in upstream mode as a child process: a gateway in front of a test RGW. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Rgw } from './ceph.js';
import { run, type RunResult } from './run.js';
import { CLI, cellarEnv, freePort } from './server.js';

export interface Gateway {
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number;
  readonly env: NodeJS.ProcessEnv;
  /** What `cellar serve` printed (the admin API's URL and, on first start, its token). */
  stdout(): string;
  stderr(): string;
  /** Runs `cellar <args>` with the gateway's settings (upstream mode). */
  cli(args: string[]): Promise<RunResult>;
  stop(): Promise<void>;
  /** SIGKILL, as a crash would end it. */
  kill9(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function startGateway(rgw: Rgw, extra: Record<string, string> = {}): Promise<Gateway> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'cellar-gw-'));
  const port = await freePort();
  const env = cellarEnv(dataDir, port, {
    CELLAR_UPSTREAM_URL: rgw.url,
    CELLAR_UPSTREAM_ACCESS_KEY: rgw.accessKey,
    CELLAR_UPSTREAM_SECRET_KEY: rgw.secretKey,
    ...extra,
  });
  const child = spawn(process.execPath, [CLI, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      live.delete(child);
      resolve();
    }),
  );
  const deadline = Date.now() + 15_000;
  while (!out.includes('Cellar gateway is running at')) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`gateway exited before it was ready\nstdout: ${out}\nstderr: ${err}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gateway did not start within 15 s\nstdout: ${out}\nstderr: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    env,
    stdout: () => out,
    stderr: () => err,
    cli: (args) => run(process.execPath, [CLI, ...args], { env, timeoutMs: 20_000 }),
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
