/**
 * The owner's buckets in upstream mode: every change is an S3 request to RGW signed as the owner
 * (rgw-s3.ts), so RGW applies its own permissions; sizes and object counts come from RGW's Admin
 * Ops bucket stats, which also say which buckets the owner owns (another owner's bucket reads as
 * missing even where RGW would let the owner in through a policy).
 */
import type { Readable } from 'node:stream';
import { StorageError, validateCorsRules, type Addon, type CorsRule, type WebsiteConfig } from '#storage';
import { principalsFromRgw, principalsToRgw } from '../../gateway/upstream/principals.js';
import type { RgwAdmin } from '../../gateway/upstream/rgw-admin.js';
import type { TlsSettings } from '../../gateway/tls/index.js';
import { corsFromXml } from '../../s3api/handlers/cors.js';
import { websiteFromXml, websiteToXml } from '../../s3api/handlers/website.js';
import { children, child, parseXml, text, toXml, type XmlValue } from '../../s3api/xml.js';
import { ApiError } from '../api-error.js';
import { websiteConfigOf } from '../buckets.js';
import type { ObjectPage, OwnerBuckets, UploadTarget } from './backend.js';
import { corsRules, corsTemplateOf, isPublic, publicPolicy, websiteView, type BucketView } from './buckets.js';
import { domainOf } from './domain.js';
import { RgwS3, queryValue, rgwError, type RgwAnswer } from './rgw-s3.js';
import { storedContentType, type ObjectWritten } from './uploads.js';
import type { VersionView } from './versions.js';

const NO_GRANTS = { owner: { id: '', displayName: '' }, grants: [] };

function unquote(etag: string | string[] | undefined): string {
  return String(etag ?? '').replace(/^"|"$/g, '');
}

function needSize(size: number | null): number {
  // RGW takes no chunked upload without aws-chunked signing: the browser always sends a length.
  if (size === null) throw new ApiError(411, 'MissingContentLength', 'the upload needs a Content-Length');
  return size;
}

/** The document of a 2xx answer; 404 with one of `missing` codes reads as null. */
function optional(a: RgwAnswer, missing: string): string | null {
  if (a.status === 404 && a.body.includes(`<Code>${missing}</Code>`)) return null;
  if (a.status < 200 || a.status >= 300) throw rgwError(a);
  return a.body;
}

function doc(body: string, root: string): XmlValue {
  return child(parseXml(body), root);
}

