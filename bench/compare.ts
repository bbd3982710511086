/**
 * Scenario a (one cached 4 KiB page, wrk -t1 -c32) for this build against another build of
 * Cellar, paired, so that a change's cost on the hot path is measured and not guessed:
 *
 *   git worktree add --detach ../cellar-base <rev> && (cd ../cellar-base && npm ci && npm run build)
 *   npm run bench:compare -- --baseline ../cellar-base [--starts 4] [--rounds 8] [--seconds 5] [--together]
 *
 * Sequential (default): each round samples both servers one after the other, in alternating
 * order; the ratio is taken per round, then its median, so the machine's drift between rounds
 * cancels out. --together: both servers are loaded at once on the same core; the scheduler gives
 * each the same CPU time, so the throughput ratio is the ratio of CPU cost per request, which is
 * far less sensitive to a noisy host (an A/A run gives 0.98-1.0).
 *
 * --starts: both servers are started afresh this many times. The JIT's choices differ from one
 * process to the next, and with them a build's speed by a few percent: one start's rounds agree
 * with each other, yet two starts of the same builds gave ratios 8% apart. The per-start medians
 * show that spread; the ratio reported is the median over every round of every start.
 *
 * Both builds run from their own dist/ with the same settings (access log to a file, as in
 * production and in scenario a). Nothing here asserts a timing.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startCellar, type CellarServer } from './lib/cellar.js';
import { installSignalHandlers } from './lib/proc.js';
import { median } from './lib/stats.js';
import { wrk } from './lib/wrk.js';
import { PAGE_PATH, publishSite, SITE_BUCKET, writeSiteRoot } from './scenarios/site.js';

const { values } = parseArgs({
  options: {
    baseline: { type: 'string' },
    rounds: { type: 'string', default: '8' },
    starts: { type: 'string', default: '1' },
    seconds: { type: 'string', default: '5' },
    together: { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
  },
});
if (values.baseline === undefined) {
  process.stderr.write(
    'usage: npm run bench:compare -- --baseline <checkout with dist/> [--starts K] [--rounds N] [--seconds S] [--together]\n',
  );
  process.exit(2);
}
const rounds = Number(values.rounds);
const starts = Number(values.starts);
const seconds = Number(values.seconds);
const pin = !values['no-pin'];
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const work = path.join(repoRoot, '.bench', 'compare');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
installSignalHandlers();

const builds = [
  { name: 'baseline', root: path.resolve(values.baseline) },
  { name: 'this build', root: repoRoot },
];
const page = writeSiteRoot(path.join(work, 'www'));

/** One start of both servers: `rounds` paired samples of each, as [baseline, this build] rates. */
async function session(start: number): Promise<number[][]> {
  const servers: CellarServer[] = [];
  try {
    for (const [i, b] of builds.entries()) {
      const dataDir = path.join(work, `cellar-${i}`);
      rmSync(dataDir, { recursive: true, force: true });
      const server = await startCellar({ repoRoot: b.root, dataDir, cpus: pin ? '0' : null });
      servers.push(server);
      await publishSite(server, page);
    }
    const sample = (s: CellarServer, secs: number) =>
      wrk({
        url: `http://127.0.0.1:${s.port}${PAGE_PATH}`,
        host: `${SITE_BUCKET}.localhost:${s.port}`,
        connections: 32,
        seconds: secs,
        cpus: pin ? '1' : null,
        serverPids: [s.daemon.pid],
      });
    for (const server of servers) await sample(server, 2);
    const rates: number[][] = servers.map(() => []);
    for (let r = 0; r < rounds; r++) {
      if (values.together) {
        const results = await Promise.all(servers.map((server) => sample(server, seconds)));
        for (const [i, w] of results.entries()) rates[i]!.push(w.requestsPerSec);
      } else {
        const order = r % 2 === 0 ? [0, 1] : [1, 0];
        for (const i of order) rates[i]!.push((await sample(servers[i]!, seconds)).requestsPerSec);
      }
      process.stdout.write(
        `start ${start + 1} round ${r + 1}: ${rates.map((x) => Math.round(x[r]!)).join(' vs ')} req/s\n`,
      );
    }
    return rates;
  } finally {
    for (const server of servers) await server.stop();
  }
}

const all: number[][] = builds.map(() => []);
const perStart: number[] = [];
for (let start = 0; start < starts; start++) {
  const rates = await session(start);
  for (const [i, r] of rates.entries()) all[i]!.push(...r);
  perStart.push(median(rates[1]!.map((v, i) => v / rates[0]![i]!)));
}
const ratios = all[1]!.map((v, i) => v / all[0]![i]!);
process.stdout.write(
  `\nscenario a, ${values.together ? 'both loaded together' : 'sequential'}, ${starts} start(s) of ${rounds} rounds of ${seconds} s:\n` +
    `  baseline   ${Math.round(median(all[0]!))} req/s (median)\n` +
    `  this build ${Math.round(median(all[1]!))} req/s (median)\n` +
    `  ratio      ${median(ratios).toFixed(3)} (median of per-round ratios)\n` +
    `  per start  ${perStart.map((x) => x.toFixed(3)).join(' ')}\n`,
);
