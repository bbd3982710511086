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

/**
 * ListObjects semantics (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html):
 * keys under `prefix`, those containing `delimiter` after the prefix rolled up into one common
 * prefix each, both counted against max-keys. A group is skipped in one query rather than
 * key by key, so a page costs O(page) even over millions of keys.
 */
export function listPage<T extends { key: string }>(fetch: RowFetcher<T>, q: ListQuery): ListPage<T> {
  const page: ListPage<T> = { contents: [], commonPrefixes: [], isTruncated: false, next: null };
  if (q.maxKeys <= 0) return page;
  let after = q.after;
  let from = q.prefix;
  // A marker that is itself a common prefix (a previous page's NextMarker) resumes after the whole group.
  if (q.delimiter && after.startsWith(q.prefix) && after.length > q.prefix.length) {
    const idx = after.indexOf(q.delimiter, q.prefix.length);
    if (idx >= 0 && idx + q.delimiter.length === after.length) from = maxString(from, prefixSuccessor(after) ?? after);
  }
  let count = 0;
  // After a roll-up only the next row is known to be needed (it may start another group): fetch
  // one, doubling back up to BATCH while plain keys follow, so a page of 1000 groups reads ~1000
  // rows instead of 1000 batches of 1000.
  let limit = BATCH;
  for (;;) {
    const rows = fetch(after, from, limit);
    if (rows.length === 0) return page;
    let regroup = false;
    for (const row of rows) {
      if (!row.key.startsWith(q.prefix)) return page;
      const idx = q.delimiter ? row.key.indexOf(q.delimiter, q.prefix.length) : -1;
      if (count === q.maxKeys) {
        page.isTruncated = true;
        return page;
      }
      count++;
      if (idx >= 0) {
        const cp = row.key.slice(0, idx + q.delimiter.length);
        page.commonPrefixes.push(cp);
        page.next = cp;
        const succ = prefixSuccessor(cp);
        if (succ === null) return page;
        after = row.key;
        from = succ;
        regroup = true;
        break;
      }
      page.contents.push(row);
      page.next = row.key;
      after = row.key;
    }
    if (regroup) {
      limit = 1;
      continue;
    }
    if (rows.length < limit) return page;
    limit = Math.min(BATCH, limit * 2);
  }
}

function maxString(a: string, b: string): string {
  return a > b ? a : b;
}
