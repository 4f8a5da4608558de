/**
 * The console port: one Hono app carrying the admin API (`/admin/v1`), health and metrics,
 * and the marketplace and portal surfaces as their modules land. Each surface is built by
 * its own module; this file only mounts them.
 */
import { Hono } from 'hono';
import type { Billing } from '../billing/index.js';
import type { createCatalog } from '../catalog/index.js';
import type { Config } from '../config/index.js';
import { createControlApp } from '../control/index.js';
import { licenceAdminRoutes, licencePublicApp } from '../licences/http/index.js';
import type { Licences } from '../licences/index.js';
import type { Meter, TollgateMetrics } from '../metering/index.js';
import type { Clock, Logger } from '../shared/index.js';
import type { Store } from '../store/index.js';
import type { Webhooks } from '../webhooks/index.js';

export interface ConsoleDeps {
  config: Config;
  store: Store;
  clock: Clock;
  log: Logger;
  catalog: ReturnType<typeof createCatalog>;
  meter: Meter | null;
  metrics: TollgateMetrics;
  billing: Billing;
  licences: Licences;
  webhooks: Webhooks;
}

export function buildConsole(deps: ConsoleDeps): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/metrics', async (c) => {
    return c.body(await deps.metrics.registry.metrics(), 200, {
      'content-type': deps.metrics.registry.contentType,
    });
  });
  const { catalog, store, clock, log } = deps;
  const control = createControlApp({
    catalog,
    log,
    clock,
    extraRoutes: [licenceAdminRoutes(deps.licences, { catalog, store, clock })],
  });
  app.route('/', control);
  // What a wholesale deployment calls: seat activation and the provider's public keys.
  app.route('/', licencePublicApp(deps.licences, { log }));
  return app;
}
