/**
 * Every process the bench starts is tracked by PID and stopped again: on success, on failure
 * and on Ctrl-C. Nothing is ever stopped by name, so a system nginx (Debian starts one on
 * install) or another user's server is left alone.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { sleep } from './stats.js';

/** CPU sets: servers on one core, load generators on the other, so neither starves the other. */
export interface CpuPlan {
  server: string | null;
  client: string | null;
}

export type Cleanup = () => Promise<void> | void;

const cleanups: { name: string; fn: Cleanup }[] = [];

/** Registers an undo step; runAll() runs them newest first. Returns a function that runs and removes it. */
export function onCleanup(name: string, fn: Cleanup): () => Promise<void> {
  const entry = { name, fn };
  cleanups.push(entry);
  return async () => {
    const i = cleanups.indexOf(entry);
    if (i < 0) return;
    cleanups.splice(i, 1);
    await entry.fn();
  };
}

export function cleanupDepth(): number {
  return cleanups.length;
}

/** Runs the undo steps registered after `depth` was taken (all of them by default), newest first. */
export async function runCleanups(depth = 0): Promise<void> {
  while (cleanups.length > depth) {
    const { name, fn } = cleanups.pop()!;
    try {
      await fn();
    } catch (e) {
      process.stderr.write(`[bench] cleanup of ${name} failed: ${(e as Error).message}\n`);
    }
  }
}

/** Daemons still running: killed synchronously if the process exits without its cleanups. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Ctrl-C / SIGTERM: stop what we started, then exit with the conventional status. */
export function installSignalHandlers(): void {
  process.on('uncaughtException', (e) => {
    process.stderr.write(`[bench] uncaught: ${e.stack ?? String(e)}\n`);
    runCleanups().finally(() => process.exit(1));
  });
  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`\n[bench] ${sig}: stopping everything the bench started\n`);
      runCleanups().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
    });
  }
}

export function withCpus(cpus: string | null, cmd: string, args: string[]): [string, string[]] {
  // taskset execs the command, so the PID we hold is the server's own.
  return cpus === null ? [cmd, args] : ['taskset', ['-c', cpus, cmd, ...args]];
}

export interface Daemon {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  output(): string;
  alive(): boolean;
  stop(): Promise<void>;
}

export interface StartOptions {
  cpus?: string | null;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where stdout and stderr go; kept in memory (last 64 KiB) when absent. */
  logFile?: string;
  /** Signal for a graceful stop (nginx: SIGQUIT drains, SIGTERM is fast). */
  stopSignal?: NodeJS.Signals;
}

/** Starts a long-running process and registers its stop. */
export function startDaemon(name: string, cmd: string, args: string[], o: StartOptions = {}): Daemon {
  const [c, a] = withCpus(o.cpus ?? null, cmd, args);
  let out = '';
  const opts: SpawnOptions = { env: o.env ?? process.env, cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] };
  let fd: number | null = null;
  if (o.logFile !== undefined) {
    fd = openSync(o.logFile, 'a');
    opts.stdio = ['ignore', fd, fd];
  }
  const child = spawn(c, a, opts);
  if (fd !== null) closeSync(fd);
  const keep = (d: Buffer): void => {
    out += d.toString('utf8');
    if (out.length > 65536) out = out.slice(-65536);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (e) => keep(Buffer.from(`spawn error: ${e.message}\n`)));
  if (child.pid === undefined) throw new Error(`${name}: could not start ${cmd}`);
  const pid = child.pid;
  live.add(child);
  child.once('exit', () => live.delete(child));
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  const stop = async (): Promise<void> => {
    if (!alive()) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(o.stopSignal ?? 'SIGTERM');
    const timedOut = await Promise.race([exited.then(() => false), sleep(10_000).then(() => true)]);
    if (timedOut && alive()) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  const unregister = onCleanup(`${name} (pid ${pid})`, stop);
  return {
    name,
    pid,
    child,
    alive,
    output: () => (o.logFile !== undefined ? readTail(o.logFile) : out),
    stop: unregister,
  };
}

function readTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-8192);
  } catch {
    return '';
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to completion (stopped on Ctrl-C too); never throws on a non-zero exit. */
export function run(
  cmd: string,
  args: string[],
  o: { cpus?: string | null; env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {},
): Promise<RunResult> {
  const [c, a] = withCpus(o.cpus ?? null, cmd, args);
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(c, a, {
      env: o.env ?? process.env,
      cwd: o.cwd,
      stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    const unregister = onCleanup(`${cmd} (pid ${child.pid})`, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    if (o.input !== undefined) child.stdin!.end(o.input);
    child.on('error', (e) => {
      stderr += `spawn error: ${e.message}\n`;
    });
    child.on('close', (code) => {
      void unregister();
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

export async function runOk(cmd: string, args: string[], o: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  const r = await run(cmd, args, o);
  if (r.code !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}\n${r.stderr.slice(-2000)}${r.stdout.slice(-1000)}`);
  return r;
}

export async function commandExists(cmd: string): Promise<boolean> {
  return (await run('sh', ['-c', `command -v ${cmd}`])).code === 0;
}

/** A free TCP port on loopback: listen on port 0, note the port, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function waitForPort(port: number, d: Daemon, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await connects(port))) {
    if (!d.alive()) throw new Error(`${d.name} exited before listening on ${port}:\n${d.output()}`);
    if (Date.now() > deadline)
      throw new Error(`${d.name} does not listen on ${port} after ${timeoutMs} ms:\n${d.output()}`);
    await sleep(50);
  }
}

/** Peak and current resident set of a process, in bytes (/proc/<pid>/status). */
export function memoryOf(pid: number): { hwm: number; rss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
}

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on every Linux this runs on). */
const CLK_TCK = 100;

/** CPU seconds (user + system) used so far by `pid` and all its descendants (nginx's worker). */
export function cpuSeconds(pid: number): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const s = readFileSync(`/proc/${e}/stat`, 'utf8');
      // Fields after the parenthesised command name: state ppid ... utime(14) stime(15).
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(e), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // The process ended while we looked.
    }
  }
  let ticks = 0;
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop()!;
    ticks += stats.get(p)?.ticks ?? 0;
    for (const [child, st] of stats) if (st.ppid === p) todo.push(child);
  }
  return ticks / CLK_TCK;
}
