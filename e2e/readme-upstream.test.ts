/**
 * The README's "Running several gateways over Ceph" walk-through, run as written: its sh block is
 * taken from README.md and given to bash unchanged, with only the ports (`A`, `B`, which the
 * block reads with the README's defaults) and TMPDIR (where its `mktemp -d` lands) chosen here.
 * Every process the block starts carries a marker in its environment, so the test can tell that
 * the block's own `kill` and `scripts/ceph/down.sh` lines stopped them all.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './helpers/server.js';

/** The repository root, seen from dist/e2e/. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MARKER = 'CELLAR_README_WALKTHROUGH';
const runId = randomUUID();
const scratch = mkdtempSync(path.join(tmpdir(), 'cellar-e2e-readme-'));

/** The sh block of the README section `heading`. */
function shBlock(readme: string, heading: string): string {
  const start = readme.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `README.md has no section "${heading}"`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const blocks = [...section.matchAll(/\n```sh\n([\s\S]*?)\n```/g)].map((m) => m[1]!);
  const walk = blocks.filter((b) => b.includes('scripts/ceph/up.sh'));
  assert.equal(walk.length, 1, `expected one sh block starting Ceph in "${heading}"`);
  return walk[0]!;
}

interface Proc {
  pid: number;
  cmd: string;
}

/**
 * Processes alive now (not zombies) of this run: their command line names the scratch directory
 * (the Ceph daemons' ceph.conf is under it), or their environment holds this run's marker. Both,
 * because a daemon's environment is not always readable: one run never saw ceph-osd by its
 * environment alone, though it served the whole walk-through.
 */
function marked(): Proc[] {
  const found: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0').join(' ').trim();
      if (!cmd.includes(scratch) && !hasMarker(name)) continue;
      if (readFileSync(`/proc/${name}/stat`, 'latin1').split(') ')[1]?.startsWith('Z')) continue;
      found.push({ pid: Number(name), cmd });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function hasMarker(pid: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`${MARKER}=${runId}`);
  } catch {
    return false;
  }
}

function killMarked(): void {
  for (const p of marked()) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

// A failed or timed-out run must not leave daemons or gateways behind.
process.once('exit', killMarked);

after(() => {
  killMarked();
  rmSync(scratch, { recursive: true, force: true });
});

interface BlockRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /**
   * Every command line each marked process showed while the block ran, by PID. All of them, not
   * the first: a `cmd &` line is first a forked copy of the block's bash, then (same PID) the
   * command it execs, and a sample can land between the two.
   */
  seen: Map<number, Set<string>>;
}

/** Runs `script` with bash -e (stop at the first failing line, as a reader would). */
function runBlock(script: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<BlockRun> {
  const file = path.join(scratch, 'walkthrough.sh');
  writeFileSync(file, script + '\n');
  return new Promise((resolve) => {
    const child = spawn('bash', ['-e', file], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const seen = new Map<number, Set<string>>();
    const watch = setInterval(() => {
      for (const p of marked()) {
        const cmds = seen.get(p.pid) ?? new Set<string>();
        cmds.add(p.cmd);
        seen.set(p.pid, cmds);
      }
    }, 200);
    const timer = setTimeout(() => {
      stderr += `\n[test] the block ran longer than ${timeoutMs} ms: killed`;
      killMarked();
    }, timeoutMs);
    // 'exit', not 'close': a gateway the block left running would hold the output pipes open.
    child.once('exit', (code) => {
      clearInterval(watch);
      clearTimeout(timer);
      // Let the last output in the pipes arrive.
      setTimeout(() => resolve({ code, stdout, stderr, seen }), 500);
    });
  });
}

async function gone(timeoutMs: number): Promise<Proc[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = marked();
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('the README walk-through brings up RGW and two gateways serving the same site, and stops them all', {
  timeout: 900_000,
}, async () => {
  const script = shBlock(readFileSync(path.join(ROOT, 'README.md'), 'utf8'), 'Running several gateways over Ceph');
  // The README's own defaults are the ports the test replaces; they must be the ones it shows.
  assert.match(script, /^A=\$\{A:-8081\} B=\$\{B:-8082\}/m);
  const a = await freePort();
  let b = await freePort();
  while (b === a) b = await freePort();

  // A reader's shell: no Cellar or AWS settings of this machine leak in.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CELLAR_') && !k.startsWith('AWS_')) env[k] = v;
  Object.assign(env, { A: String(a), B: String(b), TMPDIR: scratch, LC_ALL: 'C.UTF-8', [MARKER]: runId });

  const r = await runBlock(script, env, 840_000);
  const left = await gone(60_000);
  const report = `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr.slice(-6000)}`;
  assert.equal(r.code, 0, report);

  // The RGW endpoint up.sh printed, then the two gateways' banners.
  assert.match(r.stdout, /^http:\/\/127\.0\.0\.1:\d+$/m, report);
  const banners = r.stdout.match(/^Cellar gateway is running at http:\/\/localhost:(\d+)\/ in front of /gm) ?? [];
  assert.deepEqual(banners.map((l) => Number(/:(\d+)\//.exec(l)![1])).sort(), [a, b].sort(), report);
  // The object uploaded through A, listed through B.
  assert.match(r.stdout, /^\S+ \S+\s+\d+\s+s3:\/\/demo\/index\.html$/m, report);
  // The same page through A and through B: the two curl lines print it, nothing else does.
  const page = '<h1>Hello from Ceph</h1>';
  assert.equal(r.stdout.split(page).length - 1, 2, report);

  // Every process the block started, the Ceph daemons and the two gateways, is gone.
  const byPid = [...r.seen.entries()];
  const cmds = byPid.flatMap(([pid, c]) => [...c].map((cmd) => `${pid} ${cmd}`));
  for (const daemon of ['ceph-mon', 'ceph-osd', 'radosgw'])
    assert.ok(
      cmds.some((c) => c.includes(daemon)),
      `${daemon} was never seen running:\n${cmds.join('\n')}`,
    );
  const gateways = byPid.filter(([, c]) => [...c].some((cmd) => /dist\/src\/cli\.js serve$/.test(cmd)));
  assert.equal(gateways.length, 2, cmds.join('\n'));
  assert.deepEqual(
    left.map((p) => `${p.pid} ${p.cmd}`),
    [],
    'processes the block started and did not stop',
  );
});
