/** A page of a key listing: objects and common prefixes merged in key order. */
export interface ListPage<T> {
  contents: T[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The last key or common prefix returned: where the next page starts (exclusive). */
  next: string | null;
}

export interface ListQuery {
  prefix: string;
  delimiter: string;
  /** Exclusive start (marker, start-after or a decoded continuation token). */
  after: string;
  maxKeys: number;
}

/** Rows with key > after and key >= from, in key order, at most `limit`. */
export type RowFetcher<T extends { key: string }> = (after: string, from: string, limit: number) => T[];

const BATCH = 1000;

/**
 * The smallest string greater than every string starting with `s`: bump the last code point.
 * Code-point order is UTF-8 byte order, which is how S3 (and SQLite's BINARY collation) sort.
 */
export function prefixSuccessor(s: string): string | null {
  const cps = Array.from(s);
  while (cps.length > 0) {
    const c = cps.pop()!.codePointAt(0)!;
    if (c < 0x10ffff) {
      const next = c + 1 === 0xd800 ? 0xe000 : c + 1;
      return cps.join('') + String.fromCodePoint(next);
    }
  }
  return null;
}

/** What a grouped walk lists: keys under `prefix`, rolled up at `delimiter`, at most `maxKeys` entries. */
export interface ListScope {
  prefix: string;
  delimiter: string;
  maxKeys: number;
}

/** Where a grouped walk stands in the rows of one listing, and what it does with what it finds. */
export interface GroupedWalk<T extends { key: string }> {
  /** The rows after the cursor, in listing order, at most `limit`. */
  fetch(limit: number): T[];
  /** A row is listed: the cursor moves past it. */
  listed(row: T): void;
  /** `row` rolled up into `commonPrefix`: the cursor jumps to the first key >= `from`, past the group. */
  rolledUp(commonPrefix: string, from: string, row: T): void;
}

/**
 * The delimiter / CommonPrefixes walk shared by ListObjects and ListObjectVersions
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html): rows under the
 * prefix, those containing the delimiter after the prefix rolled up into one common prefix
 * each, both counted against max-keys. A group is skipped in one query rather than row by row,
 * so a page costs O(page) even over millions of keys. Returns whether the page is truncated.
 */
export function walkGrouped<T extends { key: string }>(q: ListScope, walk: GroupedWalk<T>): boolean {
  if (q.maxKeys <= 0) return false;
  let count = 0;
  // After a roll-up only the next row is known to be needed (it may start another group): fetch
  // one, doubling back up to BATCH while plain rows follow, so a page of 1000 groups reads ~1000
  // rows instead of 1000 batches of 1000.
  let limit = BATCH;
  for (;;) {
    const rows = walk.fetch(limit);
    if (rows.length === 0) return false;
    let regroup = false;
    for (const row of rows) {
      if (!row.key.startsWith(q.prefix)) return false;
      const idx = q.delimiter ? row.key.indexOf(q.delimiter, q.prefix.length) : -1;
      if (count === q.maxKeys) return true;
      count++;
      if (idx >= 0) {
        const cp = row.key.slice(0, idx + q.delimiter.length);
        const succ = prefixSuccessor(cp);
        walk.rolledUp(cp, succ ?? cp, row);
        if (succ === null) return false;
        regroup = true;
        break;
      }
      walk.listed(row);
    }
    if (regroup) {
      limit = 1;
      continue;
    }
    if (rows.length < limit) return false;
    limit = Math.min(BATCH, limit * 2);
  }
}

/** Whether a marker is itself a common prefix of this listing (a previous page's NextMarker). */
export function isCommonPrefixMarker(q: ListScope, marker: string): boolean {
  if (!q.delimiter || !marker.startsWith(q.prefix) || marker.length <= q.prefix.length) return false;
  const idx = marker.indexOf(q.delimiter, q.prefix.length);
  return idx >= 0 && idx + q.delimiter.length === marker.length;
}

/** ListObjects: the grouped walk over current objects, cursor (after, from). */
export function listPage<T extends { key: string }>(fetch: RowFetcher<T>, q: ListQuery): ListPage<T> {
  const page: ListPage<T> = { contents: [], commonPrefixes: [], isTruncated: false, next: null };
  let after = q.after;
  let from = q.prefix;
  // A marker that is a common prefix resumes after the whole group.
  if (isCommonPrefixMarker(q, after)) from = maxString(from, prefixSuccessor(after) ?? after);
  page.isTruncated = walkGrouped(q, {
    fetch: (limit) => fetch(after, from, limit),
    listed: (row) => {
      page.contents.push(row);
      page.next = row.key;
      after = row.key;
    },
    rolledUp: (cp, succ, row) => {
      page.commonPrefixes.push(cp);
      page.next = cp;
      after = row.key;
      from = succ;
    },
  });
  return page;
}

function maxString(a: string, b: string): string {
  return a > b ? a : b;
}
