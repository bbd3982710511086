#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { isStorageError } from '#storage';
import { ConfigError, loadConfigFromProcess, publicEndpoint, type Config } from './config/index.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { addonRecord, addonS3cfg, withAddons as withLocalAddons, type AddonDirectory } from './admin/addons.js';
import { remoteAddonDirectory, remoteCertificates } from './admin/client.js';
import { TOKEN_FILE } from './admin/token.js';
import {
  bucketVersioning,
  bucketWebsite,
  removeBucketWebsite,
  setBucketWebsite,
  type VersioningAction,
} from './admin/buckets.js';
import { formatCertTable, listCertificates, withCertCatalog, type CertRow } from './admin/certs.js';
import {
  checkDomain,
  domainProofRecord,
  formatDomainReport,
  installationProofSecret,
  normalizeHost,
  servesHttps,
} from './admin/domains.js';
import { withStorage } from './admin/storage.js';
import { startCellar, startUpstreamGateway, tlsSettings, type AdminInfo } from './main.js';

const USAGE = `usage: cellar <command>

  serve                                   start the service (the default)
  addon create [--name N] [--email E] [--access-key K --secret-key S] [--json]
  addon list [--json]
  addon s3cfg <id>                        print a pre-filled s3cmd configuration
  addon delete <id>
                                          addon commands take --url U --token T to ask a running
                                          server's admin API (token: --token, CELLAR_ADMIN_TOKEN,
                                          or the data dir's admin-token file)
  bucket website <bucket> [--index I] [--error E] [--spa]
                                          serve <bucket> with index I (index.html), error page E;
                                          --spa serves I for unknown routes with 200
  bucket website <bucket> --show | --off  print / remove its website configuration
  bucket versioning <bucket> on|off|status
                                          keep every version of its objects (on), stop (off:
                                          suspended, versions kept), or print the state
  cert list [--json] [--url U --token T]  certificates: name, issuer, not-after, status, last error
                                          (upstream mode: the fleet's, from the system bucket,
                                          and the operator's own in CELLAR_CERTS_DIR)
  domain check <host> [--json]            explain whether <host> may obtain a certificate on demand
  domain token <host> [--json]            the TXT record that proves <host> is yours (upstream
                                          mode: the fleet's, the same on every gateway)

Settings come from config/default.json, the JSON file named by CELLAR_CONFIG, then
CELLAR_* environment variables (CELLAR_DATA_DIR, CELLAR_HTTP_PORT, CELLAR_DOMAIN, ...).`;

class UsageError extends Error {}

function adminBanner(admin: AdminInfo): string[] {
  if (admin.url === null) return [];
  const out = ['', `Admin API: ${admin.url}/api/v1 (metrics: ${admin.url}/metrics)`];
  if (admin.generated) out.push(`  admin token (shown once, kept in ${admin.tokenFile}): ${admin.token}`);
  return out;
}

