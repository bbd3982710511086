#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { Storage, isStorageError, type Addon } from '#storage';
import { ConfigError, loadConfigFromProcess, publicEndpoint, type Config } from './config/index.js';
import { renderS3cfg } from './admin/s3cfg.js';
import { startCellar } from './main.js';

const USAGE = `usage: cellar <command>

  serve                                   start the service (the default)
  addon create [--name N] [--email E] [--access-key K --secret-key S] [--json]
  addon list [--json]
  addon s3cfg <id>                        print a pre-filled s3cmd configuration
  addon delete <id>

Settings come from config/default.json, the JSON file named by CELLAR_CONFIG, then
CELLAR_* environment variables (CELLAR_DATA_DIR, CELLAR_HTTP_PORT, CELLAR_DOMAIN, ...).`;

class UsageError extends Error {}

function addonJson(a: Addon): Record<string, string> {
  return { id: a.id, name: a.name, email: a.email, accessKeyId: a.accessKeyId, secretAccessKey: a.secretAccessKey };
}

async function withStorage<T>(config: Config, fn: (s: Storage) => T): Promise<T> {
  const storage = await Storage.open({ dataDir: config.dataDir, maxObjectSize: config.maxObjectSize, gcGraceMs: config.gcGraceSeconds * 1000, collectOnOpen: false });
  try {
    return fn(storage);
  } finally {
    storage.close();
  }
}

async function serve(config: Config): Promise<void> {
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
  process.stdout.write(out.join('\n') + '\n');
  const stop = (): void => {
    cellar.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function addon(config: Config, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      name: { type: 'string' }, email: { type: 'string' }, 'access-key': { type: 'string' }, 'secret-key': { type: 'string' }, json: { type: 'boolean' },
    },
  });
  switch (sub) {
    case 'create': {
      const a = await withStorage(config, (s) => s.createAddon({ name: values.name, email: values.email, accessKeyId: values['access-key'], secretAccessKey: values['secret-key'] }));
      if (values.json) process.stdout.write(JSON.stringify(addonJson(a)) + '\n');
      else process.stdout.write(`created add-on ${a.id}\n  name:       ${a.name}\n  access key: ${a.accessKeyId}\n  secret key: ${a.secretAccessKey}\n`);
      return;
    }
    case 'list': {
      const list = await withStorage(config, (s) => s.listAddons());
      if (values.json) process.stdout.write(JSON.stringify(list.map(addonJson)) + '\n');
      else for (const a of list) process.stdout.write(`${a.id}\t${a.name}\t${a.email}\t${a.accessKeyId}\n`);
      return;
    }
    case 's3cfg': {
      const id = positionals[0];
      if (!id) throw new UsageError('addon s3cfg needs an add-on id');
      const a = await withStorage(config, (s) => s.addon(id));
      if (!a) throw new UsageError(`no add-on ${id}`);
      process.stdout.write(renderS3cfg({ accessKeyId: a.accessKeyId, secretAccessKey: a.secretAccessKey, endpoint: publicEndpoint(config), region: config.region }));
      return;
    }
    case 'delete': {
      const id = positionals[0];
      if (!id) throw new UsageError('addon delete needs an add-on id');
      await withStorage(config, (s) => s.deleteAddon(id));
      process.stdout.write(`deleted add-on ${id}\n`);
      return;
    }
    default:
      throw new UsageError(`unknown addon command: ${sub ?? '(none)'}`);
  }
}

async function main(argv: string[]): Promise<void> {
  const [cmd = 'serve', ...rest] = argv;
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const config = loadConfigFromProcess();
  switch (cmd) {
    case 'serve': return serve(config);
    case 'addon': return addon(config, rest);
    default: throw new UsageError(`unknown command: ${cmd}`);
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
    process.stderr.write(`cellar: cannot listen: ${(e as Error).message} (set CELLAR_HTTP_PORT)\n`);
    process.exit(1);
  }
  process.stderr.write(`cellar: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
