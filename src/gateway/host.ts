/**
 * Host header -> bucket. Pure and self-contained (no storage import) so the gateway can call it
 * before anything else is known about the request.
 *
 * Order follows Garage and the AWS website endpoint
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/WebsiteEndpoints.html): `<bucket>.<domain>`
 * for a configured domain, else the whole host names the bucket (custom domain, the bucket is
 * named exactly like the domain and the domain is CNAME'd to us).
 */

export interface HostConfig {
  /** Hosts that serve the S3 API (path style on the host itself); the first is canonical. */
  serviceDomains: string[];
  /** Hosts whose `<bucket>.<domain>` names only ever serve websites, never the S3 API. */
  websiteOnlyDomains: string[];
}

export type HostTarget =
  | { kind: 'service' }
  | { kind: 'bucket'; bucket: string; via: 'subdomain' | 'custom'; websiteOnly: boolean };

export type HostResolution = HostTarget | { kind: 'invalid' };

const INVALID = { kind: 'invalid' } as const;
const SERVICE = { kind: 'service' } as const;

/** Splits `host[:port]` / `[v6][:port]`; null when the authority is not well-formed. */
export function splitHostPort(authority: string): { host: string; port?: string; ipv6: boolean } | null {
  let host: string;
  let rest: string;
  let ipv6 = false;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) return null;
    host = authority.slice(1, close);
    rest = authority.slice(close + 1);
    if (!/^[0-9a-f:.]+$/.test(host) || !host.includes(':')) return null;
    ipv6 = true;
  } else {
    const colon = authority.indexOf(':');
    if (colon >= 0 && authority.indexOf(':', colon + 1) >= 0) return null; // bare v6 is not a Host
    host = colon < 0 ? authority : authority.slice(0, colon);
    rest = colon < 0 ? '' : authority.slice(colon);
  }
  if (rest === '') return { host, ipv6 };
  const port = /^:(\d{1,5})$/.exec(rest)?.[1];
  if (port === undefined || Number(port) > 65535) return null;
  return { host, port, ipv6 };
}

function isIPv4(host: string): boolean {
  const parts = host.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/**
 * DNS-ish sanity check: ASCII letters, digits, '-', '_' (seen in real CNAME targets), no empty
 * label. Raw Unicode is refused: browsers send IDNs as punycode (`xn--`).
 */
function isHostName(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false;
  const labels = host.split('.');
  if (!labels.every((l) => /^[a-z0-9_-]{1,63}$/.test(l))) return false;
  // An all-numeric last label is an IPv4 shorthand (`127.1`) to a URL parser, never a domain.
  return !/^\d+$/.test(labels[labels.length - 1]!);
}

function normalizeDomain(d: string): string {
  const lower = d.trim().toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

export function resolveHost(hostHeader: string | undefined, cfg: HostConfig): HostResolution {
  if (hostHeader === undefined) return INVALID;
  const authority = hostHeader.trim().toLowerCase();
  if (authority === '') return INVALID;
  const split = splitHostPort(authority);
  if (split === null) return INVALID;
  if (split.ipv6) return SERVICE;
  let host = split.host;
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (isIPv4(host)) return SERVICE;
  if (!isHostName(host)) return INVALID;

  // Longest matching domain wins, so `b.web.cellar.test` under both `cellar.test` and
  // `web.cellar.test` is bucket `b` of the nested domain, not bucket `b.web`.
  let best: { domain: string; websiteOnly: boolean } | undefined;
  const consider = (domains: string[], websiteOnly: boolean): void => {
    for (const raw of domains) {
      const domain = normalizeDomain(raw);
      if (domain === '') continue;
      if (host !== domain && !host.endsWith(`.${domain}`)) continue;
      if (best === undefined || domain.length > best.domain.length) best = { domain, websiteOnly };
    }
  };
  consider(cfg.serviceDomains, false);
  consider(cfg.websiteOnlyDomains, true);

  if (best === undefined) return { kind: 'bucket', bucket: host, via: 'custom', websiteOnly: false };
  if (host === best.domain) {
    // The bare root of a website-only domain has no bucket label: as Garage does, the whole host
    // names the bucket, still website-only.
    return best.websiteOnly ? { kind: 'bucket', bucket: host, via: 'custom', websiteOnly: true } : SERVICE;
  }
  const bucket = host.slice(0, host.length - best.domain.length - 1);
  return { kind: 'bucket', bucket, via: 'subdomain', websiteOnly: best.websiteOnly };
}
