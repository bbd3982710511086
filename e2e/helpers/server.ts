import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { run, runOk, type RunResult } from './run.js';

/** dist/src/cli.js, seen from dist/e2e/helpers/: the built `cellar` command, run as a separate process. */
export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli.js');

export interface Credentials {
  id: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface E2eServer {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  readonly port: number;
  readonly dataDir: string;
  /** <dataDir>/s3cfg as written on first start. */
  readonly s3cfgPath: string;
  /** The first add-on, parsed from the first start's output. */
  readonly owner: Credentials;
  /** Everything the current process printed on stdout so far. */
  stdout(): string;
  stderr(): string;
  /** The environment the server runs with; CLI commands against the same data dir use it. */
  env(): NodeJS.ProcessEnv;
  /** Runs `cellar <args>` against the same data dir. */
  cli(args: string[]): Promise<RunResult>;
  kill9(): Promise<void>;
  /** Starts again on the same port and data dir (after kill9 or stop). */
  restart(): Promise<void>;
  /** SIGTERM, then SIGKILL after 5 s; keeps the data dir. Says how the process ended (null when it was not running). */
  stop(): Promise<Exit | null>;
  /** stop() and remove the data dir. */
  dispose(): Promise<void>;
}

/** A free TCP port: listen on port 0, note the port, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The environment of a server child: the parent's, minus any CELLAR_* that could leak in. */
export function cellarEnv(
  dataDir: string,
  port: number | string,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CELLAR_')) env[k] = v;
  return {
    ...env,
    CELLAR_DATA_DIR: dataDir,
    CELLAR_HTTP_PORT: String(port),
    CELLAR_HOST: '127.0.0.1',
    CELLAR_DOMAIN: 'localhost',
    CELLAR_LOG_LEVEL: 'warn',
    // Many servers run at once: any free admin port, and the access log beside the data.
    CELLAR_ADMIN_PORT: '0',
    CELLAR_ACCESS_LOG: path.join(dataDir, 'access.log'),
    ...extra,
  };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(endpoint + '/', { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

/** Servers this test process started; a test file that dies without dispose() must not leave them running. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

interface Proc {
  child: ChildProcess;
  out: string;
  err: string;
}

async function launch(env: NodeJS.ProcessEnv, endpoint: string, timeoutMs = 15_000): Promise<Proc> {
  const child = spawn(process.execPath, [CLI, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  const p: Proc = { child, out: '', err: '' };
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    p.out += d;
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    p.err += d;
  });
  const deadline = Date.now() + timeoutMs;
  // The banner comes after the first add-on is written, so waiting for it (not just a socket) makes the credentials usable.
  while (!p.out.includes('Cellar is running at')) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `server exited (${child.exitCode ?? child.signalCode}) before it was ready\nstdout: ${p.out}\nstderr: ${p.err}`,
      );
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not start within ${timeoutMs} ms\nstdout: ${p.out}\nstderr: ${p.err}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  while (!(await answers(endpoint))) {
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server printed its banner but does not answer on ${endpoint}\nstderr: ${p.err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return p;
}

function parseFirstStart(out: string): { owner: Credentials; s3cfgPath: string } {
  const grab = (re: RegExp): string => {
    const m = re.exec(out);
    if (!m) throw new Error(`first-start output lacks ${re}:\n${out}`);
    return m[1]!.trim();
  };
  return {
    owner: {
      id: grab(/created add-on (\S+)/),
      accessKeyId: grab(/access key:\s*(\S+)/),
      secretAccessKey: grab(/secret key:\s*(\S+)/),
    },
    s3cfgPath: grab(/s3cfg:\s*(\S+)/),
  };
}

/** Starts `cellar serve` as a child process over a fresh temp data dir on a free port. */
export async function startServer(extraEnv: Record<string, string> = {}): Promise<E2eServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'cellar-e2e-'));
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const env = cellarEnv(dataDir, port, extraEnv);
  let proc = await launch(env, endpoint);
  const first = parseFirstStart(proc.out);

  const stop = async (): Promise<Exit | null> => {
    const { child } = proc;
    if (child.exitCode !== null || child.signalCode !== null) return null;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited(child);
    clearTimeout(t);
    return { code: child.exitCode, signal: child.signalCode };
  };

  return {
    endpoint,
    port,
    dataDir,
    s3cfgPath: first.s3cfgPath,
    owner: first.owner,
    stdout: () => proc.out,
    stderr: () => proc.err,
    env: () => env,
    cli: (args) => run(process.execPath, [CLI, ...args], { env, timeoutMs: 20_000 }),
    async kill9() {
      proc.child.kill('SIGKILL');
      await exited(proc.child);
    },
    async restart() {
      await stop();
      proc = await launch(env, endpoint);
    },
    stop,
    async dispose() {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Creates another add-on through the CLI (`addon create --json`). */
export async function createAddon(server: E2eServer, name: string): Promise<Credentials> {
  const r = await runOk(process.execPath, [CLI, 'addon', 'create', '--name', name, '--json'], { env: server.env() });
  const j = JSON.parse(r.stdout) as { id: string; accessKeyId: string; secretAccessKey: string };
  return { id: j.id, accessKeyId: j.accessKeyId, secretAccessKey: j.secretAccessKey };
}

/** An SDK client with default settings (SigV4), path style, for checks the CLIs cannot show. */
export function sdkClient(server: E2eServer, creds: Credentials = server.owner): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
  });
}
