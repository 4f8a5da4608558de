/**
 * The README's main flow on one process (SQLite): an operator puts an API behind the
 * gateway through the admin API, a buyer's key works, limits answer like API Gateway, and
 * admin changes reach the gateway within a second.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tollgate } from '../../src/main/index.js';
import { type AdminClient, adminClient, provision } from '../helpers/admin.js';
import { startTestTollgate } from '../helpers/tollgate.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const TOKEN = `tga_single_${'z'.repeat(32)}`;

describe('one process, SQLite', () => {
  let close: () => Promise<void>;
  let up: Upstream;
  let tg: Tollgate;
  let admin: AdminClient;

  beforeAll(async () => {
    up = await startUpstream();
    ({ tg, close } = await startTestTollgate(TOKEN));
    admin = adminClient(tg.consoleUrl!, TOKEN);
  });
  afterAll(async () => {
    await close();
    await up.close();
  });

  it('proxies with a key made through the admin API, and refuses without one', async () => {
    const { key } = await provision(
      admin,
      up.url,
      { throttle: { rateLimit: 100, burstLimit: 100 } },
      '/weather',
    );
    const ok = await fetch(`${tg.gatewayUrl}/weather/today?city=Oslo`, { headers: { 'x-api-key': key } });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { url: string }).url).toBe('/today?city=Oslo');
    const no = await fetch(`${tg.gatewayUrl}/weather/today`);
    expect(no.status).toBe(403);
    expect(await no.json()).toEqual({ message: 'Forbidden' });
  });

  it('disables, re-enables and rolls a key through the admin API, effective at once', async () => {
    const { key, keyId } = await provision(admin, up.url, {}, '/roll');
    const call = async (k: string) =>
      (await fetch(`${tg.gatewayUrl}/roll/x`, { headers: { 'x-api-key': k } })).status;
    expect(await call(key)).toBe(200);
    await admin.post(`/keys/${keyId}/disable`);
    expect(await call(key)).toBe(403);
    await admin.post(`/keys/${keyId}/enable`);
    expect(await call(key)).toBe(200);
    const rolled = await admin.post<{ old: { expiresAt: string }; new: { value: string } }>(
      `/keys/${keyId}/roll`,
      { graceSeconds: 3600 },
    );
    expect(await call(rolled.new.value)).toBe(200);
    expect(await call(key)).toBe(200); // within its grace period
    expect(Date.parse(rolled.old.expiresAt)).toBeGreaterThan(Date.now() + 3500_000);
  });

  it('counts the quota the way the quota view reports it', async () => {
    const { key, subscriptionId } = await provision(
      admin,
      up.url,
      { quota: { limit: 5, period: 'DAY' } },
      '/quota',
    );
    for (let i = 0; i < 3; i++)
      await (await fetch(`${tg.gatewayUrl}/quota/x`, { headers: { 'x-api-key': key } })).arrayBuffer();
    const q = await admin.get<{ used: number; remaining: number }>(`/subscriptions/${subscriptionId}/quota`);
    expect(q.used).toBe(3);
    expect(q.remaining).toBe(2);
    const codes: number[] = [];
    for (let i = 0; i < 3; i++)
      codes.push((await fetch(`${tg.gatewayUrl}/quota/x`, { headers: { 'x-api-key': key } })).status);
    expect(codes).toEqual([200, 200, 429]);
  });

  it('serves health, metrics and its OpenAPI document', async () => {
    expect((await fetch(`${tg.consoleUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${tg.consoleUrl}/metrics`)).status).toBe(401);
    const metrics = await (
      await fetch(`${tg.consoleUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).text();
    expect(metrics).toMatch(/tollgate_requests_total\{[^}]*outcome="2xx"[^}]*\} \d+/);
    const doc = (await (await fetch(`${tg.consoleUrl}/admin/v1/openapi.json`)).json()) as {
      openapi: string;
      paths: object;
    };
    expect(doc.openapi).toMatch(/^3\.1/);
    expect(Object.keys(doc.paths)).toContain('/admin/v1/keys/{id}/roll');
    expect(Object.keys(doc.paths)).toContain('/admin/v1/licences');
  });
});
