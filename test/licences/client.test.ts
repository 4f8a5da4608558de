/**
 * The deployment's activation call against a real HTTP server (node:http) mounting the
 * provider's handler over a real SQLite store. The "unreachable provider" is the same server
 * closed, or answering 503.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  activateWithGrace,
  activationHandler,
  createLicences,
  type LicenceRecord,
  type Licences,
  releaseHandler,
} from '../../src/licences/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { sqliteStore } from '../helpers/stores.js';
import { DAY, T0 } from './helpers.js';

const HOUR = 3_600_000;
const GRACE = 3 * DAY;

describe('activateWithGrace against a provider over HTTP', () => {
  let store: Store;
  let licences: Licences;
  let server: Server;
  let url: string;
  let dir: string;
  let licence: LicenceRecord;
  let down = false;
  const clock = new ManualClock(T0);

  const startServer = (port = 0) =>
    new Promise<void>((resolve) => {
      const activate = activationHandler(licences);
      const release = releaseHandler(licences);
      server = createServer(async (req, res) => {
        let body = '';
        for await (const chunk of req) body += chunk;
        if (down) {
          res.writeHead(503, { 'content-type': 'text/plain' }).end('maintenance');
          return;
        }
        const handler =
          req.url === '/licences/v1/activate'
            ? activate
            : req.url === '/licences/v1/release'
              ? release
              : null;
        if (req.method !== 'POST' || !handler) {
          res.writeHead(404).end();
          return;
        }
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          json = null;
        }
        const out = await handler(json);
        res.writeHead(out.status, { 'content-type': 'application/json' }).end(JSON.stringify(out.json));
      });
      server.listen(port, '127.0.0.1', () => resolve());
    });
  const stopServer = () => new Promise<void>((resolve) => server.close(() => resolve()));

  beforeAll(async () => {
    store = await sqliteStore.open();
    await store.db.insertInto('providers').values({ id: 'prv_acme', name: 'Acme', created_at: T0 }).execute();
    await store.db
      .insertInto('consumers')
      .values({
        id: 'con_globex',
        provider_id: null,
        name: 'Globex Corp',
        email: null,
        external_customer_id: null,
        external: '{}',
        created_at: T0,
        updated_at: T0,
      })
      .execute();
    licences = createLicences({
      store,
      clock,
      log: silentLogger,
      secret: 'z'.repeat(32),
      heartbeatTtlMs: HOUR,
    });
    licence = await licences.issue({
      providerId: 'prv_acme',
      productId: 'prd_nouns',
      consumerId: 'con_globex',
      deployments: 1,
      limits: { rateLimit: 10 },
      validUntil: T0 + 365 * DAY,
    });
    await startServer();
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/licences/v1/activate`;
    dir = mkdtempSync(join(tmpdir(), 'tollgate-licence-'));
  });
  afterAll(async () => {
    if (server.listening) await stopServer();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (instanceId: string, cacheFile = join(dir, `${instanceId}.json`)) =>
    activateWithGrace({
      url,
      token: licence.token,
      instanceId,
      graceMs: GRACE,
      cacheFile,
      clock,
      timeoutMs: 2000,
    });

  it('activates with the provider and caches the success', async () => {
    const out = await call('vm-1');
    expect(out).toMatchObject({ serving: true, source: 'provider', lastSuccessAt: T0, result: { inUse: 1 } });
    const cache = JSON.parse(readFileSync(join(dir, 'vm-1.json'), 'utf8'));
    expect(cache).toMatchObject({ licenceId: licence.id, instanceId: 'vm-1', lastSuccessAt: T0 });
  });

  it('too many activations: a second instance is refused with the seat message, no grace', async () => {
    const out = await call('vm-2');
    expect(out).toMatchObject({ serving: false, code: 'SEATS_EXHAUSTED' });
    if (!out.serving)
      expect(out.message).toMatch(/All 1 deployment\(s\) of licence .* are in use \(instances: vm-1\)/);
    expect(existsSync(join(dir, 'vm-2.json'))).toBe(false);
  });

  it('provider answering 503: keeps serving on the cached activation, with a warning', async () => {
    down = true;
    clock.advance(DAY);
    const out = await call('vm-1');
    down = false;
    expect(out).toMatchObject({ serving: true, source: 'cache', lastSuccessAt: T0, graceEndsAt: T0 + GRACE });
    if (out.serving && out.source === 'cache') expect(out.warning).toContain('HTTP 503');
  });

  it('provider unreachable (connection refused): serves until grace after the last success, then stops', async () => {
    await stopServer();
    clock.set(T0 + GRACE - 1);
    const within = await call('vm-1');
    expect(within).toMatchObject({ serving: true, source: 'cache' });
    if (within.serving && within.source === 'cache')
      expect(within.warning).toMatch(/ECONNREFUSED|UND_ERR_SOCKET|ECONNRESET/);
    clock.set(T0 + GRACE);
    const past = await call('vm-1');
    expect(past).toMatchObject({ serving: false, code: 'UNREACHABLE' });
    if (!past.serving) {
      expect(past.message).toContain('the last successful activation was on 2026-01-01T00:00:00.000Z');
      expect(past.message).toContain('offline grace period ended on 2026-01-04T00:00:00.000Z');
    }
    const never = await call('vm-new');
    expect(never).toMatchObject({ serving: false, code: 'UNREACHABLE' });
    if (!never.serving) expect(never.message).toContain('never activated successfully');
  });

  it('back online: the heartbeat resumes; a revoked licence is refused and the cache dropped', async () => {
    await startServer(Number(new URL(url).port));
    clock.set(T0 + GRACE + HOUR);
    expect(await call('vm-1')).toMatchObject({ serving: true, source: 'provider' });
    await licences.revoke(licence.id);
    const out = await call('vm-1');
    expect(out).toMatchObject({ serving: false, code: 'REVOKED' });
    expect(existsSync(join(dir, 'vm-1.json'))).toBe(false);
    await stopServer();
    expect(await call('vm-1')).toMatchObject({ serving: false, code: 'UNREACHABLE' });
  });
});
