import { isIP } from 'node:net';

export interface S3cfgInput {
  accessKeyId: string;
  secretAccessKey: string;
  /** The endpoint clients reach, e.g. http://localhost:8080 */
  endpoint: URL;
  region: string;
}

/**
 * A pre-filled s3cmd configuration. Virtual-host style (`%(bucket)s.<host>`) when the service
 * host is a real domain; path style for `localhost` and IP literals, whose subdomains the
 * system resolver usually cannot resolve.
 */
export function renderS3cfg(i: S3cfgInput): string {
  const hostBase = i.endpoint.host;
  const hostname = i.endpoint.hostname.replace(/^\[|\]$/g, '');
  const pathStyle = hostname === 'localhost' || isIP(hostname) !== 0;
  const hostBucket = pathStyle ? hostBase : `%(bucket)s.${hostBase}`;
  return [
    '[default]',
    `access_key = ${i.accessKeyId}`,
    `secret_key = ${i.secretAccessKey}`,
    `host_base = ${hostBase}`,
    `host_bucket = ${hostBucket}`,
    `bucket_location = ${i.region}`,
    `use_https = ${i.endpoint.protocol === 'https:' ? 'True' : 'False'}`,
    // What `s3cmd ws-create`/`ws-info` print as the site's address: the bucket host on the gateway.
    `website_endpoint = ${i.endpoint.protocol}//%(bucket)s.${hostBase}/`,
    'signature_v2 = False',
    '',
  ].join('\n');
}
