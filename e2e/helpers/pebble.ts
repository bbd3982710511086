/**
 * Debian's `pebble` (a test ACME CA) and `pebble-challtestsrv` (its mock DNS), on loopback ports,
 * set up as Pebble's README describes (https://github.com/letsencrypt/pebble): a listener CA made here with
 * openssl (the package ships none), no random validation sleep, no nonce rejection, no authz
 * reuse, challtestsrv as the only DNS (every name -> 127.0.0.1, no AAAA unless a test adds one).
 * Both daemons are stopped by PID; nothing is left running or bound after stop().
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './server.js';

export interface PebblePorts {
  acme: number;
  management: number;
  tlsAlpn: number;
  dns: number;
  challManagement: number;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed EC P-256 certificate for `cn` in `dir`, with `-addext` extensions; generated in a few ms. */
function selfSigned(dir: string, cn: string, days: number, keyFile: string, certFile: string, exts: string[]): void {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      String(days),
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      keyFile,
      '-out',
      certFile,
      ...exts.flatMap((e) => ['-addext', e]),
    ],
    dir,
  );
}

/** A test CA (key + self-signed certificate) in `dir`. */
export function makeCa(dir: string, cn: string): void {
  selfSigned(dir, cn, 3650, 'ca.key', 'ca.pem', ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign']);
}

/**
 * A self-signed certificate for `host` and any further `sans` (e.g. `DNS:*.example.test`), no CA
 * behind it, written as `cert.pem` / `key.pem` in `dir`.
 */
export function selfSignedLeaf(
  dir: string,
  host: string,
  days: number,
  sans: string[] = [],
): { certPath: string; keyPath: string } {
  selfSigned(dir, host, days, 'key.pem', 'cert.pem', [`subjectAltName=${[`DNS:${host}`, ...sans].join(',')}`]);
  return { certPath: path.join(dir, 'cert.pem'), keyPath: path.join(dir, 'key.pem') };
}

/** A leaf for `sans` (e.g. `DNS:localhost,IP:127.0.0.1`) signed by the CA in `dir`, written as `<name>.pem` / `<name>.key`. */
export function signLeaf(dir: string, name: string, sans: string, days = 3650): { certPath: string; keyPath: string } {
  openssl(
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      `/CN=${sans.split(',')[0]!.replace(/^\w+:/, '')}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    ],
    dir,
  );
  writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${sans}\nextendedKeyUsage=serverAuth\n`);
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      String(days),
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    ],
    dir,
  );
  return { certPath: path.join(dir, `${name}.pem`), keyPath: path.join(dir, `${name}.key`) };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, timeout: 2000 }, (res) => {
      let body = '';
      res
        .setEncoding('utf8')
        .on('data', (d: string) => {
          body += d;
        })
        .on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

interface Daemon {
  child: ChildProcess;
  out: string;
}

function launch(file: string, args: string[], env: NodeJS.ProcessEnv): Daemon {
  const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const d: Daemon = { child, out: '' };
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    d.out += s;
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    d.out += s;
  });
  // A crashed test run must not leave a CA behind.
  const reap = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  return d;
}

export class Pebble {
  private pebble: Daemon | null = null;
  private chall: Daemon | null = null;
  /** The issuing root of the running instance (new on every start): what verifies issued certificates. */
  rootPem = '';
  rootPath = '';

  private constructor(
    readonly dir: string,
    readonly ports: PebblePorts,
  ) {}

  /**
   * Work directory, listener CA and ports, before anything starts: the Cellar process needs the
   * directory URL, the DNS address and NODE_EXTRA_CA_CERTS at its own start, and Pebble needs
   * Cellar's HTTP port as its `httpPort`.
   */
  static async prepare(): Promise<Pebble> {
    const dir = mkdtempSync(path.join(tmpdir(), 'cellar-pebble-'));
    makeCa(dir, 'pebble listener test CA');
    signLeaf(dir, 'listener', 'DNS:localhost,IP:127.0.0.1');
    const ports = {
      acme: await freePort(),
      management: await freePort(),
      tlsAlpn: await freePort(),
      dns: await freePort(),
      challManagement: await freePort(),
    };
    return new Pebble(dir, ports);
  }

  get directoryUrl(): string {
    return `https://127.0.0.1:${this.ports.acme}/dir`;
  }

  get dnsServer(): string {
    return `127.0.0.1:${this.ports.dns}`;
  }

  /** For NODE_EXTRA_CA_CERTS of the Cellar process: the CA of Pebble's own HTTPS. */
  get listenerCaPath(): string {
    return path.join(this.dir, 'ca.pem');
  }

  get listenerCaPem(): string {
    return readFileSync(this.listenerCaPath, 'utf8');
  }

