/**
 * Debian's aws cli pointed at a test server, isolated from the machine's own AWS setup: one
 * scratch folder per test file (empty config and credentials files, plus room for the test's
 * own files) and an environment with nothing AWS_* but the server's owner keys.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run, type RunResult } from './run.js';

// Debian's aws-cli 2.x; a pyenv shim named `aws` earlier on PATH may be another version.
export const AWS = '/usr/bin/aws';

export interface AwsCli {
  /** The scratch folder, removed by dispose(). */
  readonly work: string;
  readonly env: NodeJS.ProcessEnv;
  /** Runs `aws` against the server with JSON output; never throws on a non-zero exit. */
  run(args: string[]): Promise<RunResult>;
  /** The command succeeds. */
  ok(args: string[]): Promise<RunResult>;
  /** The command succeeds and prints JSON. */
  json<T>(args: string[]): Promise<T>;
  /** The command fails and names the S3 error code; returns its stderr. */
  fails(args: string[], code: string): Promise<string>;
  dispose(): void;
}

export function awsCli(
  server: { endpoint: string; owner: { accessKeyId: string; secretAccessKey: string } },
  tmpPrefix: string,
): AwsCli {
  const work = mkdtempSync(path.join(tmpdir(), tmpPrefix));
  const config = path.join(work, 'aws-config');
  const credentials = path.join(work, 'aws-credentials');
  writeFileSync(config, '');
  writeFileSync(credentials, '');
  // Nothing from the machine's own AWS setup (profiles, endpoints, AWS_CA_BUNDLE, tokens) may leak in.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  Object.assign(env, {
    AWS_ACCESS_KEY_ID: server.owner.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.owner.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: credentials,
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  const cli: AwsCli = {
    work,
    env,
    run: (args) =>
      run(AWS, ['--endpoint-url', server.endpoint, '--output', 'json', ...args], { env, timeoutMs: 60_000 }),
    async ok(args) {
      const r = await cli.run(args);
      assert.equal(r.code, 0, `aws ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
      return r;
    },
    async json<T>(args: string[]): Promise<T> {
      return JSON.parse((await cli.ok(args)).stdout) as T;
    },
    async fails(args, code) {
      const r = await cli.run(args);
      assert.notEqual(r.code, 0, `aws ${args.join(' ')} succeeded:\n${r.stdout}`);
      assert.match(r.stderr, new RegExp(`\\(${code}\\)`), r.stderr);
      return r.stderr;
    },
    dispose: () => rmSync(work, { recursive: true, force: true }),
  };
  return cli;
}
