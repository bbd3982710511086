/**
 * A throw-away Ceph cluster with one RGW for a test file, through the project's own harness
 * (scripts/ceph/up.sh and down.sh): started once per file, stopped by the PIDs it recorded.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './run.js';

/** scripts/ceph, seen from dist/e2e/helpers/. */
export const CEPH_SCRIPTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../scripts/ceph');

export interface Rgw {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** The system user's keys (CELLAR_UPSTREAM_ACCESS_KEY / _SECRET_KEY). */
  readonly accessKey: string;
  readonly secretKey: string;
  readonly dir: string;
  /** Seconds up.sh reported from the first daemon started to RGW answering. */
  readonly startSeconds: number;
  /** Stops radosgw alone (mon and OSD keep running). */
  stopRgw(): Promise<void>;
  /** Starts radosgw again after stopRgw(), same port and keys. */
  startRgw(): Promise<void>;
  /** Stops every daemon and deletes the cluster. */
  down(): Promise<void>;
}

const clusters = new Set<string>();
// A test file that dies without down() must not leave daemons behind.
process.once('exit', () => {
  for (const dir of clusters)
    spawnSync('bash', [path.join(CEPH_SCRIPTS, 'down.sh'), dir], {
      env: { ...process.env, CEPH_WIPE: '1', STOP_TIMEOUT_S: '5' },
      stdio: 'ignore',
    });
});

async function up(dir: string, settings: Record<string, string>): Promise<void> {
  // Installing the packages on a fresh machine takes minutes; starting takes seconds.
  const r = await run('bash', [path.join(CEPH_SCRIPTS, 'up.sh'), dir], {
    env: { ...process.env, ...settings, CEPH_DIR: dir },
    timeoutMs: 600_000,
  });
  if (r.code !== 0) {
    // The daemons' own logs go with the cluster directory when it is wiped: keep the mon's tail.
    let monLog = '';
    try {
      monLog = `\nmon.a log:\n${readFileSync(path.join(dir, 'log', 'mon.a.log'), 'utf8').slice(-2000)}`;
    } catch {
      // no mon log: it failed before the mon started
    }
    throw new Error(`scripts/ceph/up.sh failed (${r.code}):\n${r.stderr.slice(-3000)}${monLog}`);
  }
}

async function down(dir: string, extra: Record<string, string> = {}): Promise<void> {
  const r = await run('bash', [path.join(CEPH_SCRIPTS, 'down.sh'), dir], {
    env: { ...process.env, ...extra },
    timeoutMs: 120_000,
  });
  if (r.code !== 0) throw new Error(`scripts/ceph/down.sh failed (${r.code}):\n${r.stderr.slice(-2000)}`);
}

/**
 * `settings`: up.sh knobs for this cluster (CEPH_STORE, CEPH_OSD_GB); a restart reuses the
 * ones saved by the first start.
 */
export async function startCeph(settings: Record<string, string> = {}): Promise<Rgw> {
  let dir = '';
  // A second attempt on a new cluster when the first does not come up: the harness, not the
  // code under test, is what failed (seen once: a mon that never reached quorum on a machine
  // loaded by other jobs). The first failure is reported on stderr, never swallowed silently.
  for (let attempt = 1; ; attempt++) {
    dir = mkdtempSync(path.join(tmpdir(), 'cellar-ceph-'));
    clusters.add(dir);
    try {
      await up(dir, settings);
      break;
    } catch (e) {
      await down(dir, { CEPH_WIPE: '1' }).catch(() => undefined);
      clusters.delete(dir);
      if (attempt === 2) throw e;
      process.stderr.write(`startCeph: first cluster failed to start, trying a new one: ${(e as Error).message}\n`);
    }
  }
  const env = readFileSync(path.join(dir, 'upstream.env'), 'utf8');
  const get = (k: string): string => {
    const m = new RegExp(`^export ${k}=(\\S+)$`, 'm').exec(env);
    if (!m) throw new Error(`upstream.env lacks ${k}`);
    return m[1]!;
  };
  const timings = readFileSync(path.join(dir, 'timings'), 'utf8');
  return {
    url: get('CELLAR_UPSTREAM_URL'),
    accessKey: get('CELLAR_UPSTREAM_ACCESS_KEY'),
    secretKey: get('CELLAR_UPSTREAM_SECRET_KEY'),
    dir,
    startSeconds: Number(/cluster_to_rgw_s=([\d.]+)/.exec(timings)?.[1] ?? NaN),
    stopRgw: () => down(dir, { CEPH_ONLY: 'rgw' }),
    startRgw: () => up(dir, settings),
    async down() {
      await down(dir, { CEPH_WIPE: '1' });
      clusters.delete(dir);
    },
  };
}