export function upstreamOwnerBuckets(o: {
  url: string;
  timeoutMs: number;
  admin: RgwAdmin;
  tls: TlsSettings;
  /** The fleet's domain-proof secret (the TXT record to publish). */
  proofSecret(): Promise<Buffer>;
}): OwnerBuckets & { close(): void } {
  const rgw = new RgwS3({ url: o.url, timeoutMs: o.timeoutMs });

  async function stats(owner: Addon): Promise<Map<string, { objects: number; bytes: number }>> {
    return o.admin.bucketStats(owner.id);
  }

  async function own(owner: Addon, name: string): Promise<void> {
    if (!(await stats(owner)).has(name))
      throw new StorageError('NoSuchBucket', 'The specified bucket does not exist', { BucketName: name });
  }

  interface Settings {
    policy: string | null;
    website: WebsiteConfig | null;
    cors: CorsRule[] | null;
    versioning: BucketView['versioning'];
  }

  async function settings(owner: Addon, bucket: string): Promise<Settings> {
    const [policy, website, cors, versioning] = await Promise.all([
      rgw.send(owner, { method: 'GET', bucket, query: 'policy' }),
      rgw.send(owner, { method: 'GET', bucket, query: 'website' }),
      rgw.send(owner, { method: 'GET', bucket, query: 'cors' }),
      rgw.ok(owner, { method: 'GET', bucket, query: 'versioning' }),
    ]);
    const p = optional(policy, 'NoSuchBucketPolicy');
    const w = optional(website, 'NoSuchWebsiteConfiguration');
    const c = optional(cors, 'NoSuchCORSConfiguration');
    const status = text(doc(versioning.body, 'VersioningConfiguration'), 'Status');
    return {
      policy: p === null ? null : principalsFromRgw(p),
      website: w === null ? null : websiteFromXml(w),
      cors: c === null ? null : corsFromXml(c),
      versioning: status === 'Enabled' || status === 'Suspended' ? status : null,
    };
  }

  async function view(
    owner: Addon,
    name: string,
    createdAt: string,
    usage: { objects: number; bytes: number } | undefined,
  ): Promise<BucketView> {
    const s = await settings(owner, name);
    return {
      name,
      createdAt,
      objects: usage?.objects ?? 0,
      bytes: usage?.bytes ?? 0,
      // DEVIATION: RGW's ACL grants are not read; the dashboard's public switch is the policy.
      public: isPublic({ name, ownerId: owner.id, acl: NO_GRANTS, policy: s.policy, guards: {} }),
      website: websiteView(s.website),
      cors: corsTemplateOf(s.cors),
      versioning: s.versioning,
    };
  }

  async function list(owner: Addon): Promise<BucketView[]> {
    const [answer, usage] = await Promise.all([rgw.ok(owner, { method: 'GET', bucket: '' }), stats(owner)]);
    const buckets = children(child(doc(answer.body, 'ListAllMyBucketsResult'), 'Buckets'), 'Bucket');
    return Promise.all(
      buckets.map((b) => {
        const name = text(b, 'Name') ?? '';
        return view(owner, name, new Date(text(b, 'CreationDate') ?? 0).toISOString(), usage.get(name));
      }),
    );
  }

  async function one(owner: Addon, name: string): Promise<BucketView> {
    const found = (await list(owner)).find((b) => b.name === name);
    if (found === undefined)
      throw new StorageError('NoSuchBucket', 'The specified bucket does not exist', { BucketName: name });
    return found;
  }

  async function head(owner: Addon, bucket: string, key: string, versionId: string): Promise<RgwAnswer> {
    return rgw.send(owner, { method: 'HEAD', bucket, key, query: `versionId=${queryValue(versionId)}` });
  }

  return {
    close: () => rgw.close(),
    own,
    list,
    async create(owner, name) {
      await rgw.ok(owner, { method: 'PUT', bucket: name });
      return one(owner, name);
    },
    async remove(owner, name) {
      await own(owner, name);
      await rgw.ok(owner, { method: 'DELETE', bucket: name });
    },
    async setPublic(owner, name, makePublic) {
      await own(owner, name);
      if (makePublic)
        await rgw.ok(owner, {
          method: 'PUT',
          bucket: name,
          query: 'policy',
          body: principalsToRgw(publicPolicy(name)),
        });
      else {
        await rgw.ok(owner, { method: 'DELETE', bucket: name, query: 'policy' });
        await rgw.ok(owner, { method: 'PUT', bucket: name, query: 'acl', headers: { 'x-amz-acl': 'private' } });
      }
      return one(owner, name);
    },
    async setWebsite(owner, name, v) {
      await own(owner, name);
      if (v === null) await rgw.ok(owner, { method: 'DELETE', bucket: name, query: 'website' });
      else {
        const cfg = websiteConfigOf({ index: v.index, error: v.error ?? undefined, spa: v.spa });
        const body = toXml('WebsiteConfiguration', websiteToXml(cfg));
        const a = await rgw.send(owner, { method: 'PUT', bucket: name, query: 'website', body });
        if (v.spa && a.status === 400)
          throw new ApiError(
            501,
            'NotImplemented',
            'the SPA fallback is a routing rule answering 200 (HttpRedirectCode 200), and RGW 16.2 takes only 3xx redirect codes: set the index and error documents without it here',
          );
        if (a.status < 200 || a.status >= 300) throw rgwError(a, 'PUT ?website');
      }
      return one(owner, name);
    },
    async setCors(owner, name, template, origin) {
      await own(owner, name);
      if (template === null) await rgw.ok(owner, { method: 'DELETE', bucket: name, query: 'cors' });
      else {
        const rules = validateCorsRules(corsRules(template, origin));
        const body = toXml('CORSConfiguration', {
          CORSRule: rules.map((r) => ({
            AllowedHeader: r.allowedHeaders,
            AllowedMethod: r.allowedMethods,
            AllowedOrigin: r.allowedOrigins,
            ExposeHeader: r.exposeHeaders,
            MaxAgeSeconds: r.maxAgeSeconds,
          })),
        });
        await rgw.ok(owner, { method: 'PUT', bucket: name, query: 'cors', body });
      }
      return one(owner, name);
    },
    async setVersioning(owner, name, on) {
      await own(owner, name);
      const body = toXml('VersioningConfiguration', { Status: on ? 'Enabled' : 'Suspended' });
      await rgw.ok(owner, { method: 'PUT', bucket: name, query: 'versioning', body });
      return one(owner, name);
    },
    async objects(owner, name, max): Promise<ObjectPage> {
      await own(owner, name);
      const a = await rgw.ok(owner, { method: 'GET', bucket: name, query: `list-type=2&max-keys=${max}` });
      const d = doc(a.body, 'ListBucketResult');
      return {
        objects: children(d, 'Contents').map((c) => ({
          key: text(c, 'Key') ?? '',
          size: Number(text(c, 'Size') ?? 0),
          lastModified: new Date(text(c, 'LastModified') ?? 0).toISOString(),
        })),
        truncated: text(d, 'IsTruncated') === 'true',
      };
    },
    async history(owner, name, key, max) {
      await own(owner, name);
      const a = await rgw.ok(owner, {
        method: 'GET',
        bucket: name,
        query: `max-keys=${max + 1}&prefix=${queryValue(key)}&versions=`,
      });
      const d = doc(a.body, 'ListVersionsResult');
      const row = (v: XmlValue, marker: boolean): VersionView & { key: string } => ({
        key: text(v, 'Key') ?? '',
        versionId: text(v, 'VersionId') ?? 'null',
        deleteMarker: marker,
        isLatest: text(v, 'IsLatest') === 'true',
        size: marker ? 0 : Number(text(v, 'Size') ?? 0),
        etag: marker ? null : unquote(text(v, 'ETag')),
        lastModified: new Date(text(v, 'LastModified') ?? 0).toISOString(),
      });
      // The parser groups Version and DeleteMarker elements apart: newest first again, the current one on top.
      const mine = [
        ...children(d, 'Version').map((v) => row(v, false)),
        ...children(d, 'DeleteMarker').map((v) => row(v, true)),
      ]
        .filter((v) => v.key === key)
        .sort((x, y) => Number(y.isLatest) - Number(x.isLatest) || y.lastModified.localeCompare(x.lastModified));
      return {
        key,
        versions: mine.slice(0, max).map(({ key: _k, ...v }) => v),
        truncated: mine.length > max,
      };
    },
    async restore(owner, name, key, versionId) {
      await own(owner, name);
      const h = await head(owner, name, key, versionId);
      // A delete marker's version answers 405 with x-amz-delete-marker (API_HeadObject.html).
      if (h.headers['x-amz-delete-marker'] === 'true')
        throw new StorageError(
          'InvalidRequest',
          'A delete marker cannot be restored: restore the version before it, or delete the marker with an S3 tool.',
        );
      if (h.status === 404 || h.status === 400)
        throw new StorageError('NoSuchVersion', 'The specified version does not exist.', {
          Key: key,
          VersionId: versionId,
        });
      if (h.status !== 200) throw rgwError(h);
      const source = `/${name}/${key.split('/').map(queryValue).join('/')}?versionId=${queryValue(versionId)}`;
      const c = await rgw.ok(owner, {
        method: 'PUT',
        bucket: name,
        key,
        headers: { 'x-amz-copy-source': source, 'x-amz-metadata-directive': 'COPY' },
      });
      const r = doc(c.body, 'CopyObjectResult');
      return {
        versionId: String(c.headers['x-amz-version-id'] ?? 'null'),
        deleteMarker: false,
        isLatest: true,
        size: Number(h.headers['content-length'] ?? 0),
        etag: unquote(text(r, 'ETag')),
        lastModified: new Date(text(r, 'LastModified') ?? 0).toISOString(),
      };
    },
    async put(owner, name, key, contentType, body: Readable, size): Promise<ObjectWritten> {
      await own(owner, name);
      const a = await rgw.ok(owner, {
        method: 'PUT',
        bucket: name,
        key,
        headers: { 'content-type': storedContentType(contentType) },
        body: { stream: body, size: needSize(size) },
      });
      return { key, size: needSize(size), etag: unquote(a.headers.etag) };
    },
    async createUpload(owner, name, key, contentType) {
      await own(owner, name);
      const a = await rgw.ok(owner, {
        method: 'POST',
        bucket: name,
        key,
        query: 'uploads=',
        headers: { 'content-type': storedContentType(contentType) },
      });
      return { uploadId: text(doc(a.body, 'InitiateMultipartUploadResult'), 'UploadId') ?? '' };
    },
    async uploadPart(owner, t, body, size) {
      await own(owner, t.bucket);
      const a = await rgw.ok(owner, {
        method: 'PUT',
        bucket: t.bucket,
        key: t.key,
        query: `partNumber=${t.partNumber}&uploadId=${queryValue(t.uploadId)}`,
        body: { stream: body, size: needSize(size) },
      });
      return { etag: unquote(a.headers.etag) };
    },
    async completeUpload(owner, t: UploadTarget, parts) {
      await own(owner, t.bucket);
      const body = toXml('CompleteMultipartUpload', {
        Part: parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"${p.etag}"` })),
      });
      const a = await rgw.ok(owner, {
        method: 'POST',
        bucket: t.bucket,
        key: t.key,
        query: `uploadId=${queryValue(t.uploadId)}`,
        body,
      });
      // CompleteMultipartUpload may fail after its 200 (API_CompleteMultipartUpload.html): the error is in the body.
      if (a.body.includes('<Error>')) throw rgwError({ ...a, status: 500 });
      // RGW 16.2 leaves the result's ETag empty: the object's own answers carry it.
      const h = await rgw.ok(owner, { method: 'HEAD', bucket: t.bucket, key: t.key });
      return { key: t.key, size: Number(h.headers['content-length'] ?? 0), etag: unquote(h.headers.etag) };
    },
    async abortUpload(owner, t) {
      await own(owner, t.bucket);
      await rgw.ok(owner, {
        method: 'DELETE',
        bucket: t.bucket,
        key: t.key,
        query: `uploadId=${queryValue(t.uploadId)}`,
      });
    },
    async domain(owner, name) {
      await own(owner, name);
      const s = await settings(owner, name);
      const publicRead = isPublic({ name, ownerId: owner.id, acl: NO_GRANTS, policy: s.policy, guards: {} });
      const info = {
        exists: true,
        servesWebsite: s.website !== null || publicRead,
        detail:
          s.website !== null
            ? 'website configuration set'
            : publicRead
              ? 'bucket policy lets anyone read it'
              : 'private: no website configuration and no public-read bucket policy',
      };
      const lookup = {
        site: (b: string) =>
          b === name ? info : { exists: false, servesWebsite: false, detail: 'not a bucket of this owner' },
      };
      // No HTTPS port in upstream mode (main.ts): the certificate parts of the view say so.
      return domainOf(lookup, name, o.tls, false, await o.proofSecret());
    },
  };
}
