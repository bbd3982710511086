import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { LogLevel } from '../shared/logger.js';

export interface Config {
  dataDir: string;
  host: string;
  httpPort: number;
  /** The service domain: `<bucket>.<domain>` is virtual-host style, `<domain>` itself path style. */
  domain: string;
  /** More service domains answering like `domain`. */
  extraDomains: string[];
  /** Domains under which only websites are served (no S3 API). */
  websiteDomains: string[];
  region: string;
  /** What clients should use to reach the service (printed, written into s3cfg); derived when empty. */
  publicUrl: string;
  useHttps: boolean;
  maxObjectSize: number;
  maxXmlBodySize: number;
  gcIntervalSeconds: number;
  gcGraceSeconds: number;
  /** Free bytes on the data volume below which new object bytes are refused (InsufficientStorage). */
  minFreeBytes: number;
  /** Multipart uploads initiated longer ago are aborted by the collector. */
  multipartMaxAgeSeconds: number;
  /** Length of a lifecycle "day": due times round up to multiples of it (86400 = midnight UTC). */
  lifecycleDaySeconds: number;
  /** How often the lifecycle rules of every bucket are applied. */
  lifecycleIntervalSeconds: number;
  /** Bytes of website bodies (and their compressed renderings) kept in memory. */
  cacheMaxBytes: number;
  /** Largest single body the website cache keeps; bigger ones are streamed each time. */
  cacheMaxEntryBytes: number;
  /** Cache-Control of website HTML whose object sets none. */
  websiteCacheControlHtml: string;
  /** Cache-Control of other website objects that set none; empty sends none. */
  websiteCacheControl: string;
  /** HTTPS listener port; null = no HTTPS listener, 0 = any free port (reported at start). */
  httpsPort: number | null;
  /** The HTTPS port visitors use, for redirects behind a port-mapping proxy; 0 = the bound port. */
  httpsPublicPort: number;
  /** Certificate store directory. */
  certsDir: string;
  /** ACME directory URL; empty turns on-demand issuance and renewal off. */
  acmeDirectory: string;
  acmeEmail: string;
  /** `host:port` of the DNS server the issuance gate asks; empty = the system resolver. */
  dnsResolver: string;
  /** Addresses a custom domain's A/AAAA records may point at, besides a CNAME to a service domain. */
  serviceAddresses: string[];
  /** Require the `_cellar-challenge.<domain>` TXT proof before issuing for a custom domain. */
  domainProof: boolean;
  /** Redirect website GET/HEAD from HTTP to HTTPS once the host has a certificate. */
  httpsRedirect: boolean;
  /** Strict-Transport-Security max-age on HTTPS website responses; 0 = no header. */
  hstsMaxAge: number;
  /** Renew when less than this remains; 0 = when a third of the lifetime remains. */
  acmeRenewWindowSeconds: number;
  acmeRenewCheckSeconds: number;
  /** First retry delay after a failed issuance; doubles per consecutive failure, up to a day. */
  acmeRetryBaseSeconds: number;
  /** New on-demand orders per minute, all names together. */
  acmeOrdersPerMinute: number;
  /** acme-client's first polling delay (its default of 5 s slows every issuance). */
  acmeBackoffMinMs: number;
  /** Retries of one ACME HTTP request after a network error, 5xx or 429. */
  acmeHttpRetries: number;
  /** From connection (or a next request's first byte) to the end of the request headers. */
  headersTimeoutMs: number;
  /** Longest wait for the next request body byte while the server reads the body. */
  bodyIdleTimeoutMs: number;
  /** Slowest request body accepted, over windows of bodyIdleTimeoutMs; 0 = no minimum. */
  bodyMinBytesPerSecond: number;
  /** Open connections per listener, all clients together. */
  maxConnections: number;
  /** Open connections per listener from one client address. */
  maxConnectionsPerClient: number;
  /** HTTP/2 (HTTPS listener): streams one session may have open at once. */
  http2MaxConcurrentStreams: number;
  /** HTTP/2: a session with no open stream is closed after this long (HTTP/1.1's keep-alive is 65 s). */
  http2IdleTimeoutMs: number;
  /** HTTP/2: new streams one session may open per second; more and it is told to go away. */
  http2MaxStreamsPerSecond: number;
  /** RGW S3 endpoint; set = upstream mode (no local object store), empty = embedded mode. */
  upstreamUrl: string;
  /** Keys of the RGW system user (`--system`, caps users=*;buckets=*;metadata=*). */
  upstreamAccessKey: string;
  upstreamSecretKey: string;
  /** How long the upstream may stay silent (connecting or mid-request) before the client gets 503. */
  upstreamTimeoutMs: number;
  /** Age after which a cached website entry is checked again with RGW (a conditional request) before use. */
  upstreamRevalidateMs: number;
  /** How long past its revalidation time a cached page is still served while RGW is unreachable. */
  upstreamStaleIfErrorSeconds: number;
  /** Upstream mode: the private bucket of the fleet's shared state (certificates, ACME answers, locks). */
  systemBucket: string;
  logLevel: LogLevel;
  /** Admin API, metrics and health listener; null = none, 0 = any free port. */
  adminPort: number | null;
  adminHost: string;
  /** Bearer token of the admin API; empty = generated on first start and kept in the data dir. */
  adminToken: string;
  /** How long a dashboard login of an add-on owner lasts. */
  dashboardSessionSeconds: number;
  /** Access log: empty = stdout, `off` = none, else a file (reopened on SIGHUP). */
  accessLog: string;
  /** info: every request; warn: 4xx and cut answers; error: 5xx only; silent: no access log. */
  accessLogLevel: LogLevel;
  /** On SIGTERM, how long in-flight requests may take to finish before their connections are cut. */
  shutdownDeadlineMs: number;
}

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    problem: string,
  ) {
    super(`invalid setting ${setting}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Kind =
  | 'string'
  | 'port'
  | 'int'
  | 'bool'
  | 'list'
  | 'host'
  | 'domain'
  | 'level'
  | 'optport'
  | 'hostport'
  | 'iplist'
  | 'url';

/** Every setting: its config-file key, its environment variable and how to validate it. */
const SETTINGS: { key: keyof Config; env: string; kind: Kind }[] = [
  { key: 'dataDir', env: 'CELLAR_DATA_DIR', kind: 'string' },
  { key: 'host', env: 'CELLAR_HOST', kind: 'host' },
  { key: 'httpPort', env: 'CELLAR_HTTP_PORT', kind: 'port' },
  { key: 'domain', env: 'CELLAR_DOMAIN', kind: 'domain' },
  { key: 'extraDomains', env: 'CELLAR_EXTRA_DOMAINS', kind: 'list' },
  { key: 'websiteDomains', env: 'CELLAR_WEBSITE_DOMAINS', kind: 'list' },
  { key: 'region', env: 'CELLAR_REGION', kind: 'string' },
  { key: 'publicUrl', env: 'CELLAR_PUBLIC_URL', kind: 'string' },
  { key: 'useHttps', env: 'CELLAR_USE_HTTPS', kind: 'bool' },
  { key: 'maxObjectSize', env: 'CELLAR_MAX_OBJECT_SIZE', kind: 'int' },
  { key: 'maxXmlBodySize', env: 'CELLAR_MAX_XML_BODY_SIZE', kind: 'int' },
  { key: 'gcIntervalSeconds', env: 'CELLAR_GC_INTERVAL_SECONDS', kind: 'int' },
  { key: 'gcGraceSeconds', env: 'CELLAR_GC_GRACE_SECONDS', kind: 'int' },
  { key: 'minFreeBytes', env: 'CELLAR_MIN_FREE_BYTES', kind: 'int' },
  { key: 'multipartMaxAgeSeconds', env: 'CELLAR_MULTIPART_MAX_AGE_SECONDS', kind: 'int' },
  { key: 'lifecycleDaySeconds', env: 'CELLAR_LIFECYCLE_DAY_SECONDS', kind: 'int' },
  { key: 'lifecycleIntervalSeconds', env: 'CELLAR_LIFECYCLE_INTERVAL_SECONDS', kind: 'int' },
  { key: 'cacheMaxBytes', env: 'CELLAR_CACHE_MAX_BYTES', kind: 'int' },
  { key: 'cacheMaxEntryBytes', env: 'CELLAR_CACHE_MAX_ENTRY_BYTES', kind: 'int' },
  { key: 'websiteCacheControlHtml', env: 'CELLAR_WEBSITE_CACHE_CONTROL_HTML', kind: 'string' },
  { key: 'websiteCacheControl', env: 'CELLAR_WEBSITE_CACHE_CONTROL', kind: 'string' },
  { key: 'httpsPort', env: 'CELLAR_HTTPS_PORT', kind: 'optport' },
  { key: 'httpsPublicPort', env: 'CELLAR_HTTPS_PUBLIC_PORT', kind: 'port' },
  { key: 'certsDir', env: 'CELLAR_CERTS_DIR', kind: 'string' },
  { key: 'acmeDirectory', env: 'CELLAR_ACME_DIRECTORY', kind: 'url' },
  { key: 'acmeEmail', env: 'CELLAR_ACME_EMAIL', kind: 'string' },
  { key: 'dnsResolver', env: 'CELLAR_DNS_RESOLVER', kind: 'hostport' },
  { key: 'serviceAddresses', env: 'CELLAR_SERVICE_ADDRESSES', kind: 'iplist' },
  { key: 'domainProof', env: 'CELLAR_DOMAIN_PROOF', kind: 'bool' },
  { key: 'httpsRedirect', env: 'CELLAR_HTTPS_REDIRECT', kind: 'bool' },
  { key: 'hstsMaxAge', env: 'CELLAR_HSTS_MAX_AGE', kind: 'int' },
  { key: 'acmeRenewWindowSeconds', env: 'CELLAR_ACME_RENEW_WINDOW_SECONDS', kind: 'int' },
  { key: 'acmeRenewCheckSeconds', env: 'CELLAR_ACME_RENEW_CHECK_SECONDS', kind: 'int' },
  { key: 'acmeRetryBaseSeconds', env: 'CELLAR_ACME_RETRY_BASE_SECONDS', kind: 'int' },
  { key: 'acmeOrdersPerMinute', env: 'CELLAR_ACME_ORDERS_PER_MINUTE', kind: 'int' },
  { key: 'acmeBackoffMinMs', env: 'CELLAR_ACME_BACKOFF_MIN_MS', kind: 'int' },
  { key: 'acmeHttpRetries', env: 'CELLAR_ACME_HTTP_RETRIES', kind: 'int' },
  { key: 'headersTimeoutMs', env: 'CELLAR_HEADERS_TIMEOUT_MS', kind: 'int' },
  { key: 'bodyIdleTimeoutMs', env: 'CELLAR_BODY_IDLE_TIMEOUT_MS', kind: 'int' },
  { key: 'bodyMinBytesPerSecond', env: 'CELLAR_BODY_MIN_BYTES_PER_SECOND', kind: 'int' },
  { key: 'maxConnections', env: 'CELLAR_MAX_CONNECTIONS', kind: 'int' },
  { key: 'maxConnectionsPerClient', env: 'CELLAR_MAX_CONNECTIONS_PER_CLIENT', kind: 'int' },
  { key: 'http2MaxConcurrentStreams', env: 'CELLAR_HTTP2_MAX_CONCURRENT_STREAMS', kind: 'int' },
  { key: 'http2IdleTimeoutMs', env: 'CELLAR_HTTP2_IDLE_TIMEOUT_MS', kind: 'int' },
  { key: 'http2MaxStreamsPerSecond', env: 'CELLAR_HTTP2_MAX_STREAMS_PER_SECOND', kind: 'int' },
  { key: 'upstreamUrl', env: 'CELLAR_UPSTREAM_URL', kind: 'url' },
  { key: 'upstreamAccessKey', env: 'CELLAR_UPSTREAM_ACCESS_KEY', kind: 'string' },
  { key: 'upstreamSecretKey', env: 'CELLAR_UPSTREAM_SECRET_KEY', kind: 'string' },
  { key: 'upstreamTimeoutMs', env: 'CELLAR_UPSTREAM_TIMEOUT_MS', kind: 'int' },
  { key: 'upstreamRevalidateMs', env: 'CELLAR_UPSTREAM_REVALIDATE_MS', kind: 'int' },
  { key: 'upstreamStaleIfErrorSeconds', env: 'CELLAR_UPSTREAM_STALE_IF_ERROR_SECONDS', kind: 'int' },
  { key: 'systemBucket', env: 'CELLAR_SYSTEM_BUCKET', kind: 'string' },
  { key: 'logLevel', env: 'CELLAR_LOG_LEVEL', kind: 'level' },
  { key: 'adminPort', env: 'CELLAR_ADMIN_PORT', kind: 'optport' },
  { key: 'adminHost', env: 'CELLAR_ADMIN_HOST', kind: 'host' },
  { key: 'adminToken', env: 'CELLAR_ADMIN_TOKEN', kind: 'string' },
  { key: 'dashboardSessionSeconds', env: 'CELLAR_DASHBOARD_SESSION_SECONDS', kind: 'int' },
  { key: 'accessLog', env: 'CELLAR_ACCESS_LOG', kind: 'string' },
  { key: 'accessLogLevel', env: 'CELLAR_ACCESS_LOG_LEVEL', kind: 'level' },
  { key: 'shutdownDeadlineMs', env: 'CELLAR_SHUTDOWN_DEADLINE_MS', kind: 'int' },
];

const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

function coerce(kind: Kind, raw: unknown, name: string): unknown {
  const fromEnv = typeof raw === 'string';
  switch (kind) {
    case 'string':
      if (typeof raw !== 'string' && raw !== undefined) throw new ConfigError(name, 'expected a string');
      return raw;
    case 'host':
      if (typeof raw !== 'string' || (isIP(raw) === 0 && !DOMAIN_RE.test(raw)))
        throw new ConfigError(name, `not an IP address or host name: ${String(raw)}`);
      return raw;
    case 'domain': {
      const v = typeof raw === 'string' ? raw.toLowerCase() : raw;
      if (typeof v !== 'string' || !DOMAIN_RE.test(v)) throw new ConfigError(name, `not a domain name: ${String(raw)}`);
      return v;
    }
    case 'port':
    case 'int': {
      const n = fromEnv ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || (fromEnv && (raw as string).trim() === ''))
        throw new ConfigError(name, `not a non-negative integer: ${String(raw)}`);
      if (kind === 'port' && n > 65535) throw new ConfigError(name, `port out of range: ${n}`);
      return n;
    }
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new ConfigError(name, `expected true or false: ${String(raw)}`);
    case 'list': {
      const list = fromEnv
        ? (raw as string)
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : raw;
      if (!Array.isArray(list) || list.some((d) => typeof d !== 'string' || !DOMAIN_RE.test(d.toLowerCase())))
        throw new ConfigError(name, `expected a list of domain names: ${JSON.stringify(raw)}`);
      return list.map((d: string) => d.toLowerCase());
    }
    case 'optport':
      // null, '' or 'off': no listener.
      if (raw === null || raw === '' || raw === 'off') return null;
      return coerce('port', raw, name);
    case 'hostport': {
      if (raw === '') return raw;
      const m = typeof raw === 'string' ? /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(raw) : null;
      const host = m?.[1]?.replace(/^\[|\]$/g, '');
      if (
        !m ||
        !host ||
        (isIP(host) === 0 && !DOMAIN_RE.test(host.toLowerCase())) ||
        Number(m[2]) < 1 ||
        Number(m[2]) > 65535
      )
        throw new ConfigError(name, `expected host:port (or [v6]:port): ${String(raw)}`);
      return raw;
    }
    case 'iplist': {
      const list = fromEnv
        ? (raw as string)
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : raw;
      if (!Array.isArray(list) || list.some((a) => typeof a !== 'string' || isIP(a) === 0))
        throw new ConfigError(name, `expected a list of IP addresses: ${JSON.stringify(raw)}`);
      return list;
    }
    case 'url':
      if (raw === '') return raw;
      if (typeof raw !== 'string' || !URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol))
        throw new ConfigError(name, `expected an http(s) URL: ${String(raw)}`);
      return raw;
    case 'level':
      if (raw !== 'debug' && raw !== 'info' && raw !== 'warn' && raw !== 'error' && raw !== 'silent')
        throw new ConfigError(name, `expected debug|info|warn|error|silent: ${String(raw)}`);
      return raw;
  }
}

function readJson(file: string, name: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(name, `cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(name, `${file} is not valid JSON: ${(e as Error).message}`);
  }
}

