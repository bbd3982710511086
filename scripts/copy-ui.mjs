// The dashboard is plain HTML, CSS and ES modules: tsc does not copy them, so the build does,
// next to the compiled module that serves them (dist/src/admin/ui/).
import { cpSync, rmSync } from 'node:fs';

rmSync('dist/src/admin/ui', { recursive: true, force: true });
cpSync('src/admin/ui', 'dist/src/admin/ui', { recursive: true });
