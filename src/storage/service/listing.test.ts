import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listPage, prefixSuccessor, type ListQuery } from './listing.js';

function fetcherOver(keys: string[]) {
  const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  let queries = 0;
  const fetch = (after: string, from: string, limit: number) => {
    queries++;
    return sorted
      .filter((k) => k > after && k >= from)
      .slice(0, limit)
      .map((key) => ({ key }));
  };
  return { fetch, queries: () => queries };
}

/** Walks all pages the way a client would, feeding `next` back as the marker. */
function listAll(keys: string[], q: Omit<ListQuery, 'after'>) {
  const { fetch } = fetcherOver(keys);
  const out: string[] = [];
  let after = '';
  for (let pages = 0; pages < 1000; pages++) {
    const p = listPage(fetch, { ...q, after });
    const merged = [...p.contents.map((c) => c.key), ...p.commonPrefixes].sort();
    out.push(...merged);
    if (!p.isTruncated) return out;
    assert.ok(p.next, 'truncated page has a next marker');
    after = p.next!;
  }
  throw new Error('did not terminate');
}

const keys = [
  'a',
  'b/1',
  'b/2',
  'b/3/x',
  'c',
  'd/e/f',
  'd/g',
  'dx',
  'e',
  'photos/2024/a.jpg',
  'photos/2024/b.jpg',
  'photos/2025/c.jpg',
  'photos/index.html',
];

const cases: { name: string; q: Omit<ListQuery, 'after'>; expected: string[] }[] = [
  { name: 'no delimiter lists every key', q: { prefix: '', delimiter: '', maxKeys: 1000 }, expected: [...keys].sort() },
  {
    name: 'delimiter rolls up groups',
    q: { prefix: '', delimiter: '/', maxKeys: 1000 },
    expected: ['a', 'b/', 'c', 'd/', 'dx', 'e', 'photos/'],
  },
  {
    name: 'prefix + delimiter',
    q: { prefix: 'photos/', delimiter: '/', maxKeys: 1000 },
    expected: ['photos/2024/', 'photos/2025/', 'photos/index.html'],
  },
  {
    name: 'prefix without delimiter',
    q: { prefix: 'd', delimiter: '', maxKeys: 1000 },
    expected: ['d/e/f', 'd/g', 'dx'],
  },
  {
    name: 'prefix not ending at a boundary',
    q: { prefix: 'photos/20', delimiter: '/', maxKeys: 1000 },
    expected: ['photos/2024/', 'photos/2025/'],
  },
  {
    name: 'multi-char delimiter',
    q: { prefix: '', delimiter: '/2', maxKeys: 1000 },
    expected: ['a', 'b/1', 'b/2', 'b/3/x', 'c', 'd/e/f', 'd/g', 'dx', 'e', 'photos/2', 'photos/index.html'],
  },
  { name: 'prefix matching nothing', q: { prefix: 'zzz', delimiter: '/', maxKeys: 1000 }, expected: [] },
];

for (const c of cases) {
  for (const maxKeys of [1, 2, 3, 1000]) {
    test(`${c.name} (max-keys ${maxKeys}, paginated)`, { timeout: 30_000 }, () => {
      assert.deepEqual(listAll(keys, { ...c.q, maxKeys }), c.expected);
    });
  }
}

test('common prefixes count against max-keys and truncate', { timeout: 30_000 }, () => {
  const { fetch } = fetcherOver(keys);
  const p = listPage(fetch, { prefix: '', delimiter: '/', after: '', maxKeys: 2 });
  assert.deepEqual(
    p.contents.map((c) => c.key),
    ['a'],
  );
  assert.deepEqual(p.commonPrefixes, ['b/']);
  assert.equal(p.isTruncated, true);
  assert.equal(p.next, 'b/');
});

test('a page that ends exactly at the last key is not truncated', { timeout: 30_000 }, () => {
  const { fetch } = fetcherOver(['a', 'b']);
  const p = listPage(fetch, { prefix: '', delimiter: '', after: '', maxKeys: 2 });
  assert.equal(p.isTruncated, false);
});

test('marker inside a group resumes inside it; marker equal to a group skips it', { timeout: 30_000 }, () => {
  const { fetch } = fetcherOver(keys);
  assert.deepEqual(listPage(fetch, { prefix: '', delimiter: '/', after: 'b/', maxKeys: 100 }).commonPrefixes, [
    'd/',
    'photos/',
  ]);
  const inside = listPage(fetch, { prefix: '', delimiter: '/', after: 'b/1', maxKeys: 100 });
  assert.deepEqual(inside.commonPrefixes[0], 'b/');
});

test('max-keys 0 returns an empty, untruncated page', { timeout: 30_000 }, () => {
  const { fetch } = fetcherOver(keys);
  const p = listPage(fetch, { prefix: '', delimiter: '', after: '', maxKeys: 0 });
  assert.deepEqual([p.contents.length, p.commonPrefixes.length, p.isTruncated], [0, 0, false]);
});

test('a big group is skipped with a bounded number of queries', { timeout: 30_000 }, () => {
  const many = Array.from({ length: 5000 }, (_, i) => `big/${String(i).padStart(5, '0')}`).concat(['z']);
  const f = fetcherOver(many);
  const p = listPage(f.fetch, { prefix: '', delimiter: '/', after: '', maxKeys: 1000 });
  assert.deepEqual(p.commonPrefixes, ['big/']);
  assert.deepEqual(
    p.contents.map((c) => c.key),
    ['z'],
  );
  assert.ok(f.queries() <= 3, `queries: ${f.queries()}`);
});

test('unicode keys sort in UTF-8 byte order', { timeout: 30_000 }, () => {
  const ks = ['é', 'z', '日本', 'a', '\u{1F600}'];
  assert.deepEqual(listAll(ks, { prefix: '', delimiter: '', maxKeys: 2 }), ['a', 'z', 'é', '日本', '\u{1F600}'].sort());
});

test('prefixSuccessor', { timeout: 30_000 }, () => {
  assert.equal(prefixSuccessor('a/'), 'a0');
  assert.equal(prefixSuccessor('abc'), 'abd');
  assert.equal(prefixSuccessor('a\u{10FFFF}'), 'b');
  assert.equal(prefixSuccessor('\u{D7FF}'), '\u{E000}');
  assert.equal(prefixSuccessor(''), null);
});