/** SIGTERM/SIGINT: graceful stop within the deadline; SIGHUP: reopen the access log (logrotate). */
function onSignals(
  running: { shutdown(ms: number): Promise<void>; reopenLogs(): Promise<void> },
  deadlineMs: number,
): void {
  const stop = (): void => {
    running.shutdown(deadlineMs).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.on('SIGHUP', () => {
    running
      .reopenLogs()
      .catch((e: unknown) => process.stderr.write(`cellar: cannot reopen the access log: ${String(e)}\n`));
  });
}

async function serve(config: Config): Promise<void> {
  if (config.upstreamUrl !== '') return serveUpstream(config);
  const cellar = await startCellar(config);
  const out: string[] = [`Cellar is running at ${cellar.endpoint.origin}/ (data in ${config.dataDir})`];
  const first = cellar.firstAddon;
  if (first) {
    out.push(
      '',
      'First start: created add-on ' + first.addon.id,
      `  access key: ${first.addon.accessKeyId}`,
      `  secret key: ${first.addon.secretAccessKey}`,
      `  s3cfg:      ${first.s3cfgPath}`,
      '',
      'Try it:',
      `  s3cmd -c ${first.s3cfgPath} mb s3://my-bucket`,
      `  AWS_ACCESS_KEY_ID=${first.addon.accessKeyId} AWS_SECRET_ACCESS_KEY=${first.addon.secretAccessKey} aws --endpoint-url ${cellar.endpoint.origin} s3 ls`,
    );
  } else {
    out.push('Add-ons: `cellar addon list`; an s3cfg: `cellar addon s3cfg <id>`.');
  }
  if (cellar.httpsPort !== null) {
    out.push(
      '',
      `HTTPS on port ${cellar.httpsPort}; certificates in ${cellar.tls!.store.root}; on-demand issuance ${config.acmeDirectory ? `from ${config.acmeDirectory}` : 'off'}`,
    );
  }
  out.push(...adminBanner(cellar.admin));
  process.stdout.write(out.join('\n') + '\n');
  onSignals(cellar, config.shutdownDeadlineMs);
}

async function serveUpstream(config: Config): Promise<void> {
  const gw = await startUpstreamGateway(config);
  process.stdout.write(
    [
      `Cellar gateway is running at ${gw.endpoint.origin}/ in front of ${config.upstreamUrl}`,
      'Add-ons live in RGW: `cellar addon create` (same settings) makes one.',
      ...(gw.httpsPort === null
        ? []
        : [
            `HTTPS on port ${gw.httpsPort}; certificates in ${gw.tls!.store.root}; on-demand issuance ${config.acmeDirectory ? `from ${config.acmeDirectory}` : 'off'}`,
          ]),
      ...adminBanner(gw.admin),
    ].join('\n') + '\n',
  );
  onSignals(gw, config.shutdownDeadlineMs);
}

/** --token, else the configured token, else the one the server generated in the data dir. */
function operatorToken(config: Config, flag: string | undefined): string {
  if (flag) return flag;
  if (config.adminToken) return config.adminToken;
  try {
    return readFileSync(path.join(config.dataDir, TOKEN_FILE), 'utf8').trim();
  } catch {
    throw new UsageError('--url needs --token (or CELLAR_ADMIN_TOKEN, or the admin-token file in the data dir)');
  }
}

async function addon(config: Config, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      email: { type: 'string' },
      'access-key': { type: 'string' },
      'secret-key': { type: 'string' },
      json: { type: 'boolean' },
      url: { type: 'string' },
      token: { type: 'string' },
    },
  });
  const remote =
    values.url === undefined ? null : remoteAddonDirectory(values.url, operatorToken(config, values.token));
  const withAddons = <T>(fn: (d: AddonDirectory) => Promise<T>): Promise<T> =>
    remote === null ? withLocalAddons(config, fn) : fn(remote);
  switch (sub) {
    case 'create': {
      const a = await withAddons((d) =>
        d.create({
          name: values.name,
          email: values.email,
          accessKeyId: values['access-key'],
          secretAccessKey: values['secret-key'],
        }),
      );
      if (values.json) process.stdout.write(JSON.stringify(addonRecord(a)) + '\n');
      else
        process.stdout.write(
          `created add-on ${a.id}\n  name:       ${a.name}\n  access key: ${a.accessKeyId}\n  secret key: ${a.secretAccessKey}\n`,
        );
      return;
    }
    case 'list': {
      const list = await withAddons((d) => d.list());
      if (values.json) process.stdout.write(JSON.stringify(list.map(addonRecord)) + '\n');
      else for (const a of list) process.stdout.write(`${a.id}\t${a.name}\t${a.email}\t${a.accessKeyId}\n`);
      return;
    }
    case 's3cfg': {
      const id = positionals[0];
      if (!id) throw new UsageError('addon s3cfg needs an add-on id');
      if (remote !== null) {
        const text = await remote.s3cfg(id);
        if (text === null) throw new UsageError(`no add-on ${id}`);
        process.stdout.write(text);
        return;
      }
      const a = await withAddons((d) => d.get(id));
      if (!a) throw new UsageError(`no add-on ${id}`);
      process.stdout.write(addonS3cfg(a, { endpoint: publicEndpoint(config), region: config.region }));
      return;
    }
    case 'delete': {
      const id = positionals[0];
      if (!id) throw new UsageError('addon delete needs an add-on id');
      await withAddons((d) => d.delete(id));
      process.stdout.write(`deleted add-on ${id}\n`);
      return;
    }
    default:
      throw new UsageError(`unknown addon command: ${sub ?? '(none)'}`);
  }
}

