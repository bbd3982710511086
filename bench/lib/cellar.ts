/**
 * Cellar as a black box: `node dist/src/cli.js serve` in a child process (nothing from src/ is
 * imported), credentials from the first-start banner or from <dataDir>/s3cfg on a restart.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, startDaemon, waitForPort, type Daemon } from './proc.js';
import { S3Client, type S3Target } from './s3.js';
import { sleep } from './stats.js';

export interface CellarServer {
  daemon: Daemon;
  port: number;
  httpsPort: number | null;
  endpoint: string;
  dataDir: string;
  target: S3Target;
  client(maxSockets?: number): S3Client;
  stop(): Promise<void>;
}

export interface CellarOptions {
  repoRoot: string;
  dataDir: string;
  cpus: string | null;
  env?: Record<string, string>;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[];
}

function parseS3cfg(file: string): { accessKeyId: string; secretAccessKey: string } {
  const text = readFileSync(file, 'utf8');
  const get = (k: string): string => {
    const m = new RegExp(`^${k}\\s*=\\s*(\\S+)`, 'm').exec(text);
    if (!m) throw new Error(`${file} lacks ${k}`);
    return m[1]!;
  };
  return { accessKeyId: get('access_key'), secretAccessKey: get('secret_key') };
}

export interface Served {
  daemon: Daemon;
  /** The daemon's environment, for `cellar` commands against the same settings. */
  env: NodeJS.ProcessEnv;
  /** dist/src/cli.js. */
  cli: string;
}

/**
 * `cellar serve` from dist/ as a daemon named `name` on `port`: the environment without any
 * CELLAR_* of this shell, plus `settings`; ready once it printed `ready` and the port answers.
 */
export async function serveCellar(
  o: { repoRoot: string; dataDir: string; cpus: string | null; nodeArgs?: string[] },
  name: string,
  ready: string,
  port: number,
  settings: Record<string, string>,
): Promise<Served> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CELLAR_')) env[k] = v;
  Object.assign(env, settings);
  const cli = path.join(o.repoRoot, 'dist/src/cli.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build first (npm run build)`);
  const daemon = startDaemon(name, process.execPath, [...(o.nodeArgs ?? []), cli, 'serve'], {
    cpus: o.cpus,
    env,
    cwd: o.dataDir,
  });
  const deadline = Date.now() + 30_000;
  while (!daemon.output().includes(ready)) {
    if (!daemon.alive()) throw new Error(`${name} exited before it was ready:\n${daemon.output()}`);
    if (Date.now() > deadline) throw new Error(`${name} did not start in 30 s:\n${daemon.output()}`);
    await sleep(25);
  }
  await waitForPort(port, daemon);
  return { daemon, env, cli };
}

export async function startCellar(o: CellarOptions): Promise<CellarServer> {
  mkdirSync(o.dataDir, { recursive: true });
  const port = await freePort();
  const { daemon } = await serveCellar(o, 'cellar', 'Cellar is running at', port, {
    CELLAR_DATA_DIR: o.dataDir,
    CELLAR_HTTP_PORT: String(port),
    CELLAR_HOST: '127.0.0.1',
    CELLAR_DOMAIN: 'localhost',
    CELLAR_LOG_LEVEL: 'warn',
    CELLAR_CERTS_DIR: path.join(o.dataDir, 'certs'),
    CELLAR_ADMIN_PORT: '0',
    // A file, as in production: on stdout every line would pile up in this process's output buffer.
    CELLAR_ACCESS_LOG: path.join(o.dataDir, 'access.log'),
    ...o.env,
  });
  const httpsMatch = /HTTPS on port (\d+)/.exec(daemon.output());
  const creds = parseS3cfg(path.join(o.dataDir, 's3cfg'));
  const endpoint = `http://127.0.0.1:${port}`;
  const target: S3Target = { endpoint, region: 'us-east-1', ...creds };
  return {
    daemon,
    port,
    endpoint,
    target,
    httpsPort: httpsMatch ? Number(httpsMatch[1]) : null,
    dataDir: o.dataDir,
    client: (maxSockets = 64) => new S3Client(target, maxSockets),
    stop: () => daemon.stop(),
  };
}
