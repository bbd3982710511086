// Uploads with progress. A file up to MULTIPART_ABOVE goes in one PUT; a larger one is cut
// with Blob.slice into parts of PART_SIZE (S3's minimum part is 5 MiB) sent one after the
// other, so the browser never reads a whole file into memory either.
import { ApiFailure, CSRF_HEADERS, OWNER_API, api } from './api.js';

export const PART_SIZE = 8 * 1024 * 1024;
export const MULTIPART_ABOVE = 16 * 1024 * 1024;

/** PUTs `blob` with XMLHttpRequest, the only browser API that reports upload progress. */
function put(url, blob, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    for (const [k, v] of Object.entries(CSRF_HEADERS)) xhr.setRequestHeader(k, v);
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', (e) => onProgress(e.loaded));
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.response);
      else {
        const e = xhr.response?.error;
        reject(new ApiFailure(xhr.status, e?.code ?? String(xhr.status), e?.message ?? `HTTP ${xhr.status}`));
      }
    });
    xhr.addEventListener('error', () => reject(new Error('the connection failed')));
    xhr.addEventListener('abort', () => reject(new Error('the upload was cancelled')));
    xhr.send(blob);
  });
}

/** Uploads `file` to `bucket` under its name; `onProgress(bytesSent)`. */
export async function uploadFile(bucket, file, onProgress) {
  const base = `${OWNER_API}/buckets/${encodeURIComponent(bucket)}`;
  const key = file.webkitRelativePath || file.name;
  const q = `?key=${encodeURIComponent(key)}`;
  if (file.size <= MULTIPART_ABOVE) return put(`${base}/objects${q}`, file, onProgress);

  const { uploadId } = await api('POST', `/buckets/${encodeURIComponent(bucket)}/uploads`, {
    key,
    contentType: file.type,
  });
  const parts = [];
  try {
    for (let n = 1, start = 0; start < file.size; n++, start += PART_SIZE) {
      const slice = file.slice(start, Math.min(start + PART_SIZE, file.size));
      const { etag } = await put(`${base}/uploads/${encodeURIComponent(uploadId)}/parts/${n}${q}`, slice, (sent) =>
        onProgress(start + sent),
      );
      parts.push({ partNumber: n, etag });
    }
    return await api(
      'POST',
      `/buckets/${encodeURIComponent(bucket)}/uploads/${encodeURIComponent(uploadId)}/complete`,
      {
        key,
        parts,
      },
    );
  } catch (e) {
    // Leave no parts behind: they would hold space until the collector expires the upload.
    await api('DELETE', `/buckets/${encodeURIComponent(bucket)}/uploads/${encodeURIComponent(uploadId)}${q}`).catch(
      () => {},
    );
    throw e;
  }
}
