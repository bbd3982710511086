/**
 * The gate in front of on-demand issuance: which names may make Cellar ask a CA for a
 * certificate. Unrestricted on-demand TLS lets anyone burn the CA's rate limits with made-up
 * names (firezone#1720), so a name must map to a bucket that serves a website, and a custom
 * domain must show, in DNS, that its owner pointed it at us (GitHub Pages' check before it
 * queues a certificate); optionally a TXT proof stops squatting on the shared bucket namespace
 * (GitLab Pages' fix for gitlab-ce#29497). Cheap checks first: DNS is only asked about names
 * that already map to a public bucket.
 */
import { isIP } from 'node:net';
import { resolveHost, type HostConfig } from '../host.js';

export interface SiteInfo {
  exists: boolean;
  servesWebsite: boolean;
  /** Why it does or does not serve a website, for `cellar domain check`. */
  detail: string;
}

/**
 * The bucket side of the gate (local storage, or anything else that knows the buckets): reads
 * the bucket and, without a website configuration, its index object's metadata (its ACL).
 */
export interface SiteLookup {
  /** Synchronous over local storage; a promise over the upstream. */
  site(bucket: string): SiteInfo | Promise<SiteInfo>;
}

/** DNS answers; empty lists for "no such record", a throw for a failed lookup. */
export interface DnsLookup {
  cname(name: string): Promise<string[]>;
  addresses(name: string): Promise<string[]>;
  txt(name: string): Promise<string[]>;
}

export interface GateOptions {
  hosts: HostConfig;
  sites: SiteLookup;
  dns: DnsLookup;
  /** Addresses a custom domain's A/AAAA records may point at, besides a CNAME to a service domain. */
  serviceAddresses: string[];
  /** Require the TXT proof `_cellar-challenge.<domain>` for custom domains. */
  requireProof: boolean;
  /** A promise where the secret behind it is shared by a fleet (upstream mode). */
  proofToken(name: string): string | Promise<string>;
}

export type GateStepName = 'name' | 'bucket' | 'website' | 'dns' | 'proof';

export interface GateStep {
  step: GateStepName;
  /** null: not checked (an earlier step failed) or not needed for this name. */
  ok: boolean | null;
  detail: string;
}

export interface GateDecision {
  name: string;
  allowed: boolean;
  /** The first failing step's detail, or a summary when allowed. */
  reason: string;
  steps: GateStep[];
}

export const PROOF_LABEL = '_cellar-challenge';

/** A name a public CA would issue for: LDH labels, at least two, not an IP literal. */
function certificateNameProblem(name: string): string | null {
  if (name.length === 0 || name.length > 253) return 'empty or longer than 253 characters';
  if (isIP(name) !== 0) return 'an IP address (HTTP-01 certificates are for DNS names)';
  const labels = name.split('.');
  if (labels.length < 2) return 'a single label; certificates need a domain name';
  if (!labels.every((l) => /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(l)))
    return 'not a valid DNS name (letters, digits and hyphens per label)';
  if (/^\d+$/.test(labels[labels.length - 1]!)) return 'a numeric top-level label';
  return null;
}

/** IPv6 in one canonical spelling, so `0:0::1` and `::1` compare equal. */
export function canonicalIp(a: string): string {
  if (isIP(a) !== 6) return a;
  try {
    return new URL(`http://[${a}]/`).hostname.slice(1, -1);
  } catch {
    return a;
  }
}

function normalizeName(name: string): string {
  const n = name.trim().toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

function dnsErrorText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code ? `DNS lookup failed (${code})` : `DNS lookup failed: ${(e as Error).message}`;
}

export class DomainGate {
  private readonly service: Set<string>;
  private readonly domains: string[];

  constructor(private readonly opts: GateOptions) {
    this.service = new Set(opts.serviceAddresses.map(canonicalIp));
    this.domains = [...opts.hosts.serviceDomains, ...opts.hosts.websiteOnlyDomains].map(normalizeName).filter(Boolean);
  }

  private pointsAtService(target: string): boolean {
    const t = normalizeName(target);
    return this.domains.some((d) => t === d || t.endsWith(`.${d}`));
  }

