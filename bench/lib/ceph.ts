/**
 * Ceph RGW (bluestore) through the project's own harness: scripts/ceph/up.sh starts a
 * single-node cluster on loopback and records its PIDs; down.sh stops exactly those PIDs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { onCleanup, run } from './proc.js';
import type { S3Target } from './s3.js';

export interface Rgw {
  target: S3Target;
  /** PIDs of the daemons (mon, osd, rgw), for the report. */
  pids: number[];
  stop(): Promise<void>;
}

export function cephToolsDir(repoRoot: string): string {
  const dir = path.resolve(repoRoot, 'scripts/ceph');
  if (!existsSync(path.join(dir, 'up.sh')) || !existsSync(path.join(dir, 'down.sh'))) {
    throw new Error(`Ceph scripts not found at ${dir} (up.sh, down.sh)`);
  }
  return dir;
}

export interface RgwOptions {
  repoRoot: string;
  cephDir: string;
  cpus: string | null;
  /** RGW port; the mon takes +10/+11 and the OSD +20..+69. Absent: up.sh picks a free block itself. */
  basePort?: number;
  /** Bluestore file size in GiB [10]. */
  osdGb?: number;
  log: (s: string) => void;
}

export async function startRgw(o: RgwOptions): Promise<Rgw> {
  const tools = cephToolsDir(o.repoRoot);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CEPH_DIR: o.cephDir,
    CEPH_STORE: 'bluestore',
    CEPH_OSD_GB: String(o.osdGb ?? 10),
    // A fresh cluster each run: same starting state every time, no data piling up between runs.
    CEPH_FRESH: '1',
  };
  for (const k of ['RGW_PORT', 'MON_PORT', 'MS_PORT_MIN', 'MS_PORT_MAX']) delete env[k];
  if (o.basePort !== undefined) {
    env.RGW_PORT = String(o.basePort);
    env.MON_PORT = String(o.basePort + 10);
    env.MS_PORT_MIN = String(o.basePort + 20);
    env.MS_PORT_MAX = String(o.basePort + 69);
  }
  const downEnv = { ...env, CEPH_WIPE: '1' };
  let stopped = false;
  // The daemons are not our children (up.sh detaches them): a hard exit still runs down.sh.
  const onExit = (): void => {
    if (!stopped) spawnSync('bash', [path.join(tools, 'down.sh')], { env: downEnv, stdio: 'ignore' });
  };
  process.once('exit', onExit);
  const down = async (): Promise<void> => {
    stopped = true;
    process.off('exit', onExit);
    const r = await run('bash', [path.join(tools, 'down.sh')], { env: downEnv });
    if (r.code !== 0) o.log(`down.sh exited ${r.code}: ${r.stderr.slice(-500)}`);
  };
  // Registered before up.sh runs: a Ctrl-C during start-up still stops what up.sh recorded.
  const stop = onCleanup('ceph rgw (down.sh)', down);
  // The daemons inherit the affinity: the whole cluster shares the server core, as Cellar does.
  const r = await run('bash', [path.join(tools, 'up.sh')], { env, cpus: o.cpus });
  if (r.code !== 0) {
    await stop();
    throw new Error(`up.sh failed (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
  }
  const s3env = readFileSync(path.join(o.cephDir, 'upstream.env'), 'utf8');
  const get = (k: string): string => {
    const m = new RegExp(`^export ${k}=(\\S+)`, 'm').exec(s3env);
    if (!m) throw new Error(`upstream.env lacks ${k}`);
    return m[1]!;
  };
  const pids = readFileSync(path.join(o.cephDir, 'run/pids'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => Number(l.split(' ')[1]));
  const timings = readFileSync(path.join(o.cephDir, 'timings'), 'utf8').replace(/\n/g, ' ');
  o.log(`ceph rgw up (${timings.trim()})`);
  return {
    // The harness's user is RGW's --system user: S3 requests cost the same as an ordinary user's.
    target: {
      endpoint: get('CELLAR_UPSTREAM_URL'),
      accessKeyId: get('CELLAR_UPSTREAM_ACCESS_KEY'),
      secretAccessKey: get('CELLAR_UPSTREAM_SECRET_KEY'),
      region: 'us-east-1',
    },
    pids,
    stop,
  };
}
