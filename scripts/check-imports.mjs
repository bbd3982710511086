// Enforces the import rules of docs/architecture.md over src/ and e2e/. A dozen regular rules over
// relative imports: simpler to keep here than a dependency-cruiser config.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts')) files.push(p);
  }
}
walk(path.join(root, 'src'));
walk(path.join(root, 'e2e'));

const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
const PURE = ['auth', 'policy', 'cors', 'website', 'checksum', 'lifecycle', 'lock'];
const IO_MODULES = [
  'node:fs',
  'node:fs/promises',
  'node:http',
  'node:https',
  'node:net',
  'node:child_process',
  'better-sqlite3',
];
const problems = [];
/** src/ file -> the src/ files it imports (type-only imports too: a cycle of types is still a tangle). */
const graph = new Map();

for (const file of files) {
  const rel = path.relative(root, file).split(path.sep).join('/');
  const text = readFileSync(file, 'utf8');
  const isTest = rel.endsWith('.test.ts');
  const bad = (what) => problems.push(`${rel}: ${what}`);
  // State lives in objects passed in by the composition root, never in a module.
  if (!isTest && rel.startsWith('src/') && /^(?:export\s+)?(?:let|var)\s/m.test(text))
    bad('declares a module-level let/var (pass state in instead)');
  if (!isTest && !rel.startsWith('src/config/') && /process\.env\b/.test(text)) {
    if (!rel.startsWith('e2e/')) bad('reads process.env (only src/config/ may)');
  }
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2];
    const target = spec.startsWith('.')
      ? path
          .relative(root, path.resolve(path.dirname(file), spec))
          .split(path.sep)
          .join('/')
      : spec;
    if (rel.startsWith('src/')) {
      const to =
        spec === '#storage'
          ? 'src/storage/index.ts'
          : target.startsWith('src/')
            ? target.replace(/\.js$/, '.ts')
            : null;
      if (to !== null) graph.set(rel, [...(graph.get(rel) ?? []), to]);
    }
    if (rel.startsWith('e2e/')) {
      if (target.startsWith('src/') || spec === '#storage') bad(`e2e imports ${spec}`);
      continue;
    }
    const inStorage = rel.startsWith('src/storage/');
    if (
      rel.startsWith('src/shared/') &&
      ((target.startsWith('src/') && !target.startsWith('src/shared/')) || spec === '#storage')
    )
      bad(`shared/ imports ${spec}`);
    if (
      rel.startsWith('src/config/') &&
      target.startsWith('src/') &&
      !target.startsWith('src/shared/') &&
      !target.startsWith('src/config/')
    )
      bad(`config/ imports ${spec}`);
    if (inStorage) {
      if (['express', 'node:http', 'node:https', 'fast-xml-parser', 'http-proxy'].includes(spec))
        bad(`storage imports ${spec}`);
      if (target.startsWith('src/s3api/') || target.startsWith('src/gateway/') || spec === '#storage')
        bad(`storage imports ${spec}`);
      const sub = rel.split('/')[2];
      const targetSub = target.startsWith('src/storage/') ? target.split('/')[2] : null;
      if (sub === 'meta' && targetSub === 'blobs') bad('meta/ imports blobs/');
      if (sub === 'blobs' && targetSub === 'meta') bad('blobs/ imports meta/');
      if (PURE.includes(sub) && !isTest && IO_MODULES.includes(spec)) bad(`pure module ${sub}/ imports ${spec}`);
    } else if (target.startsWith('src/storage/')) {
      bad(`imports a deep storage path ${spec} (use #storage)`);
    }
    // The CLI parses arguments and calls admin/ (shared with the admin API) or main.ts; it does no work itself.
    if (
      rel === 'src/cli.ts' &&
      !spec.startsWith('node:') &&
      spec !== '#storage' &&
      !target.startsWith('src/admin/') &&
      !target.startsWith('src/config/') &&
      target !== 'src/main.js'
    ) {
      bad(`cli.ts imports ${spec} (only admin/, config/, main.ts and #storage)`);
    }
    if (rel.startsWith('src/s3api/') && target.startsWith('src/gateway/')) bad(`s3api imports gateway (${spec})`);
    if (rel.startsWith('src/gateway/') && target.startsWith('src/s3api/')) bad(`gateway imports s3api (${spec})`);
  }
}

// No import cycles in src/: modules must load in one order, and a cycle means two modules are
// really one (the gateway's server.ts <-> tls/index.ts cycle was split by gateway/listener.ts).
{
  const state = new Map(); // file -> 'open' while on the DFS stack, 'done' after
  const stack = [];
  const reported = new Set();
  const visit = (f) => {
    state.set(f, 'open');
    stack.push(f);
    for (const to of graph.get(f) ?? []) {
      if (state.get(to) === 'open') {
        const cycle = [...stack.slice(stack.indexOf(to)), to];
        const id = [...cycle.slice(0, -1)].sort().join(' ');
        if (!reported.has(id)) {
          reported.add(id);
          problems.push(`import cycle: ${cycle.join(' -> ')}`);
        }
      } else if (!state.has(to)) {
        visit(to);
      }
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of [...graph.keys()].sort()) if (!state.has(f)) visit(f);
}

if (problems.length > 0) {
  console.error('import rule violations:\n  ' + problems.join('\n  '));
  process.exit(1);
}
console.log(`import rules: ${files.length} files checked, no violations`);