  private async dnsStep(name: string): Promise<GateStep> {
    const { dns } = this.opts;
    try {
      const cnames = await dns.cname(name);
      const good = cnames.find((c) => this.pointsAtService(c));
      if (good) return { step: 'dns', ok: true, detail: `CNAME ${normalizeName(good)}, a service domain` };
      const addrs = (await dns.addresses(name)).map(canonicalIp);
      const cnameNote =
        cnames.length > 0
          ? `CNAME ${cnames.map(normalizeName).join(', ')} is not a service domain (${this.domains.join(', ')}); `
          : '';
      if (addrs.length === 0)
        return {
          step: 'dns',
          ok: false,
          detail: `${cnameNote}no CNAME to ${this.domains[0] ?? 'the service domain'} and no A/AAAA records`,
        };
      const elsewhere = addrs.filter((a) => !this.service.has(a));
      if (this.service.size === 0)
        return {
          step: 'dns',
          ok: false,
          detail: `${cnameNote}A/AAAA ${addrs.join(', ')}, and no service addresses are configured (CELLAR_SERVICE_ADDRESSES): point a CNAME at ${this.domains[0] ?? 'the service domain'}`,
        };
      // Every address must be ours: the CA may validate through any of them.
      if (elsewhere.length > 0)
        return {
          step: 'dns',
          ok: false,
          detail: `${cnameNote}A/AAAA ${elsewhere.join(', ')} not among the service addresses (${[...this.service].join(', ')})`,
        };
      return { step: 'dns', ok: true, detail: `A/AAAA ${addrs.join(', ')}, all service addresses` };
    } catch (e) {
      return { step: 'dns', ok: false, detail: dnsErrorText(e) };
    }
  }

  private async proofStep(name: string): Promise<GateStep> {
    const record = `${PROOF_LABEL}.${name}`;
    let token: string;
    try {
      token = await this.opts.proofToken(name);
    } catch (e) {
      return { step: 'proof', ok: false, detail: `the domain token is unavailable: ${(e as Error).message}` };
    }
    try {
      const values = await this.opts.dns.txt(record);
      if (values.includes(token)) return { step: 'proof', ok: true, detail: `TXT ${record} holds the domain token` };
      const hint = `(get it with \`cellar domain token ${name}\`)`;
      if (values.length === 0) return { step: 'proof', ok: false, detail: `no TXT record at ${record} ${hint}` };
      return {
        step: 'proof',
        ok: false,
        detail: `the TXT records at ${record} do not hold this domain's token ${hint}`,
      };
    } catch (e) {
      return { step: 'proof', ok: false, detail: `${record}: ${dnsErrorText(e)}` };
    }
  }

  /** The bucket half of the gate, no DNS: also what renewal re-checks. */
  async checkSite(rawName: string): Promise<GateDecision> {
    const name = normalizeName(rawName);
    return this.finish(name, (await this.siteSteps(name, true)).steps);
  }

  private async siteSteps(name: string, exhaustive: boolean): Promise<{ steps: GateStep[]; custom: boolean }> {
    const steps: GateStep[] = [];
    const problem = certificateNameProblem(name);
    const target = problem === null ? resolveHost(name, this.opts.hosts) : { kind: 'invalid' as const };
    if (problem !== null || target.kind !== 'bucket') {
      const why =
        problem ??
        (target.kind === 'service'
          ? 'the service host itself: install its certificate in the store'
          : 'not a host name');
      steps.push({ step: 'name', ok: false, detail: why });
      return { steps, custom: false };
    }
    const via =
      target.via === 'subdomain'
        ? `bucket ${target.bucket} under a service domain`
        : `custom domain for bucket ${target.bucket}`;
    steps.push({ step: 'name', ok: true, detail: via });
    const site = await this.opts.sites.site(target.bucket);
    steps.push({
      step: 'bucket',
      ok: site.exists,
      detail: site.exists ? `bucket ${target.bucket} exists` : `no bucket named ${target.bucket}`,
    });
    if (site.exists || exhaustive)
      steps.push({
        step: 'website',
        ok: site.exists ? site.servesWebsite : null,
        detail: site.exists ? site.detail : 'no bucket',
      });
    return { steps, custom: target.via === 'custom' };
  }

  /**
   * Runs the gate. On the handshake path it stops at the first failure; `exhaustive` (the CLI)
   * also runs the DNS steps after a failure so an owner sees everything to fix at once.
   */
  async check(rawName: string, opts: { exhaustive?: boolean } = {}): Promise<GateDecision> {
    const name = normalizeName(rawName);
    const exhaustive = opts.exhaustive === true;
    const { steps, custom } = await this.siteSteps(name, exhaustive);
    const failed = (): boolean => steps.some((s) => s.ok === false);
    if (steps[0]!.ok === true && !custom) {
      steps.push({ step: 'dns', ok: null, detail: 'not needed under a service domain' });
    } else if (custom) {
      steps.push(!failed() || exhaustive ? await this.dnsStep(name) : { step: 'dns', ok: null, detail: 'not checked' });
      if (this.opts.requireProof)
        steps.push(
          !failed() || exhaustive ? await this.proofStep(name) : { step: 'proof', ok: null, detail: 'not checked' },
        );
    }
    return this.finish(name, steps);
  }

  private finish(name: string, steps: GateStep[]): GateDecision {
    const bad = steps.find((s) => s.ok === false);
    return {
      name,
      allowed: bad === undefined,
      reason: bad ? `${bad.step}: ${bad.detail}` : 'all checks passed',
      steps,
    };
  }
}
