/** The admin listener: the admin API app behind the access log, on its own host and port. */
import http, { type Server } from 'node:http';
import { createAdminApi, type AdminApiDeps } from '../admin/api.js';
import { listen } from '../gateway/listener.js';
import type { Observability } from './observability.js';

export interface AdminListener {
  server: Server;
  port: number;
}

export async function startAdminListener(
  obs: Observability,
  deps: Omit<AdminApiDeps, 'metrics'>,
  at: { host: string; port: number },
): Promise<AdminListener> {
  const registry = obs.metrics.registry;
  const app = createAdminApi({
    ...deps,
    metrics: { contentType: registry.contentType, render: () => registry.metrics() },
  });
  const server = http.createServer(obs.wrap(app, 'admin'));
  const port = await listen(server, at.port, at.host);
  return { server, port };
}

/** Stops a listener: no new connections, open ones cut. */
export function closeNow(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
}
