/**
 * Cellar in upstream mode as a black box: `node dist/src/cli.js serve` with CELLAR_UPSTREAM_URL
 * set, in front of a bench RGW, and `cellar addon create` through the same settings (an RGW
 * user, so the same keys work through the gateway and directly on RGW).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { serveCellar } from './cellar.js';
import type { Rgw } from './ceph.js';
import { freePort, runOk, type Daemon } from './proc.js';
import type { S3Target } from './s3.js';

export interface UpstreamGateway {
  daemon: Daemon;
  port: number;
  endpoint: string;
  /** Creates an add-on (an RGW user) and returns its keys on this gateway's endpoint. */
  createAddon(): Promise<{ accessKeyId: string; secretAccessKey: string }>;
  stop(): Promise<void>;
}

export interface GatewayOptions {
  repoRoot: string;
  dataDir: string;
  rgw: Rgw;
  cpus: string | null;
  nodeArgs?: string[];
  env?: Record<string, string>;
}

export async function startUpstreamGateway(o: GatewayOptions): Promise<UpstreamGateway> {
  mkdirSync(o.dataDir, { recursive: true });
  const port = await freePort();
  const { daemon, env, cli } = await serveCellar(o, 'cellar-gateway', 'Cellar gateway is running at', port, {
    CELLAR_DATA_DIR: o.dataDir,
    CELLAR_HTTP_PORT: String(port),
    CELLAR_HOST: '127.0.0.1',
    CELLAR_DOMAIN: 'localhost',
    CELLAR_LOG_LEVEL: 'warn',
    CELLAR_ADMIN_PORT: 'off',
    CELLAR_ACCESS_LOG: path.join(o.dataDir, 'access.log'),
    CELLAR_UPSTREAM_URL: o.rgw.target.endpoint,
    CELLAR_UPSTREAM_ACCESS_KEY: o.rgw.target.accessKeyId,
    CELLAR_UPSTREAM_SECRET_KEY: o.rgw.target.secretAccessKey,
    ...o.env,
  });
  return {
    daemon,
    port,
    endpoint: `http://127.0.0.1:${port}`,
    async createAddon() {
      const r = await runOk(process.execPath, [cli, 'addon', 'create', '--name', 'bench', '--json'], { env });
      const a = JSON.parse(r.stdout) as { accessKeyId: string; secretAccessKey: string };
      return { accessKeyId: a.accessKeyId, secretAccessKey: a.secretAccessKey };
    },
    stop: () => daemon.stop(),
  };
}

/** The same keys on another endpoint. */
export function targetOn(endpoint: string, keys: { accessKeyId: string; secretAccessKey: string }): S3Target {
  return { endpoint, region: 'us-east-1', ...keys };
}
