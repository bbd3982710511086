/** The table every scenario contributes rows to, and the description of the machine it ran on. */
import { cpus, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { run } from './proc.js';

export interface Row {
  scenario: string;
  cellar: string;
  reference: string;
  /** cellar / reference (or 1M / 10k for listings); null when there is no reference figure. */
  ratio: number | null;
  target: string;
  /** null: no target for this row, or it could not be measured. */
  met: boolean | null;
}

export function ratioRow(
  scenario: string,
  cellar: number,
  ref: number,
  unit: string,
  digits: number,
  minRatio: number,
  refName: string,
): Row {
  const ratio = cellar / ref;
  return {
    scenario,
    cellar: `${fmt(cellar, digits)} ${unit}`,
    reference: `${fmt(ref, digits)} ${unit} (${refName})`,
    ratio,
    target: `>= ${minRatio}x`,
    met: Number.isFinite(ratio) ? ratio >= minRatio : null,
  };
}

export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function errorRow(scenario: string, e: unknown): Row {
  const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 100);
  return { scenario, cellar: 'FAILED', reference: msg, ratio: null, target: '', met: null };
}

/** A plain-text table (also valid Markdown), so it pastes into the README as is. */
export function renderTable(rows: Row[]): string {
  const head = ['scenario', 'Cellar', 'reference', 'ratio', 'target', 'met?'];
  const cells = rows.map((r) => [
    r.scenario,
    r.cellar,
    r.reference,
    r.ratio === null ? '' : `${r.ratio.toFixed(2)}x`,
    r.target,
    r.met === null ? '' : r.met ? 'yes' : 'NO',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => `| ${c.map((s, i) => s.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

async function version(cmd: string, args: string[], re: RegExp): Promise<string> {
  const r = await run(cmd, args);
  const m = re.exec(r.stdout + r.stderr);
  return m ? m[1]! : 'not installed';
}

export async function describeMachine(): Promise<string> {
  const cpu = cpus();
  let os = 'Linux';
  try {
    os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os;
  } catch {
    /* not Linux: keep the default */
  }
  const kernel = (await run('uname', ['-r'])).stdout.trim();
  const disk =
    (await run('df', ['-h', '--output=source,fstype,size', '.'])).stdout
      .trim()
      .split('\n')
      .pop()
      ?.replace(/\s+/g, ' ') ?? '';
  const parts = [
    `${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, ${os}, kernel ${kernel}, disk ${disk}`,
    `node ${process.version}; nginx ${await version('nginx', ['-v'], /nginx\/(\d\S*)/)}; caddy ${await version('caddy', ['version'], /^v?(\d+\.\d+\.\d+)/)}; ` +
      `wrk ${await version('wrk', ['--version'], /^wrk (\S+)/)}; ceph ${await version('ceph', ['--version'], /ceph version (\d\S*)/)}`,
  ];
  return parts.join('\n');
}