async function cert(config: Config, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: { json: { type: 'boolean' }, url: { type: 'string' }, token: { type: 'string' } },
  });
  if (sub !== 'list') throw new UsageError(`unknown cert command: ${sub ?? '(none)'}`);
  let rows: CertRow[];
  if (values.url !== undefined) {
    // The server logs what it could not load.
    rows = await remoteCertificates(values.url, operatorToken(config, values.token));
  } else {
    const listed = await withCertCatalog(config, (c) => listCertificates(c, config.acmeRenewWindowSeconds, Date.now()));
    for (const p of listed.problems) process.stderr.write(`cellar: not loaded: ${p}\n`);
    rows = listed.rows;
  }
  process.stdout.write(values.json ? JSON.stringify(rows) + '\n' : formatCertTable(rows));
}

async function domain(config: Config, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { json: { type: 'boolean' } },
  });
  const host = normalizeHost(positionals[0]);
  if (!host) throw new UsageError(`domain ${sub ?? 'check|token'} needs a host name`);
  const settings = tlsSettings(config);
  if (sub === 'token') {
    const record = domainProofRecord(await installationProofSecret(config), host);
    if (values.json) process.stdout.write(JSON.stringify(record) + '\n');
    else
      process.stdout.write(
        `Publish this DNS record to prove ${host} is yours${settings.domainProof ? '' : ' (not required now: CELLAR_DOMAIN_PROOF is off)'}:\n  ${record.name}.  TXT  "${record.value}"\n`,
      );
    return;
  }
  if (sub !== 'check') throw new UsageError(`unknown domain command: ${sub ?? '(none)'}`);
  const report = await withStorage(config, (s) =>
    checkDomain(settings, s, host, { httpsEnabled: config.httpsPort !== null, now: Date.now }),
  );
  process.stdout.write(values.json ? JSON.stringify(report) + '\n' : formatDomainReport(report));
  if (!servesHttps(report)) process.exitCode = 1;
}

const VERSIONING_ACTIONS: readonly string[] = ['on', 'off', 'status'] satisfies VersioningAction[];

async function bucket(config: Config, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === 'versioning') {
    const [name, action, ...extra] = rest;
    if (!name || !action || extra.length > 0 || !VERSIONING_ACTIONS.includes(action))
      throw new UsageError('usage: cellar bucket versioning <bucket> on|off|status');
    const state = await withStorage(config, (s) => bucketVersioning(s, name, action as VersioningAction));
    process.stdout.write(`${name}: versioning ${state ?? 'never enabled'}\n`);
    return;
  }
  if (sub !== 'website') throw new UsageError(`unknown bucket command: ${sub ?? '(none)'}`);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      index: { type: 'string' },
      error: { type: 'string' },
      spa: { type: 'boolean' },
      show: { type: 'boolean' },
      off: { type: 'boolean' },
    },
  });
  const name = positionals[0];
  if (!name) throw new UsageError('bucket website needs a bucket name');
  // The website configuration site owners get without ws-* tools.
  const out = await withStorage(config, (s) => {
    if (values.show) return JSON.stringify(bucketWebsite(s, name)) + '\n';
    if (values.off) {
      removeBucketWebsite(s, name);
      return `${name}: website configuration removed (defaults apply: index.html, 404.html)\n`;
    }
    const cfg = setBucketWebsite(s, name, values);
    return `${name}: index ${cfg.indexDocument!.suffix}${cfg.errorDocument ? `, error page ${cfg.errorDocument.key}` : ''}${values.spa ? ', SPA fallback' : ''}\n`;
  });
  process.stdout.write(out);
}

async function main(argv: string[]): Promise<void> {
  const [cmd = 'serve', ...rest] = argv;
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const config = loadConfigFromProcess();
  switch (cmd) {
    case 'serve':
      return serve(config);
    case 'addon':
      return addon(config, rest);
    case 'bucket':
      return bucket(config, rest);
    case 'cert':
      return cert(config, rest);
    case 'domain':
      return domain(config, rest);
    default:
      throw new UsageError(`unknown command: ${cmd}`);
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof ConfigError || e instanceof UsageError) {
    process.stderr.write(`cellar: ${e.message}\n`);
    if (e instanceof UsageError) process.stderr.write(USAGE + '\n');
    process.exit(2);
  }
  if (isStorageError(e)) {
    process.stderr.write(`cellar: ${e.message}\n`);
    process.exit(1);
  }
  if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    process.stderr.write(
      `cellar: cannot listen: ${(e as Error).message} (set CELLAR_HTTP_PORT, CELLAR_HTTPS_PORT or CELLAR_ADMIN_PORT)\n`,
    );
    process.exit(1);
  }
  process.stderr.write(`cellar: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