  async start(httpPort: number): Promise<void> {
    const p = this.ports;
    writeFileSync(
      path.join(this.dir, 'pebble.json'),
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${p.acme}`,
          managementListenAddress: `127.0.0.1:${p.management}`,
          certificate: path.join(this.dir, 'listener.pem'),
          privateKey: path.join(this.dir, 'listener.key'),
          httpPort,
          tlsPort: p.tlsAlpn,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
        },
      }),
    );
    await this.startChallSrv();
    this.pebble = launch(
      'pebble',
      ['-config', path.join(this.dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${p.dns}`, '-strict=false'],
      {
        ...process.env,
        PEBBLE_VA_NOSLEEP: '1',
        PEBBLE_WFE_NONCEREJECT: '0',
        PEBBLE_AUTHZREUSE: '0',
      },
    );
    const ca = this.listenerCaPem;
    const deadline = Date.now() + 15_000;
    for (;;) {
      for (const d of [this.pebble, this.chall!]) {
        if (d.child.exitCode !== null || d.child.signalCode !== null)
          throw new Error(`${d.child.spawnfile} exited early:\n${d.out}`);
      }
      try {
        await get(this.directoryUrl, ca);
        const root = await get(`https://127.0.0.1:${p.management}/roots/0`, ca);
        if (root.status === 200) {
          this.rootPem = root.body;
          this.rootPath = path.join(this.dir, 'pebble-root.pem');
          writeFileSync(this.rootPath, root.body);
          return;
        }
      } catch {
        // Not up yet.
      }
      if (Date.now() > deadline)
        throw new Error(`pebble did not become ready:\n${this.pebble.out}\n${this.chall!.out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * challtestsrv, ready once its management API answers a request of its own. Test servers of
   * other files running at the same time take free ports too: one once took the management port
   * between its choice and challtestsrv's start, and its S3 answers were taken for
   * challtestsrv's. Only this test talks to that port, so on a conflict challtestsrv is started
   * again on another one (its DNS port is UDP, which the servers do not use).
   */
  private async startChallSrv(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const p = this.ports;
      const chall = launch(
        'pebble-challtestsrv',
        [
          '-defaultIPv4',
          '127.0.0.1',
          '-defaultIPv6',
          '',
          '-dns01',
          `127.0.0.1:${p.dns}`,
          '-http01',
          '',
          '-https01',
          '',
          '-tlsalpn01',
          '',
          '-management',
          `127.0.0.1:${p.challManagement}`,
        ],
        process.env,
      );
      this.chall = chall;
      const deadline = Date.now() + 15_000;
      let foreign = '';
      while (foreign === '' && chall.child.exitCode === null && chall.child.signalCode === null) {
        try {
          const res = await fetch(`http://127.0.0.1:${p.challManagement}/clear-txt`, {
            method: 'POST',
            body: JSON.stringify({ host: 'ready.invalid.' }),
          });
          const text = await res.text();
          if (res.ok) return;
          foreign = `HTTP ${res.status} ${text.slice(0, 200)}`;
        } catch {
          // Not listening yet.
        }
        if (Date.now() > deadline) throw new Error(`pebble-challtestsrv did not become ready:\n${chall.out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      if (chall.child.exitCode === null && chall.child.signalCode === null) chall.child.kill('SIGKILL');
      if (attempt === 3)
        throw new Error(`pebble-challtestsrv could not take a management port: ${foreign}\n${chall.out}`);
      this.ports.challManagement = await freePort();
    }
  }

  /** Orders Pebble has accepted, counted from its own log: proof of what reached the CA. */
  orders(): number {
    return (this.pebble?.out.match(/Added order /g) ?? []).length;
  }

  log(): string {
    return this.pebble?.out ?? '';
  }

  private async manage(op: string, body: Record<string, unknown>): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${this.ports.challManagement}/${op}`, {
      method: 'POST',
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`challtestsrv ${op}: HTTP ${res.status} ${await res.text()}`);
  }

  setTxt(host: string, value: string): Promise<void> {
    return this.manage('set-txt', { host: host.endsWith('.') ? host : `${host}.`, value });
  }

  addA(host: string, addresses: string[]): Promise<void> {
    return this.manage('add-a', { host, addresses });
  }

  addAaaa(host: string, addresses: string[]): Promise<void> {
    return this.manage('add-aaaa', { host, addresses });
  }

  setCname(host: string, target: string): Promise<void> {
    return this.manage('set-cname', { host, target: target.endsWith('.') ? target : `${target}.` });
  }

  /** SIGTERM both daemons by PID, wait for them, remove the work directory. */
  async stop(): Promise<void> {
    for (const d of [this.pebble, this.chall]) {
      if (d === null) continue;
      if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGTERM');
      const t = setTimeout(() => d.child.kill('SIGKILL'), 3000);
      await exited(d.child);
      clearTimeout(t);
    }
    this.pebble = null;
    this.chall = null;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
