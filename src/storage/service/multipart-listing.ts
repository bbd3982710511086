import type { MultipartRepo, UploadInfo } from '../meta/multipart-repo.js';
import { prefixSuccessor } from './listing.js';

export interface UploadListQuery {
  prefix: string;
  delimiter: string;
  /** Resume after this key; with uploadIdMarker, after that upload of this key. */
  keyMarker: string;
  uploadIdMarker: string;
  maxUploads: number;
}

export interface UploadListPage {
  uploads: UploadInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** NextKeyMarker / NextUploadIdMarker: the last upload or common prefix returned (upload id '' for a prefix). */
  nextKeyMarker: string;
  nextUploadIdMarker: string;
}

const BATCH = 1000;

/**
 * ListMultipartUploads (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html):
 * uploads in key order, then by initiation time; keys containing the delimiter after the prefix
 * rolled up into common prefixes, both counted against max-uploads. Unlike objects, one key may
 * have several uploads, so the cursor is (key, initiated, id) rather than the key alone.
 */
export function listUploadsPage(meta: MultipartRepo, bucket: string, q: UploadListQuery): UploadListPage {
  const page: UploadListPage = {
    uploads: [],
    commonPrefixes: [],
    isTruncated: false,
    nextKeyMarker: '',
    nextUploadIdMarker: '',
  };
  if (q.maxUploads <= 0) return page;
  // Without an upload-id marker (or with one that no longer exists) the listing resumes after the
  // whole key; the upload-id marker is ignored without a key marker, as on AWS.
  let cursor = { key: q.keyMarker, initiated: Number.MAX_SAFE_INTEGER, id: '' };
  if (q.keyMarker === '') cursor = { key: '', initiated: -1, id: '' };
  else if (q.uploadIdMarker !== '') {
    const marker = meta.upload(q.uploadIdMarker);
    if (marker && marker.bucket === bucket && marker.key === q.keyMarker)
      cursor = { key: marker.key, initiated: marker.initiated.getTime(), id: marker.id };
  }
  let from = q.prefix;
  // A key marker that is a common prefix (a previous page's NextKeyMarker) resumes after its whole group.
  if (q.delimiter && q.keyMarker.startsWith(q.prefix) && q.keyMarker.endsWith(q.delimiter)) {
    const idx = q.keyMarker.indexOf(q.delimiter, q.prefix.length);
    if (idx >= 0 && idx + q.delimiter.length === q.keyMarker.length)
      from = maxString(from, prefixSuccessor(q.keyMarker) ?? q.keyMarker);
  }
  let count = 0;
  for (;;) {
    const rows = meta.listUploads(bucket, cursor, from, BATCH);
    let regroup = false;
    for (const u of rows) {
      if (!u.key.startsWith(q.prefix)) return page;
      if (count === q.maxUploads) {
        page.isTruncated = true;
        return page;
      }
      count++;
      cursor = { key: u.key, initiated: u.initiated.getTime(), id: u.id };
      const idx = q.delimiter ? u.key.indexOf(q.delimiter, q.prefix.length) : -1;
      if (idx >= 0) {
        const cp = u.key.slice(0, idx + q.delimiter.length);
        page.commonPrefixes.push(cp);
        page.nextKeyMarker = cp;
        page.nextUploadIdMarker = '';
        const succ = prefixSuccessor(cp);
        if (succ === null) return page;
        from = succ;
        regroup = true;
        break;
      }
      page.uploads.push(u);
      page.nextKeyMarker = u.key;
      page.nextUploadIdMarker = u.id;
    }
    if (!regroup && rows.length < BATCH) return page;
  }
}

function maxString(a: string, b: string): string {
  return a > b ? a : b;
}
