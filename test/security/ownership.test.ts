/**
 * Borrowed customers and products, through a whole in-process Tollgate over real HTTP: a
 * provider token may not subscribe another provider's consumer (404), reuse another
 * product's external product code (409 naming the field), or license another provider's
 * product (404); `/metrics` answers only the operator. The positive paths still work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestTollgate } from '../helpers/tollgate.js';

const TOKEN = `tga_owner_${'o'.repeat(32)}`;

describe('ownership across providers (sqlite, whole Tollgate)', () => {
  let url = '';
  let close: () => Promise<void>;
  const victor = { id: '', token: '', plan: '', product: '', consumer: '' };
  const mallory = { id: '', token: '', plan: '', product: '', consumer: '' };

  async function call(method: string, path: string, token: string, body?: unknown) {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: test bodies are inspected loosely
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, body: json, text };
  }

  beforeAll(async () => {
    const started = await startTestTollgate(TOKEN);
    close = started.close;
    url = started.tg.consoleUrl!;
    for (const [who, name] of [
      [victor, 'victor'],
      [mallory, 'mallory'],
    ] as const) {
      who.id = (await call('POST', '/admin/v1/providers', TOKEN, { name })).body.id;
      who.token = (
        await call('POST', '/admin/v1/tokens', TOKEN, { name, scope: 'provider', providerId: who.id })
      ).body.value;
      const api = await call('POST', '/admin/v1/apis', who.token, {
        name,
        upstreamUrl: 'http://127.0.0.1:9',
        pathPrefix: `/${name}`,
      });
      who.plan = (await call('POST', '/admin/v1/plans', who.token, { name, apiIds: [api.body.id] })).body.id;
      const product = await call('POST', '/admin/v1/products', who.token, {
        title: name,
        summary: 's',
        apiIds: [api.body.id],
        planIds: [who.plan],
        externalProductCode: `ext-${name}`,
      });
      expect(product.status, product.text).toBe(201);
      who.product = product.body.id;
      await call('POST', `/admin/v1/products/${who.product}/publish`, who.token);
      who.consumer = (
        await call('POST', '/admin/v1/consumers', who.token, { name: `${name}'s buyer` })
      ).body.id;
    }
  });
  afterAll(async () => {
    await close?.();
  });

  it('refuses to subscribe another provider’s consumer (404); its own works', async () => {
    const steal = await call('POST', '/admin/v1/marketplace/subscriptions', mallory.token, {
      productId: mallory.product,
      planId: mallory.plan,
      consumerId: victor.consumer,
    });
    expect(steal.status).toBe(404);
    expect((await call('GET', `/admin/v1/consumers/${victor.consumer}`, mallory.token)).status).toBe(404);
    const own = await call('POST', '/admin/v1/marketplace/subscriptions', mallory.token, {
      productId: mallory.product,
      planId: mallory.plan,
      consumerId: mallory.consumer,
    });
    expect(own.status, own.text).toBe(201);
  });

  it('keeps external product codes unique (409 naming externalProductCode)', async () => {
    const again = await call('POST', '/admin/v1/products', mallory.token, {
      title: 'copy',
      summary: 's',
      apiIds: [],
      planIds: [mallory.plan],
      externalProductCode: 'ext-victor',
    });
    expect(again.status).toBe(409);
    expect(again.body.errors[0].field).toBe('externalProductCode');
    const moved = await call('PATCH', `/admin/v1/products/${mallory.product}`, mallory.token, {
      externalProductCode: 'ext-victor',
    });
    expect(moved.status).toBe(409);
    expect(moved.body.errors[0].field).toBe('externalProductCode');
  });

  it('issues licences only for the caller’s own products (404)', async () => {
    const body = (productId: string) => ({
      productId,
      consumerId: mallory.consumer,
      deployments: 1,
      limits: { rateLimit: 1 },
      validUntil: '2099-01-01T00:00:00Z',
    });
    expect((await call('POST', '/admin/v1/licences', mallory.token, body(victor.product))).status).toBe(404);
    const own = await call('POST', '/admin/v1/licences', mallory.token, body(mallory.product));
    expect(own.status, own.text).toBe(201);
  });

  it('shows /metrics only to the operator (401 anonymous or provider token)', async () => {
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect((await call('GET', '/metrics', mallory.token)).status).toBe(401);
    const ok = await call('GET', '/metrics', TOKEN);
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('tollgate_');
  });
});
