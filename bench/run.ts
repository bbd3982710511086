/**
 * `npm run bench`: every scenario of issue 7 against its reference system, in this one
 * invocation, interleaved A B A B, medians printed as a table with ratios.
 *
 *   node dist/bench/run.js [--only a,c] [--rounds N] [--quick] [--no-pin] [--cpu-prof]
 *
 * CPU plan (2 cores): the servers (Cellar, nginx, Caddy, the Ceph daemons) run on core 0 and
 * the load generators (wrk -t1, the Node S3 client, which is this process) on core 1, so a
 * client never steals the server's CPU. --no-pin leaves placement to the kernel.
 *
 * Exit status: 0 when every selected scenario ran (whatever the numbers), 1 when one could not
 * run (its row says FAILED), 2 on usage errors. Timing targets are reported, never asserted.
 */
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeDirs, type BenchContext, type Scenario } from './lib/context.js';
import { ensurePackages, type Need } from './lib/install.js';
import { cleanupDepth, commandExists, installSignalHandlers, run, runCleanups, type CpuPlan } from './lib/proc.js';
import { describeMachine, errorRow, renderTable, type Row } from './lib/report.js';
import { cachedPage } from './scenarios/a-cached-page.js';
import { manyObjects } from './scenarios/b-many-objects.js';
import { smallS3 } from './scenarios/c-small-s3.js';
import { largeObjects } from './scenarios/d-large-objects.js';
import { listing } from './scenarios/e-listing.js';
import { https } from './scenarios/f-https.js';
import { upstream } from './scenarios/g-upstream.js';
import { freshness } from './scenarios/h-freshness.js';

const SCENARIOS: Scenario[] = [cachedPage, manyObjects, smallS3, largeObjects, listing, https, upstream, freshness];

/** dist/bench/run.js -> the repository root. */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function usage(msg: string): never {
  process.stderr.write(
    `${msg}\nusage: npm run bench -- [--only a,b,c,d,e,f,g,h] [--rounds N (>= 1, default 3)] [--quick] [--no-pin] [--cpu-prof]\n`,
  );
  process.exit(2);
}

async function cpuPlan(pin: boolean): Promise<CpuPlan> {
  const n = cpus().length;
  if (!pin || n < 2 || !(await commandExists('taskset'))) return { server: null, client: null };
  const plan = { server: '0', client: n === 2 ? '1' : `1-${n - 1}` };
  // This process is the S3 load generator of scenarios c-e: move it (all threads) to the client side.
  const r = await run('taskset', ['-a', '-p', '-c', plan.client, String(process.pid)]);
  if (r.code !== 0) {
    log(`cannot pin CPUs (${r.stderr.trim()}); running unpinned`);
    return { server: null, client: null };
  }
  return plan;
}

async function main(): Promise<number> {
  const parse = () =>
    parseArgs({
      options: {
        only: { type: 'string' },
        rounds: { type: 'string' },
        quick: { type: 'boolean', default: false },
        'no-pin': { type: 'boolean', default: false },
        'cpu-prof': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }).values;
  let values: ReturnType<typeof parse>;
  try {
    values = parse();
  } catch (e) {
    usage((e as Error).message);
  }
  if (values.help) usage('Cellar benchmarks');
  const ids =
    values.only === undefined
      ? SCENARIOS.map((s) => s.id)
      : values.only
          .split(',')
          .map((s) => s.trim().toLowerCase())
          .filter(Boolean);
  const unknown = ids.filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length > 0 || ids.length === 0) usage(`unknown scenario(s): ${unknown.join(', ') || '(none)'}`);
  const rounds = values.rounds === undefined ? 3 : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) usage(`--rounds must be a positive integer, got ${values.rounds}`);
  const selected = SCENARIOS.filter((s) => ids.includes(s.id));

  installSignalHandlers();
  const workDir = path.join(REPO_ROOT, '.bench');
  const dirs = makeDirs(workDir);
  try {
    const needs: Need[] = [
      { cmd: 'taskset', pkg: 'util-linux' },
      { cmd: 'openssl', pkg: 'openssl' },
    ];
    for (const s of selected) needs.push(...s.needs);
    await ensurePackages(needs, log);
  } catch (e) {
    log(`cannot install what the bench needs: ${(e as Error).message}`);
    return 1;
  }
  const cpu = await cpuPlan(!values['no-pin']);
  const ctx: BenchContext = {
    repoRoot: REPO_ROOT,
    workDir,
    rounds,
    quick: values.quick,
    cpus: cpu,
    log,
    cellarNodeArgs: values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.join(workDir, 'profiles')}`] : [],
    scratch: dirs.scratch,
    cache: dirs.cache,
  };
  log(
    cpu.server === null
      ? 'CPU placement: unpinned'
      : `CPU placement: servers on core ${cpu.server}, load generators on core ${cpu.client}`,
  );

  const rows: Row[] = [];
  let ran = 0;
  for (const s of selected) {
    log(`scenario ${s.id}: ${s.title}`);
    const depth = cleanupDepth();
    const t0 = Date.now();
    try {
      rows.push(...(await s.run(ctx)));
      ran++;
    } catch (e) {
      log(`scenario ${s.id} failed: ${(e as Error).stack ?? String(e)}`);
      rows.push(errorRow(`${s.id}) ${s.title}`, e));
    } finally {
      await runCleanups(depth);
    }
    log(`scenario ${s.id} took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  dirs.cleanScratch();
  // Described after the run: the scenarios may have installed some of the reference systems.
  const machine = await describeMachine();

  const header = [
    `Cellar bench: ${rounds} interleaved round(s) per pair, medians${values.quick ? ', QUICK mode (shorter runs, smaller data: not comparable to a full run)' : ''}`,
    machine,
    cpu.server === null
      ? 'CPU placement: unpinned'
      : `CPU placement: servers on core ${cpu.server}, load generators on core ${cpu.client}`,
  ].join('\n');
  process.stdout.write(`\n${header}\n\n${renderTable(rows)}\n`);
  // A scenario that could not be measured is a bench that could not run (missed targets are not).
  return ran === selected.length ? 0 : 1;
}

main().then(
  async (code) => {
    await runCleanups();
    process.exit(code);
  },
  async (e: unknown) => {
    log(`bench could not run: ${(e as Error).stack ?? String(e)}`);
    await runCleanups();
    process.exit(1);
  },
);
