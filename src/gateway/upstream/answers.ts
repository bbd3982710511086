/**
 * RGW 16.2 answers the gateway completes before they reach the client (pure: no I/O): the
 * checksum the gateway verified on a PutObject or UploadPart, and the ETag RGW leaves empty in
 * a CompleteMultipartUpload result.
 */
import { S3_OPERATION_SUBRESOURCES } from '../../shared/s3-subresources.js';

const SUBRESOURCES: ReadonlySet<string> = new Set(S3_OPERATION_SUBRESOURCES);

function paramNames(query: string): string[] {
  return query
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const raw = p.split('=', 1)[0]!;
      try {
        return decodeURIComponent(raw);
      } catch {
        return raw;
      }
    });
}

function split(pathAndQuery: string): { path: string; names: string[] } {
  const q = pathAndQuery.indexOf('?');
  return q < 0
    ? { path: pathAndQuery, names: [] }
    : { path: pathAndQuery.slice(0, q), names: paramNames(pathAndQuery.slice(q + 1)) };
}

/**
 * PutObject and UploadPart (a PUT on a key naming no sub-resource, not a copy): AWS answers them
 * with the checksum it verified (API_PutObject.html, API_UploadPart.html, response
 * x-amz-checksum-*). `pathAndQuery` is path style, as forwarded to RGW.
 */
export function answersWithChecksum(method: string, pathAndQuery: string, copy: boolean): boolean {
  if (method !== 'PUT' || copy) return false;
  const { path, names } = split(pathAndQuery);
  return /^\/[^/]+\/./.test(path) && !names.some((n) => SUBRESOURCES.has(n));
}

/** CompleteMultipartUpload: POST /bucket/key?uploadId=... */
export function isCompleteUpload(method: string, pathAndQuery: string): boolean {
  const { path, names } = split(pathAndQuery);
  return method === 'POST' && /^\/[^/]+\/./.test(path) && names.includes('uploadId');
}

const EMPTY_ETAG = /<ETag\s*\/>|<ETag>\s*<\/ETag>/;

/** True for a CompleteMultipartUploadResult whose ETag is missing or empty. */
export function lacksEtag(xml: string): boolean {
  if (!xml.includes('<CompleteMultipartUploadResult')) return false;
  return EMPTY_ETAG.test(xml) || !xml.includes('<ETag>');
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The result with `etag` (quoted, as in the object's ETag header) as its ETag, spelled as AWS
 * spells it (`&quot;...-N&quot;`, API_CompleteMultipartUpload.html).
 */
export function withEtag(xml: string, etag: string): string {
  const element = `<ETag>${escapeXml(etag)}</ETag>`;
  if (EMPTY_ETAG.test(xml)) return xml.replace(EMPTY_ETAG, () => element);
  return xml.replace('</CompleteMultipartUploadResult>', () => `${element}</CompleteMultipartUploadResult>`);
}
