/** What `cellar cert list` shows, from what a CertCatalog loaded (the server need not run). */
import type { GateDecision } from './gate.js';
import { renewalDue } from './manager.js';
import type { LoadResult } from './store.js';

export type CertState = 'valid' | 'renewal due' | 'expired' | 'failing';

export interface CertRow {
  /** The store directory: the host name for issued certificates. */
  name: string;
  names: string[];
  issuer: string | null;
  notAfter: string | null;
  status: CertState;
  /** Issued (and renewed) by Cellar; false for operator-provided certificates. */
  managed: boolean;
  lastError: string | null;
  lastErrorAt: string | null;
  failures: number;
  nextAttemptAt: string | null;
}

export function certificateRows(
  loaded: LoadResult,
  now: number,
  renewWindowMs: number,
): { rows: CertRow[]; problems: string[] } {
  const statuses = new Map(loaded.statuses.map((s) => [s.name, s]));
  const rows: CertRow[] = [];
  const withStatus = (row: Omit<CertRow, 'lastError' | 'lastErrorAt' | 'failures' | 'nextAttemptAt'>): CertRow => {
    const st = statuses.get(row.name);
    statuses.delete(row.name);
    return {
      ...row,
      lastError: st?.lastError ?? null,
      lastErrorAt: st?.lastErrorAt.toISOString() ?? null,
      failures: st?.failures ?? 0,
      nextAttemptAt: st?.nextAttemptAt.toISOString() ?? null,
    };
  };
  for (const c of loaded.certs) {
    const expired = c.notAfter.getTime() <= now;
    const status: CertState = expired
      ? 'expired'
      : c.managed && renewalDue(c, now, renewWindowMs)
        ? 'renewal due'
        : 'valid';
    rows.push(
      withStatus({
        name: c.dir,
        names: c.names,
        issuer: c.issuer,
        notAfter: c.notAfter.toISOString(),
        status,
        managed: c.managed,
      }),
    );
  }
  // Names whose first issuance failed have a status but no certificate yet.
  for (const st of [...statuses.values()]) {
    rows.push(
      withStatus({ name: st.name, names: [st.name], issuer: null, notAfter: null, status: 'failing', managed: true }),
    );
  }
  rows.sort((a, b) => a.name.localeCompare(b.name));
  return { rows, problems: loaded.problems };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function formatCertTable(rows: CertRow[]): string {
  if (rows.length === 0) return 'no certificates\n';
  return table(
    ['NAME', 'ISSUER', 'NOT-AFTER', 'STATUS', 'LAST ERROR'],
    rows.map((r) => [
      r.managed ? r.name : `${r.names.join(',')} (operator)`,
      r.issuer ?? '-',
      r.notAfter ?? '-',
      r.status,
      r.lastError === null ? '-' : `${r.lastError} [${r.failures} failure(s), next attempt ${r.nextAttemptAt}]`,
    ]),
  );
}

export interface DomainReport {
  decision: GateDecision;
  /** The certificate a handshake for this name would get now, if any. */
  certificate: { names: string[]; issuer: string; notAfter: string } | null;
  onDemand: boolean;
  backoff: { failures: number; lastError: string; nextAttemptAt: string } | null;
}

export function formatDomainReport(r: DomainReport): string {
  const mark = (ok: boolean | null): string => (ok === null ? '-' : ok ? 'ok' : 'FAIL');
  const out = [`domain check ${r.decision.name}`];
  out.push(
    table(
      ['STEP', 'RESULT', 'DETAIL'],
      r.decision.steps.map((s) => [s.step, mark(s.ok), s.detail]),
    ).trimEnd(),
  );
  const c = r.certificate;
  out.push(`certificate: ${c ? `${c.names.join(', ')} from ${c.issuer}, valid until ${c.notAfter}` : 'none'}`);
  if (r.backoff)
    out.push(
      `last issuance failed (${r.backoff.failures} failure(s)), next attempt after ${r.backoff.nextAttemptAt}: ${r.backoff.lastError}`,
    );
  if (c) out.push('result: served with the certificate above (the gate is not consulted while it is valid)');
  else if (!r.onDemand) out.push('result: on-demand issuance is off (set CELLAR_ACME_DIRECTORY and CELLAR_HTTPS_PORT)');
  else if (r.decision.allowed)
    out.push(`result: allowed; the first HTTPS request for ${r.decision.name} obtains a certificate`);
  else out.push(`result: refused (${r.decision.reason}); no order is sent to the CA`);
  return out.join('\n') + '\n';
}
