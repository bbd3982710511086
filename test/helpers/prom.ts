/**
 * A strict reader of the Prometheus text exposition format (0.0.4): every line must be a
 * comment, a HELP/TYPE line or a well-formed sample, or parsing throws. Enough to prove that
 * /metrics is what a Prometheus server accepts.
 * https://github.com/prometheus/docs/blob/main/docs/instrumenting/exposition_formats.md
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL_NAME = '[a-zA-Z_][a-zA-Z0-9_]*';
const SAMPLE_RE = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+(-?\\d+))?$`);
const LABEL_RE = new RegExp(`^(${LABEL_NAME})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`);
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(v: string, line: string): number {
  if (v === '+Inf') return Number.POSITIVE_INFINITY;
  if (v === '-Inf') return Number.NEGATIVE_INFINITY;
  if (v === 'NaN') return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) throw new Error(`bad value in: ${line}`);
  return Number(v);
}

function parseLabels(s: string, line: string): Record<string, string> {
  const out: Record<string, string> = {};
  let rest = s;
  while (rest.length > 0) {
    const m = LABEL_RE.exec(rest);
    if (!m) throw new Error(`bad labels in: ${line}`);
    if (m[1]! in out) throw new Error(`repeated label ${m[1]} in: ${line}`);
    out[m[1]!] = m[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    rest = rest.slice(m[0].length);
    if (rest.startsWith(',')) rest = rest.slice(1);
    else if (rest.length > 0) throw new Error(`bad labels in: ${line}`);
  }
  return out;
}

export function parsePrometheus(text: string): Sample[] {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a line feed');
  const samples: Sample[] = [];
  const typed = new Map<string, string>();
  const seen = new Set<string>();
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = new RegExp(`^# (HELP|TYPE) (${NAME})(?: (.*))?$`).exec(line);
      if (!m) continue; // a plain comment
      if (m[1] === 'TYPE') {
        if (!TYPES.has(m[3] ?? '')) throw new Error(`bad TYPE: ${line}`);
        if (typed.has(m[2]!)) throw new Error(`second TYPE for ${m[2]}`);
        typed.set(m[2]!, m[3]!);
      }
      continue;
    }
    const m = SAMPLE_RE.exec(line);
    if (!m) throw new Error(`not a sample: ${line}`);
    const labels = m[2] === undefined ? {} : parseLabels(m[2], line);
    const id = `${m[1]}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(id)) throw new Error(`duplicate sample: ${line}`);
    seen.add(id);
    samples.push({ name: m[1]!, labels, value: parseValue(m[3]!, line) });
  }
  return samples;
}

/** The sum of the samples named `name` whose labels include `labels`; 0 when none. */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return hits.reduce((a, s) => a + s.value, 0);
}
