/** The gate's DNS questions, asked of one configured server (CELLAR_DNS_RESOLVER) or the system's. */
import { Resolver } from 'node:dns/promises';
import type { DnsLookup } from './gate.js';

/** "No such record" answers; anything else (timeout, SERVFAIL, refused) is a failed lookup. */
const NO_RECORD = new Set(['ENODATA', 'ENOTFOUND']);

async function orEmpty<T>(p: Promise<T[]>): Promise<T[]> {
  try {
    return await p;
  } catch (e) {
    if (NO_RECORD.has((e as NodeJS.ErrnoException).code ?? '')) return [];
    throw e;
  }
}

/** `server` is `host:port` (`[v6]:port` for IPv6), or '' for the system resolver. */
export function createDnsLookup(server: string, timeoutMs = 2000): DnsLookup {
  const r = new Resolver({ timeout: timeoutMs, tries: 2 });
  if (server !== '') r.setServers([server]);
  return {
    cname: (name) => orEmpty(r.resolveCname(name)),
    async addresses(name) {
      const [v4, v6] = await Promise.all([orEmpty(r.resolve4(name)), orEmpty(r.resolve6(name))]);
      return [...v4, ...v6];
    },
    // A TXT record arrives as character-strings of up to 255 bytes; its value is their concatenation.
    txt: async (name) => (await orEmpty(r.resolveTxt(name))).map((chunks) => chunks.join('')),
  };
}
