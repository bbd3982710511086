import { CURRENT_SEQ, type StoredVersion } from '../meta/version-repo.js';
import type { VersionInfo } from '../types.js';
import { versionIdStamp } from './ids.js';
import { isCommonPrefixMarker, prefixSuccessor, walkGrouped } from './listing.js';

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
 * keys in order, each key's versions newest first, delete markers included, through the
 * grouped walk of ListObjects (walkGrouped). `seqOfMarker` finds where the version-id-marker sits in the key's
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
  // A key-marker that is a common prefix resumes after the whole group.
  if (isCommonPrefixMarker(q, afterKey)) {
    const succ = prefixSuccessor(afterKey);
    if (succ === null) return page;
    if (succ > start) start = succ;
  }
  page.isTruncated = walkGrouped(q, {
    fetch: (limit) => fetch(start, afterKey, afterSeq, limit),
    listed: (row) => {
      const { seq: _seq, ...version } = row;
      page.versions.push(version);
      page.nextKeyMarker = row.key;
      page.nextVersionIdMarker = row.versionId;
      afterKey = row.key;
      afterSeq = row.seq;
    },
    rolledUp: (cp, succ) => {
      page.commonPrefixes.push(cp);
      page.nextKeyMarker = cp;
      page.nextVersionIdMarker = null;
      start = succ;
      afterKey = '';
      afterSeq = -1;
    },
  });
  return page;
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
