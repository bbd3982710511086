import { CURRENT_SEQ, type StoredVersion } from '../meta/version-repo.js';
import type { VersionInfo } from '../types.js';
import { versionIdStamp } from './ids.js';
import { prefixSuccessor } from './listing.js';

export interface VersionListQuery {
  prefix: string;
  delimiter: string;
  /** key-marker: the listing starts after this key, or inside it when `versionIdMarker` is set. */
  keyMarker: string;
  versionIdMarker: string | null;
  maxKeys: number;
}

export interface VersionListPage {
  versions: VersionInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker: string | null;
  /** Null when the page ends with a common prefix. */
  nextVersionIdMarker: string | null;
}

/** Versions with key >= `start` after the cursor (afterKey, afterSeq), in listing order, at most `limit`. */
export type VersionFetcher = (start: string, afterKey: string, afterSeq: number, limit: number) => StoredVersion[];

const BATCH = 1000;

/**
 * ListObjectVersions (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html):
 * keys in order, each key's versions newest first, delete markers included; keys with the
 * delimiter after the prefix roll up into one common prefix each. Versions and common prefixes
 * both count against max-keys. `seqOfMarker` finds where the version-id-marker sits in the key's
 * history (null when that version is gone: see resumeAfterMissing).
 */
export function listVersionsPage(
  fetch: VersionFetcher,
  q: VersionListQuery,
  seqOfMarker: (key: string, versionId: string) => number | null,
): VersionListPage {
  const page: VersionListPage = {
    versions: [],
    commonPrefixes: [],
    isTruncated: false,
    nextKeyMarker: null,
    nextVersionIdMarker: null,
  };
  if (q.maxKeys <= 0) return page;
  let start = q.prefix;
  let afterKey = q.keyMarker;
  // -1: nothing of the marker key is listed again.
  let afterSeq = -1;
  if (q.versionIdMarker !== null && q.keyMarker !== '')
    afterSeq = seqOfMarker(q.keyMarker, q.versionIdMarker) ?? resumeAfterMissing(fetch, q.keyMarker, q.versionIdMarker);
  // A key-marker that is itself a common prefix (a previous page's NextKeyMarker) resumes after the whole group.
  if (q.delimiter && afterKey.startsWith(q.prefix) && afterKey.length > q.prefix.length) {
    const idx = afterKey.indexOf(q.delimiter, q.prefix.length);
    if (idx >= 0 && idx + q.delimiter.length === afterKey.length) {
      const succ = prefixSuccessor(afterKey);
      if (succ === null) return page;
      if (succ > start) start = succ;
    }
  }
  let count = 0;
  let limit = BATCH;
  for (;;) {
    const rows = fetch(start, afterKey, afterSeq, limit);
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
        page.nextKeyMarker = cp;
        page.nextVersionIdMarker = null;
        const succ = prefixSuccessor(cp);
        if (succ === null) return page;
        start = succ;
        afterKey = '';
        afterSeq = -1;
        regroup = true;
        break;
      }
      const { seq: _seq, ...version } = row;
      page.versions.push(version);
      page.nextKeyMarker = row.key;
      page.nextVersionIdMarker = row.versionId;
      afterKey = row.key;
      afterSeq = row.seq;
    }
    if (regroup) {
      limit = 1;
      continue;
    }
    if (rows.length < limit) return page;
    limit = Math.min(BATCH, limit * 2);
  }
}

/**
 * The cursor `seq` for a version-id-marker whose version was deleted after the page that named
 * it: the listing goes on with the first remaining version of the key older than it, by the
 * stamps in version ids, so nothing already listed comes again. A `null` version has no stamp:
 * its Last-Modified stands in, counted newer than any stamp of the same millisecond (skipping it
 * rather than listing it twice). A `null` marker cannot be placed: the key is listed again from
 * its newest version (so is, almost surely, a marker issued before ids carried stamps).
 */
export function resumeAfterMissing(fetch: VersionFetcher, key: string, versionIdMarker: string): number {
  const relist = CURRENT_SEQ + 1;
  const marker = versionIdMarker === 'null' ? null : versionIdStamp(versionIdMarker);
  if (marker === null) return relist;
  let afterSeq = relist;
  for (;;) {
    const rows = fetch(key, key, afterSeq, BATCH).filter((r) => r.key === key);
    for (const row of rows) {
      const stamp =
        row.versionId === 'null'
          ? (BigInt(row.lastModified.getTime()) << 16n) | 0xffffn
          : (versionIdStamp(row.versionId) ?? 0n);
      if (stamp < marker) return row.seq + 1;
    }
    if (rows.length < BATCH) return -1;
    afterSeq = rows.at(-1)!.seq;
  }
}
