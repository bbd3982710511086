/**
 * a) One cached 4 KiB HTML page through the website gateway, keep-alive, wrk -t1 -c32, against
 * nginx (1 worker, sendfile, open_file_cache) and Caddy file_server serving the same file.
 */
import path from 'node:path';
import { startCellar } from '../lib/cellar.js';
import { interleave, type BenchContext, type Scenario } from '../lib/context.js';
import { startCaddy, startNginx } from '../lib/refservers.js';
import { ratioRow, type Row } from '../lib/report.js';
import { median } from '../lib/stats.js';
import { wrkSample } from '../lib/wrk.js';
import { expectServes, PAGE_PATH, publishSite, SITE_BUCKET, writeSiteRoot } from './site.js';

export const cachedPage: Scenario = {
  id: 'a',
  title: 'cached 4 KiB page, keep-alive (wrk -t1 -c32)',
  needs: [
    { cmd: 'wrk', pkg: 'wrk' },
    { cmd: 'nginx', pkg: 'nginx-light' },
    { cmd: 'caddy', pkg: 'caddy' },
  ],
  async run(ctx: BenchContext): Promise<Row[]> {
    const dir = ctx.scratch('a');
    const root = path.join(dir, 'www');
    const page = writeSiteRoot(root);
    const cellar = await startCellar({
      repoRoot: ctx.repoRoot,
      nodeArgs: ctx.cellarNodeArgs,
      dataDir: path.join(dir, 'cellar'),
      cpus: ctx.cpus.server,
    });
    const nginx = await startNginx({ dir: path.join(dir, 'nginx'), root, cpus: ctx.cpus.server });
    const caddy = await startCaddy({ dir: path.join(dir, 'caddy'), root, cpus: ctx.cpus.server });
    try {
      await publishSite(cellar, page);
      const host = `${SITE_BUCKET}.localhost:${cellar.port}`;
      const urls = {
        cellar: `http://127.0.0.1:${cellar.port}${PAGE_PATH}`,
        nginx: `http://127.0.0.1:${nginx.port}${PAGE_PATH}`,
        caddy: `http://127.0.0.1:${caddy.port}${PAGE_PATH}`,
      };
      await expectServes('cellar', urls.cellar, page.length, host);
      await expectServes('nginx', urls.nginx, page.length);
      await expectServes('caddy', urls.caddy, page.length);
      const seconds = ctx.quick ? 3 : 10;
      const sides = [
        { name: 'cellar', url: urls.cellar, host, pid: cellar.daemon.pid },
        { name: 'nginx', url: urls.nginx, host: undefined, pid: nginx.daemon.pid },
        { name: 'caddy', url: urls.caddy, host: undefined, pid: caddy.daemon.pid },
      ];
      const sample = async (side: (typeof sides)[number], s = seconds): Promise<number> =>
        (
          await wrkSample(
            side.name,
            {
              url: side.url,
              host: side.host,
              connections: 32,
              seconds: s,
              cpus: ctx.cpus.client,
              serverPids: [side.pid],
            },
            ctx.log,
          )
        ).requestsPerSec;
      // Warm-up (JIT, caches, open_file_cache), not counted.
      for (const side of sides) await sample(side, 2);
      const [c, n, y] = await interleave(
        ctx.rounds,
        sides.map((side) => ({ name: side.name, measure: () => sample(side) })),
        ctx.log,
      );
      return [
        ratioRow('a) 4 KiB cached page, req/s', median(c!), median(n!), 'req/s', 0, 0.4, 'nginx'),
        ratioRow('a) 4 KiB cached page, req/s', median(c!), median(y!), 'req/s', 0, 1.5, 'Caddy'),
      ];
    } finally {
      await caddy.stop();
      await nginx.stop();
      await cellar.stop();
    }
  },
};
