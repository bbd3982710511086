import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI } from './server.js';

/**
 * `cellar serve` started under a wrapper (strace) or with extra environment (an LD_PRELOAD
 * shim), on a data dir and port a plain server already set up (startServer, then stop).
 */
export interface WrappedServer {
  readonly child: ChildProcess;
  stderr(): string;
  /** SIGTERM (or the given signal) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startWrapped(
  wrapper: string[],
  env: NodeJS.ProcessEnv,
  endpoint: string,
  timeoutMs = 30_000,
): Promise<WrappedServer> {
  const [file, ...args] = [...wrapper, process.execPath, CLI, 'serve'];
  const child = spawn(file!, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Under a wrapper the server is the wrapper's child: signal it, not the wrapper (strace
  // would detach and leave the server running); the wrapper exits with it.
  const serverPid = (): number => {
    if (wrapper.length === 0) return child.pid!;
    const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/);
    return Number(kids[0]);
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(serverPid(), signal);
      } catch {
        child.kill('SIGKILL');
      }
    }
    await exited;
  };
  process.once('exit', () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(serverPid(), 'SIGKILL');
      } catch {
        // already gone
      }
      child.kill('SIGKILL');
    }
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`server exited (${child.exitCode ?? child.signalCode}) before it answered\nstderr: ${err}`);
    try {
      const res = await fetch(`${endpoint}/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop('SIGKILL');
        throw new Error(`server did not answer on ${endpoint} within ${timeoutMs} ms\nstderr: ${err}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { child, stderr: () => err, stop };
}
