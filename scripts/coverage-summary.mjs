// Prints line coverage per source folder from c8's json-summary (which lists files only):
// `node scripts/coverage-summary.mjs <coverage-summary.json>`.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const summary = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const folders = new Map();
for (const [file, metrics] of Object.entries(summary)) {
  if (file === 'total') continue;
  const folder = path.relative(process.cwd(), path.dirname(file));
  const f = folders.get(folder) ?? { covered: 0, total: 0, files: 0 };
  f.covered += metrics.lines.covered;
  f.total += metrics.lines.total;
  f.files += 1;
  folders.set(folder, f);
}
const pct = (covered, total) => (total === 0 ? 100 : (100 * covered) / total).toFixed(1).padStart(5);
const width = Math.max(...[...folders.keys()].map((k) => k.length), 'folder'.length);
console.log(`${'folder'.padEnd(width)}  files  lines covered      %`);
for (const [folder, f] of [...folders].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(
    `${folder.padEnd(width)}  ${String(f.files).padStart(5)}  ${`${f.covered}/${f.total}`.padStart(13)}  ${pct(f.covered, f.total)}`,
  );
}
const t = summary.total.lines;
console.log(
  `${'all of src'.padEnd(width)}  ${String(folders.size ? [...folders.values()].reduce((n, f) => n + f.files, 0) : 0).padStart(5)}  ${`${t.covered}/${t.total}`.padStart(13)}  ${pct(t.covered, t.total)}`,
);
