import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { compilePattern, patternAllowsPrefix, patternMatches } from './conditions.js';

/** The definition, as a regular expression: the oracle for the fast matcher (small inputs only). */
function oracle(pattern: string, text: string): boolean {
  const re = [...pattern]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${re}$`, 'su').test(text);
}

const matches = (pattern: string, text: string): boolean => patternMatches(compilePattern(pattern, 'literal')!, text);

test('glob: table of `*` and `?` cases', { timeout: 10_000 }, () => {
  const rows: Array<[string, string, boolean]> = [
    ['', '', true],
    ['', 'a', false],
    ['*', 'anything', true],
    ['?', 'x', true],
    ['?', 'xy', false],
    ['a*', 'b', false],
    ['*a', 'ba', true],
    ['*a', 'ab', false],
    ['a*a', 'a', false],
    ['a*a', 'aa', true],
    ['*ab*ab*', 'xabyab', true],
    ['*ab*ab*', 'xaby', false],
    ['*aab*', 'aaab', true],
    ['*abab*', 'abaabab', true],
    ['*a?c*', 'xxabc', true],
    ['*a?c*', 'xxacc', true],
    ['*a?c*', 'xxac', false],
    ['*?', '', false],
    ['?*?', 'ab', true],
    ['*b?', 'abab', false],
    ['*b?', 'abba', true],
    ['a*?', 'a', false],
    ['😀?', '😀😀', true],
    ['?', '😀', true],
    ['*x*y', 'yx', false],
    ['*x*y', 'xyy', true],
    ['*aaa?aaa*', 'aaaaaaa', true],
    ['*aaa?aaa*', 'aaaaaa', false],
  ];
  for (const [p, t, want] of rows) {
    assert.equal(oracle(p, t), want, `oracle ${p} ~ ${t}`);
    assert.equal(matches(p, t), want, `${p} ~ ${t}`);
  }
});

test('glob: agrees with the regular expression on random small inputs', { timeout: 20_000 }, () => {
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const pick = (alphabet: string, len: number): string =>
    Array.from({ length: len }, () => alphabet[rnd(alphabet.length)]).join('');
  for (let i = 0; i < 5000; i++) {
    const p = pick('ab*?', rnd(8));
    const t = pick('ab', rnd(10));
    assert.equal(matches(p, t), oracle(p, t), `${p} ~ ${t}`);
  }
  // Segments longer than one 32-bit word exercise the multi-word shift-and.
  for (let i = 0; i < 300; i++) {
    const p = `*${pick('ab?', 40 + rnd(40))}*`;
    const t = pick('ab', 150);
    assert.equal(matches(p, t), oracle(p, t), `${p} ~ ${t}`);
  }
});

test('glob: prefixes', { timeout: 30_000 }, () => {
  const rows: Array<[string, string, boolean]> = [
    ['abc', 'ab', true],
    ['abc', 'abc', true],
    ['abc', 'abcd', false],
    ['a?c', 'ax', true],
    ['ab*', 'abzzz', true],
    ['ab*', 'ax', false],
    ['*', 'x', true],
    ['a*b', 'aaaa', true],
    ['x?*', 'y', false],
  ];
  for (const [p, t, want] of rows)
    assert.equal(patternAllowsPrefix(compilePattern(p, 'literal')!, t), want, `${p} prefix ${t}`);
});

/**
 * The attack from the hardening probe (issue 12): `*a` repeated against a long Referer. The old
 * NFA cost |pattern| x |text| steps with an allocation per character; these sizes took minutes.
 * It runs in a worker so that the test's timeout can fire while the matcher is busy; the answers
 * must still be right: no `b` in the text, then one at the very end.
 */
test('glob: many stars against a long text stay correct (attack input)', { timeout: 15_000 }, async () => {
  const conditions = new URL('./conditions.js', import.meta.url).href;
  const worker = new Worker(
    `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(conditions)}).then(({ compilePattern, patternMatches, parseConditionBlock, evaluateCondition }) => {
      const matches = (p, t) => patternMatches(compilePattern(p, 'literal'), t);
      const text = 'a'.repeat(120000);
      const stars = '*a'.repeat(50000) + '*b';
      const wild = '*a?'.repeat(20000) + '*b';
      const [cond] = parseConditionBlock({ StringLike: { 'aws:Referer': '*a'.repeat(9000) + '*b' } });
      parentPort.postMessage([
        matches(stars, text), matches(stars, text + 'b'), matches(stars, 'a'.repeat(49999) + 'b'),
        matches(wild, text), matches(wild, text + 'b'),
        evaluateCondition(cond, { 'aws:referer': 'a'.repeat(15000) }, 'literal'),
        evaluateCondition(cond, { 'aws:referer': 'a'.repeat(15000) + 'b' }, 'literal'),
      ]);
    });`,
    { eval: true },
  );
  worker.unref();
  try {
    const [answers] = (await once(worker, 'message')) as [boolean[]];
    assert.deepEqual(answers, [false, true, false, false, true, false, true]);
  } finally {
    await worker.terminate();
  }
});
