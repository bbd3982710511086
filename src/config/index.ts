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
  logLevel: LogLevel;
}

export class ConfigError extends Error {
  constructor(readonly setting: string, problem: string) {
    super(`invalid setting ${setting}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Kind = 'string' | 'port' | 'int' | 'bool' | 'list' | 'host' | 'domain' | 'level';

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
  { key: 'logLevel', env: 'CELLAR_LOG_LEVEL', kind: 'level' },
];

const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

function coerce(kind: Kind, raw: unknown, name: string): unknown {
  const fromEnv = typeof raw === 'string';
  switch (kind) {
    case 'string':
      if (typeof raw !== 'string' && raw !== undefined) throw new ConfigError(name, 'expected a string');
      return raw;
    case 'host':
      if (typeof raw !== 'string' || (isIP(raw) === 0 && !DOMAIN_RE.test(raw))) throw new ConfigError(name, `not an IP address or host name: ${String(raw)}`);
      return raw;
    case 'domain': {
      const v = typeof raw === 'string' ? raw.toLowerCase() : raw;
      if (typeof v !== 'string' || !DOMAIN_RE.test(v)) throw new ConfigError(name, `not a domain name: ${String(raw)}`);
      return v;
    }
    case 'port':
    case 'int': {
      const n = fromEnv ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || (fromEnv && (raw as string).trim() === '')) throw new ConfigError(name, `not a non-negative integer: ${String(raw)}`);
      if (kind === 'port' && n > 65535) throw new ConfigError(name, `port out of range: ${n}`);
      return n;
    }
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new ConfigError(name, `expected true or false: ${String(raw)}`);
    case 'list': {
      const list = fromEnv ? (raw as string).split(',').map((s) => s.trim()).filter(Boolean) : raw;
      if (!Array.isArray(list) || list.some((d) => typeof d !== 'string' || !DOMAIN_RE.test(d.toLowerCase()))) throw new ConfigError(name, `expected a list of domain names: ${JSON.stringify(raw)}`);
      return list.map((d: string) => d.toLowerCase());
    }
    case 'level':
      if (raw !== 'debug' && raw !== 'info' && raw !== 'warn' && raw !== 'error' && raw !== 'silent') throw new ConfigError(name, `expected debug|info|warn|error|silent: ${String(raw)}`);
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
  if (cfg.region === '' || !/^[a-z0-9-]+$/.test(cfg.region)) throw new ConfigError('CELLAR_REGION', `not a region name: ${cfg.region}`);
  if (cfg.dataDir === '') throw new ConfigError('CELLAR_DATA_DIR', 'must not be empty');
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
