/**
 * `npm run fuzz -- [--runs N] [--seed S] [target ...]`: every fuzz target (or the named ones:
 * xml, auth, chunked, policy, http, website) with N runs per property instead of the short
 * counts `npm test` uses. A failure prints fast-check's seed and counterexample; add the input
 * to test/fuzz/corpus/<target>.json so that every later run tries it first.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values, positionals } = parseArgs({
  options: { runs: { type: 'string', default: '100000' }, seed: { type: 'string' } },
  allowPositionals: true,
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write('usage: npm run fuzz -- [--runs N] [--seed S] [xml|auth|chunked|policy|http|website ...]\n');
  process.exit(2);
}
const all = readdirSync(here).filter((f) => f.endsWith('.test.js'));
const files = positionals.length === 0 ? all : positionals.map((t) => `${t}.test.js`);
for (const f of files) {
  if (!all.includes(f)) {
    process.stderr.write(`no fuzz target ${f.replace(/\.test\.js$/, '')} (have: ${all.join(', ')})\n`);
    process.exit(2);
  }
}
const env: NodeJS.ProcessEnv = { ...process.env, FUZZ_RUNS: String(runs) };
if (values.seed !== undefined) env['FUZZ_SEED'] = values.seed;
const r = spawnSync(process.execPath, ['--test', ...files.map((f) => path.join(here, f))], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
