/**
 * Certificate issuance over ACME (RFC 8555) with the HTTP-01 challenge, through acme-client.
 * The explicit flow rather than `client.auto()`: auto() first fetches the token itself over
 * port 80 with the system resolver, which is wrong behind NAT and in tests, and it hides the
 * CA's problem document that `cellar cert list` should show.
 */
import type { Authorization, Client, Order } from 'acme-client';
import type { Logger } from '../../shared/logger.js';
import type { ChallengeStore } from './http.js';

export interface IssuedPair {
  keyPem: string;
  certPem: string;
}

export interface Issuer {
  issue(name: string): Promise<IssuedPair>;
}

export interface AcmeIssuerOptions {
  directoryUrl: string;
  email: string;
  /** Loads the persisted account key, creating it with `create` on first use. */
  accountKey(create: () => Promise<string>): Promise<string>;
  tokens: ChallengeStore;
  /** acme-client's polling backoff; its default of 5 s doubles a typical issuance. */
  backoffMinMs: number;
  /** Retries of one ACME HTTP request on 5xx/429/network errors (acme-client waits 5 s, 10 s, ... between). */
  httpRetries: number;
  logger: Logger;
}

type AcmeModule = typeof import('acme-client');

/** acme-client turns any network failure into "Cannot read properties of undefined (reading 'config')". */
function isOpaqueNetworkError(e: unknown): boolean {
  return e instanceof TypeError && /reading 'config'/.test(e.message);
}

async function reachability(url: string): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return `it answers HTTP ${res.status}`;
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? (e as Error).message;
  }
}

export class AcmeIssuer implements Issuer {
  private client: Promise<Client> | undefined;

  private constructor(
    private readonly acme: AcmeModule,
    private readonly opts: AcmeIssuerOptions,
  ) {}

  /** Loads acme-client only when issuance is configured: it is a large dependency tree. */
  static async create(opts: AcmeIssuerOptions): Promise<AcmeIssuer> {
    const acme = (await import('acme-client')).default as unknown as AcmeModule;
    const defaults = acme.axios.defaults as typeof acme.axios.defaults & { acmeSettings: { retryMaxAttempts: number } };
    defaults.acmeSettings.retryMaxAttempts = opts.httpRetries;
    defaults.timeout = 30_000;
    acme.setLogger((msg) => opts.logger.debug('acme-client', { msg }));
    return new AcmeIssuer(acme, opts);
  }

  /** One account per process, registered lazily; a new-account request with a known key returns that account (RFC 8555 §7.3.1). */
  private account(): Promise<Client> {
    this.client ??= (async () => {
      const { acme, opts } = this;
      const accountKey = await opts.accountKey(async () => (await acme.crypto.createPrivateEcdsaKey()).toString());
      const client = new acme.Client({
        directoryUrl: opts.directoryUrl,
        accountKey,
        backoffMin: opts.backoffMinMs,
        backoffMax: Math.max(opts.backoffMinMs * 8, 2000),
      });
      await client.createAccount({ termsOfServiceAgreed: true, contact: opts.email ? [`mailto:${opts.email}`] : [] });
      return client;
    })();
    this.client.catch(() => {
      this.client = undefined;
    });
    return this.client;
  }

  async issue(name: string): Promise<IssuedPair> {
    try {
      return await this.run(name);
    } catch (e) {
      // Re-register on the next attempt: a CA that lost the account (a test CA restarted, an
      // account deactivated) would otherwise fail every order until Cellar restarts.
      this.client = undefined;
      if (isOpaqueNetworkError(e))
        throw new Error(
          `cannot talk to the ACME server ${this.opts.directoryUrl}: ${await reachability(this.opts.directoryUrl)}`,
        );
      throw e;
    }
  }

  private async run(name: string): Promise<IssuedPair> {
    const { acme } = this;
    const client = await this.account();
    const order = await client.createOrder({ identifiers: [{ type: 'dns', value: name }] });
    for (const authz of await client.getAuthorizations(order)) {
      // A CA may reuse an authorization it validated recently.
      if (authz.status === 'valid') continue;
      await this.validate(client, order, authz, name);
    }
    const [key, csr] = await acme.crypto.createCsr({ altNames: [name] }, await acme.crypto.createPrivateEcdsaKey());
    const finalized = await client.finalizeOrder(order, csr);
    const certPem = await client.getCertificate(finalized);
    return { keyPem: key.toString(), certPem };
  }

  private async validate(client: Client, order: Order, authz: Authorization, name: string): Promise<void> {
    const challenge = authz.challenges.find((c) => c.type === 'http-01');
    if (!challenge) throw new Error(`the CA offers no http-01 challenge for ${name}`);
    const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
    await this.opts.tokens.set(challenge.token, keyAuthorization);
    try {
      await client.completeChallenge(challenge);
      await client.waitForValidStatus(challenge);
    } catch (e) {
      throw new Error(`HTTP-01 validation of ${name} failed: ${await this.problem(client, order, authz, e)}`);
    } finally {
      // A shared token that outlives its order is harmless (the CA never asks for it again):
      // a failed delete must not turn an issued certificate into a failure.
      await Promise.resolve(this.opts.tokens.delete(challenge.token)).catch(() => undefined);
    }
  }

  /** The CA's problem document (type and detail) from the failed challenge, else the thrown message. */
  private async problem(client: Client, order: Order, authz: Authorization, e: unknown): Promise<string> {
    try {
      const again = (await client.getAuthorizations(order)).find((a) => a.url === authz.url);
      const err = again?.challenges.find((c) => c.type === 'http-01')?.error as
        | { type?: string; detail?: string }
        | undefined;
      if (err?.detail) return `${err.detail}${err.type ? ` (${err.type})` : ''}`;
    } catch {
      // Fall back to the message below.
    }
    return (e as Error).message;
  }
}