export function defaultConfigFile(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../config/default.json');
}

/**
 * Layers: config/default.json, then the JSON file named by CELLAR_CONFIG, then environment
 * variables; `overrides` (from CLI flags or tests) win over all.
 */
export function loadConfig(env: Record<string, string | undefined>, overrides: Partial<Config> = {}): Config {
  const defaults = readJson(defaultConfigFile(), 'config/default.json');
  const file = env.CELLAR_CONFIG ? readJson(env.CELLAR_CONFIG, 'CELLAR_CONFIG') : {};
  for (const k of Object.keys(file)) {
    if (!SETTINGS.some((s) => s.key === k)) throw new ConfigError(`${k} (in ${env.CELLAR_CONFIG})`, 'unknown setting');
  }
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const fromOverride = (overrides as Record<string, unknown>)[s.key];
    if (fromOverride !== undefined) out[s.key] = coerce(s.kind, fromOverride, s.key);
    else if (env[s.env] !== undefined) out[s.key] = coerce(s.kind, env[s.env], s.env);
    else if (file[s.key] !== undefined) out[s.key] = coerce(s.kind, file[s.key], `${s.key} (in ${env.CELLAR_CONFIG})`);
    else out[s.key] = coerce(s.kind, defaults[s.key], `${s.key} (in config/default.json)`);
  }
  const cfg = out as unknown as Config;
  if (cfg.region === '' || !/^[a-z0-9-]+$/.test(cfg.region))
    throw new ConfigError('CELLAR_REGION', `not a region name: ${cfg.region}`);
  if (cfg.dataDir === '') throw new ConfigError('CELLAR_DATA_DIR', 'must not be empty');
  // A zero timeout or cap would refuse every request; bodyMinBytesPerSecond alone may be 0 (off).
  for (const [key, env] of [
    ['headersTimeoutMs', 'CELLAR_HEADERS_TIMEOUT_MS'],
    ['bodyIdleTimeoutMs', 'CELLAR_BODY_IDLE_TIMEOUT_MS'],
    ['maxConnections', 'CELLAR_MAX_CONNECTIONS'],
    ['maxConnectionsPerClient', 'CELLAR_MAX_CONNECTIONS_PER_CLIENT'],
    ['http2MaxConcurrentStreams', 'CELLAR_HTTP2_MAX_CONCURRENT_STREAMS'],
    ['http2IdleTimeoutMs', 'CELLAR_HTTP2_IDLE_TIMEOUT_MS'],
    ['http2MaxStreamsPerSecond', 'CELLAR_HTTP2_MAX_STREAMS_PER_SECOND'],
  ] as const) {
    if (cfg[key] < 1) throw new ConfigError(env, 'must be at least 1');
  }
  if (cfg.upstreamUrl !== '') {
    if (cfg.upstreamAccessKey === '' || cfg.upstreamSecretKey === '') {
      throw new ConfigError(
        'CELLAR_UPSTREAM_ACCESS_KEY',
        'CELLAR_UPSTREAM_URL needs CELLAR_UPSTREAM_ACCESS_KEY and CELLAR_UPSTREAM_SECRET_KEY (an RGW --system user)',
      );
    }
    const u = new URL(cfg.upstreamUrl);
    if (u.pathname !== '/' || u.search !== '' || u.username !== '')
      throw new ConfigError('CELLAR_UPSTREAM_URL', `expected scheme://host[:port] only: ${cfg.upstreamUrl}`);
  }
  // S3 bucket naming rules (lower-case, 3-63 characters, no dots: the bucket is never a site).
  if (!/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(cfg.systemBucket))
    throw new ConfigError('CELLAR_SYSTEM_BUCKET', `not a bucket name (3-63 of a-z, 0-9, -): ${cfg.systemBucket}`);
  if (cfg.adminToken !== '' && cfg.adminToken.length < 16)
    throw new ConfigError('CELLAR_ADMIN_TOKEN', 'must be at least 16 characters');
  if (cfg.upstreamTimeoutMs < 1) throw new ConfigError('CELLAR_UPSTREAM_TIMEOUT_MS', 'must be at least 1');
  // 0 would end every dashboard session as it starts.
  if (cfg.dashboardSessionSeconds < 1) throw new ConfigError('CELLAR_DASHBOARD_SESSION_SECONDS', 'must be at least 1');
  return cfg;
}

/** The URL clients use; defaults to the service domain on the HTTP port. */
export function publicEndpoint(cfg: Config, boundPort: number = cfg.httpPort): URL {
  if (cfg.publicUrl) return new URL(cfg.publicUrl);
  const scheme = cfg.useHttps ? 'https' : 'http';
  return new URL(`${scheme}://${cfg.domain}:${boundPort}`);
}

/** The single place that reads the process environment. */
export function loadConfigFromProcess(overrides: Partial<Config> = {}): Config {
  return loadConfig(process.env, overrides);
}
