/**
 * Shared settings of the fuzz targets (issue 12, scope 5): property-based tests with fast-check
 * over the parsers a remote client feeds. `npm test` runs each target briefly (its own numRuns,
 * about a minute for all of them on a loaded 2-core machine); `npm run fuzz -- --runs N` (or
 * FUZZ_RUNS=N) runs every target N times, FUZZ_SEED=S replays a seed fast-check printed.
 *
 * The corpus (test/fuzz/corpus/<target>.json) holds inputs worth keeping: crashes found before,
 * edge cases the generators rarely reach. Every entry is fed to its property as an example,
 * before the random runs, in every run.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';

/** dist/test/fuzz/ -> test/fuzz/corpus (JSON files are read from the sources, not copied). */
const CORPUS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fuzz/corpus');

const envRuns = Number(process.env['FUZZ_RUNS'] ?? '');
const envSeed = process.env['FUZZ_SEED'];

/** Runs of one property: the target's short default, or FUZZ_RUNS when set. */
export function runs(short: number): number {
  return Number.isInteger(envRuns) && envRuns > 0 ? envRuns : short;
}

/** A test timeout that grows with FUZZ_RUNS: a long run must not be cut as if it were a hang. */
export function timeout(shortMs = 60_000): number {
  return Number.isInteger(envRuns) && envRuns > 0 ? Math.max(shortMs, envRuns * 20) : shortMs;
}

/**
 * The corpus entries of `name`; each is the tuple of arguments of one example. JSON has no
 * undefined: the string "(undefined)" stands for it (an absent header, say).
 */
export function corpus<T extends unknown[]>(name: string): T[] {
  const file = path.join(CORPUS_DIR, `${name}.json`);
  const entries = JSON.parse(readFileSync(file, 'utf8'), (_k, v: unknown) => (v === '(undefined)' ? undefined : v)) as {
    input: T;
  }[];
  return entries.map((e) => e.input);
}

/** fc.assert with the run count, seed and corpus of this target. */
export function check<T extends unknown[]>(
  property: fc.IProperty<T> | fc.IAsyncProperty<T>,
  o: { runs: number; corpus?: string },
): void | Promise<void> {
  const params: fc.Parameters<T> = { numRuns: runs(o.runs) };
  if (o.corpus !== undefined) params.examples = corpus<T>(o.corpus);
  if (envSeed !== undefined && envSeed !== '') params.seed = Number(envSeed);
  return fc.assert(property as fc.IProperty<T>, params) as void | Promise<void>;
}

/** Strings over the whole of Unicode, control characters and lone surrogates included. */
export const anyString = (maxLength = 200): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'binary-ascii', maxLength }),
    fc.string({ maxLength }),
  );

/** Strings built from tokens that matter to a parser, glued with arbitrary text. */
export const tokenString = (tokens: readonly string[], maxTokens = 40): fc.Arbitrary<string> =>
  fc
    .array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...tokens) }, { weight: 1, arbitrary: anyString(8) }), {
      maxLength: maxTokens,
    })
    .map((parts) => parts.join(''));
