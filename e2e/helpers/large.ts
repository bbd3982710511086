/**
 * Helpers for the large-object end-to-end tests: big random files, hashing, the server's memory
 * as the kernel reports it, and an isolated environment for each aws CLI.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export const MiB = 1024 * 1024;

/** Random bytes in 1 MiB chunks, `size` in all, hashed (SHA-256) as they are produced. */
export function randomSource(size: number): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  let left = size;
  const stream = new Readable({
    highWaterMark: 4 * MiB,
    read() {
      if (left === 0) return void this.push(null);
      const chunk = randomBytes(Math.min(left, MiB));
      left -= chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, sha256: () => hash.digest('hex') };
}

/** Writes `size` random bytes to `file`; returns their SHA-256. */
export async function randomFile(file: string, size: number): Promise<string> {
  const src = randomSource(size);
  await pipeline(src.stream, createWriteStream(file));
  return src.sha256();
}

export async function sha256Stream(s: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of s) hash.update(chunk);
  return hash.digest('hex');
}

export function fileSha256(file: string): Promise<string> {
  return sha256Stream(createReadStream(file, { highWaterMark: 4 * MiB }));
}

/** MB/s (10^6 bytes per second), as tools print throughput. */
export function throughput(bytes: number, ms: number): string {
  return `${(bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s`;
}

/** The pid of the `cellar serve` child running over `dataDir`, found by its environment in /proc. */
export function serverPid(dataDir: string): number {
  const want = `CELLAR_DATA_DIR=${dataDir}\0`;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${name}/environ`, 'latin1') + '\0';
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'latin1');
      if (environ.includes(want) && cmdline.includes('cli.js\0serve')) return Number(name);
    } catch {
      // The process ended while we looked, or is not ours to read.
    }
  }
  throw new Error(`no cellar serve process over ${dataDir}`);
}

/** A field of /proc/<pid>/status in KiB, e.g. VmRSS or VmHWM (the peak RSS since the process started). */
export function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} for pid ${pid}`);
  return Number(m[1]);
}

/** Samples VmRSS every `everyMs` until stopped; returns the largest sample and the kernel's VmHWM. */
export function sampleRss(
  pid: number,
  everyMs = 50,
): { stop(): { peakSampleMiB: number; hwmMiB: number; samples: number } } {
  let peak = statusKiB(pid, 'VmRSS');
  let samples = 1;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, statusKiB(pid, 'VmRSS'));
      samples++;
    } catch {
      // The process is gone; the test will say why.
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { peakSampleMiB: peak / 1024, hwmMiB: statusKiB(pid, 'VmHWM') / 1024, samples };
    },
  };
}

/**
 * The environment for an aws CLI run against the test server: credentials and region from
 * variables, empty config files of our own, nothing from the machine's AWS setup.
 */
export function awsEnv(
  work: string,
  creds: { accessKeyId: string; secretAccessKey: string },
  config = '',
): NodeJS.ProcessEnv {
  const configFile = path.join(work, `aws-config-${randomBytes(4).toString('hex')}`);
  const credentialsFile = path.join(work, `aws-credentials-${randomBytes(4).toString('hex')}`);
  writeFileSync(configFile, config);
  writeFileSync(credentialsFile, '');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  return {
    ...env,
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: configFile,
    AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}
