/** Installs the reference systems from Debian when they are missing (as root, apt-get). */
import { existsSync } from 'node:fs';
import { commandExists, run } from './proc.js';

export interface Need {
  /** The command (or, starting with '/', the file) that must exist afterwards. */
  cmd: string;
  /** The Debian package that provides it. */
  pkg: string;
}

const present = async (n: Need): Promise<boolean> => (n.cmd.startsWith('/') ? existsSync(n.cmd) : commandExists(n.cmd));

export async function ensurePackages(needs: Need[], log: (s: string) => void): Promise<void> {
  const missing: Need[] = [];
  for (const n of needs) if (!(await present(n))) missing.push(n);
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((m) => m.pkg))];
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing ${missing.map((m) => m.cmd).join(', ')}: run as root or install the Debian packages ${pkgs.join(' ')}`,
    );
  }
  log(`installing ${pkgs.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const lock = ['-o', 'DPkg::Lock::Timeout=600'];
  // The package lists may be empty on a fresh machine; update once if any package is unknown.
  for (const p of pkgs) {
    if ((await run('apt-cache', ['show', p], { env })).code !== 0) {
      const u = await run('apt-get', [...lock, 'update', '-q'], { env });
      if (u.code !== 0) throw new Error(`apt-get update failed:\n${u.stderr.slice(-2000)}`);
      break;
    }
  }
  const r = await run('apt-get', [...lock, 'install', '-y', '-q', '--no-install-recommends', ...pkgs], { env });
  if (r.code !== 0)
    throw new Error(`apt-get install ${pkgs.join(' ')} failed:\n${r.stderr.slice(-2000)}${r.stdout.slice(-2000)}`);
  for (const n of missing) if (!(await present(n))) throw new Error(`${n.pkg} installed but ${n.cmd} is still missing`);
}
