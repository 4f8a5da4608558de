/**
 * Who may read `/metrics`. The metrics name every API and route and count every provider's
 * traffic, so they are an operator's view:
 *  - on the console port, `/metrics` answers only `Authorization: Bearer <metricsToken>`
 *    or an operator admin token (a provider token is refused: it would see other providers);
 *  - with `metricsPort`, it is served on its own listener instead (bind it to a private
 *    address; `metricsToken`, when set, is required there too) and the console has none.
 * Refusals are 401 with a WWW-Authenticate challenge, as for the admin API.
 */
import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import type { Catalog } from '../catalog/index.js';
import { drainServer, trackResponses } from '../gateway/index.js';
import { safeEqual } from '../keys/index.js';
import type { TollgateMetrics } from '../metering/index.js';
import { listenApp, listenerUrl } from './listen.js';
import type { Opened } from './opened.js';

export interface MetricsAccess {
  metrics: TollgateMetrics;
  /** Accepted as a bearer token when set. */
  token?: string | undefined;
  /** Accepts operator admin tokens when given (the console port). */
  catalog?: Catalog;
}

export function metricsApp(access: MetricsAccess): Hono {
  const app = new Hono();
  app.get('/metrics', async (c) => {
    if (!(await allowed(access, c.req.header('authorization')))) {
      return c.text('send Authorization: Bearer <metrics token or operator admin token>\n', 401, {
        'www-authenticate': 'Bearer realm="tollgate-metrics"',
      });
    }
    return c.body(await access.metrics.scrape(), 200, { 'content-type': access.metrics.contentType });
  });
  return app;
}

async function allowed(access: MetricsAccess, header: string | undefined): Promise<boolean> {
  if (!access.token && !access.catalog) return true; // own listener, no token configured
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const presented = m[1]!;
  if (access.token && safeEqual(presented, access.token)) return true;
  if (!access.catalog) return false;
  const actor = await access.catalog.tokens.authenticate(presented);
  return actor?.kind === 'operator';
}

/** The separate metrics listener (`metricsPort`/`metricsHost`); `opened` drains it at close. */
export async function startMetricsServer(
  access: MetricsAccess,
  port: number,
  host: string,
  opened: Opened,
  graceMs: number,
): Promise<{ url: string }> {
  const server = await listenApp(metricsApp(access), port, host, { what: 'metrics', setting: 'metricsPort' });
  trackResponses(server);
  opened.addListener('metrics port', () => drainServer(server, graceMs));
  const { port: bound } = server.address() as AddressInfo;
  return { url: listenerUrl(host, bound) };
}
