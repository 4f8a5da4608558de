/**
 * Where the portal tells buyers to call: the public gateway URL (`gatewayPublicUrl`) when the
 * operator sets one, else the gateway's own address — also when the portal has a public URL
 * of its own (`publicUrl`), where the gateway's address once disappeared from the examples.
 * Through the real start-up wiring (src/main), on a product page's first call and the API
 * reference served to buyers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../src/catalog/index.js';
import type { Tollgate } from '../../src/main/index.js';
import { startTestTollgate } from '../helpers/tollgate.js';

const DOC = {
  openapi: '3.1.0',
  info: { title: 'Nimbus Weather', version: '1.0.0' },
  servers: [{ url: 'https://weather.internal.example' }],
  paths: {
    '/forecast/{city}': {
      get: {
        summary: 'Forecast for a city',
        parameters: [
          { name: 'city', in: 'path', required: true, schema: { type: 'string', example: 'oslo' } },
        ],
        responses: { '200': { description: 'The forecast' } },
      },
    },
  },
};

async function publish(tg: Tollgate): Promise<{ productId: string; apiId: string }> {
  const provider = await tg.catalog.providers.create(SYSTEM, { name: 'Nimbus Ltd' });
  const api = await tg.catalog.apis.create(SYSTEM, {
    providerId: provider.id,
    name: 'Nimbus Weather',
    upstreamUrl: 'http://127.0.0.1:9',
    pathPrefix: '/weather',
    openapi: DOC,
    routes: [{ method: 'GET', path: '/forecast/{city}' }],
  });
  const plan = await tg.catalog.plans.create(SYSTEM, {
    providerId: provider.id,
    name: 'Starter',
    apiIds: [api.id],
  });
  await tg.billing.setPrice(plan.id, { currency: 'USD', recurringFee: '5.00' }, 'test');
  const product = await tg.marketplace.products.create(SYSTEM, {
    providerId: provider.id,
    title: 'Nimbus forecasts',
    apiIds: [api.id],
    planIds: [plan.id],
  });
  await tg.marketplace.products.publish(SYSTEM, product.id);
  return { productId: product.id, apiId: api.id };
}

/** The product page's curl example, as the page shows it (HTML entities undone). */
async function firstCurl(tg: Tollgate, productId: string): Promise<string> {
  const html = await (await fetch(`${tg.consoleUrl}/products/${productId}`)).text();
  const block = /<pre[^>]*id="example-0"[^>]*>([\s\S]*?)<\/pre>/.exec(html)?.[1] ?? '';
  return block.replaceAll('&#39;', "'").replaceAll('&quot;', '"').replaceAll('&amp;', '&').trim();
}

async function servers(tg: Tollgate, productId: string, apiId: string): Promise<unknown> {
  const r = await fetch(`${tg.consoleUrl}/products/${productId}/openapi/${apiId}.json`);
  return ((await r.json()) as { servers: unknown }).servers;
}

describe('the gateway URL buyers are given', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('is gatewayPublicUrl when set', async () => {
    const started = await startTestTollgate('tga_public_url_test_operator_token_1', {
      publicUrl: 'https://portal.example',
      gatewayPublicUrl: 'https://api.example.com',
    });
    close = started.close;
    const { productId, apiId } = await publish(started.tg);
    expect(await firstCurl(started.tg, productId)).toBe(
      `curl -i -H "x-api-key: $TOLLGATE_KEY" 'https://api.example.com/weather/forecast/oslo'`,
    );
    expect(await servers(started.tg, productId, apiId)).toEqual([
      { url: 'https://api.example.com/weather', description: 'Tollgate gateway' },
    ]);
  });

  it("is the gateway's own address when only the portal has a public URL", async () => {
    const started = await startTestTollgate('tga_public_url_test_operator_token_2', {
      publicUrl: 'https://portal.example',
    });
    close = started.close;
    const { productId, apiId } = await publish(started.tg);
    const gateway = started.tg.gatewayUrl!;
    expect(gateway).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await firstCurl(started.tg, productId)).toBe(
      `curl -i -H "x-api-key: $TOLLGATE_KEY" '${gateway}/weather/forecast/oslo'`,
    );
    expect(await servers(started.tg, productId, apiId)).toEqual([
      { url: `${gateway}/weather`, description: 'Tollgate gateway' },
    ]);
  });
});
