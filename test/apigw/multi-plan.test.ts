/**
 * One API key in two usage plans, as API Gateway allows when the plans share no API stage,
 * against a whole Tollgate on the in-memory and the Redis limits backends. A seller has a
 * weather API (plan "Weather", 3 calls a day) and a maps API (plan "Maps", 2 calls a day);
 * the buyer's one key is added to both with the stock AWS SDK. Each call is counted against
 * the quota of the plan that grants its API and metered to that plan's subscription; GetUsage
 * of each plan shows only its own calls; a third plan overlapping one of them is refused
 * (ConflictException naming the API stage), and so is an API added to one plan that the
 * other already grants. Disabling the key closes both APIs; taking it out of one plan leaves
 * the other working; deleting it closes everything.
 */
import {
  APIGatewayClient,
  ConflictException,
  CreateApiKeyCommand,
  CreateUsagePlanCommand,
  CreateUsagePlanKeyCommand,
  DeleteApiKeyCommand,
  DeleteUsagePlanKeyCommand,
  GetApiKeyCommand,
  GetUsageCommand,
  GetUsagePlanKeysCommand,
  GetUsagePlansCommand,
  UpdateApiKeyCommand,
  UpdateUsageCommand,
  UpdateUsagePlanCommand,
} from '@aws-sdk/client-api-gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../src/catalog/index.js';
import type { Tollgate } from '../../src/main/index.js';
import { localDate } from '../../src/metering/index.js';
import { redisAvailable } from '../helpers/redis.js';
import { REDIS_URL } from '../helpers/stores.js';
import { startTestTollgate } from '../helpers/tollgate.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const TOKEN = `tga_multi_${'m'.repeat(32)}`;
const backends = [
  { name: 'memory limits', settings: {} },
  ...((await redisAvailable()) ? [{ name: 'Redis limits', settings: { redisUrl: REDIS_URL } }] : []),
];

for (const backend of backends) {
  describe(`one key in two usage plans on the gateway (${backend.name})`, () => {
    let up: Upstream;
    let tg: Tollgate;
    let close: () => Promise<void>;
    let sdk: APIGatewayClient;
    let weather: string;
    let maps: string;

    beforeAll(async () => {
      up = await startUpstream();
      ({ tg, close } = await startTestTollgate(TOKEN, backend.settings));
      const provider = await tg.catalog.providers.create(SYSTEM, { name: 'Geo Inc' });
      const api = async (name: string) =>
        (
          await tg.catalog.apis.create(SYSTEM, {
            providerId: provider.id,
            name,
            upstreamUrl: up.url,
            pathPrefix: `/${name}`,
          })
        ).id;
      weather = await api('weather');
      maps = await api('maps');
      const issued = await fetch(`${tg.consoleUrl}/admin/v1/apigateway/credentials`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(issued.status).toBe(201);
      const creds = (await issued.json()) as { accessKeyId: string; secretAccessKey: string };
      sdk = new APIGatewayClient({
        region: 'us-east-1',
        endpoint: `${tg.consoleUrl}/apigateway`,
        credentials: creds,
        maxAttempts: 1,
      });
    }, 60_000);

    afterAll(async () => {
      sdk?.destroy();
      await close?.();
      await up?.close();
    });

    const call = async (key: string, api: 'weather' | 'maps') =>
      (await fetch(`${tg.gatewayUrl}/${api}/today`, { headers: { 'x-api-key': key } })).status;

    /** Calls until the gateway answers `want` (changes propagate asynchronously), at most 5 s. */
    async function expectStatus(key: string, api: 'weather' | 'maps', want: number): Promise<void> {
      const deadline = Date.now() + 5000;
      let got = 0;
      while (Date.now() < deadline) {
        got = await call(key, api);
        if (got === want) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(got, `${api} with the key`).toBe(want);
    }

    const plan = (name: string, apiIds: string[], limit: number) =>
      sdk.send(
        new CreateUsagePlanCommand({
          name,
          apiStages: apiIds.map((apiId) => ({ apiId, stage: 'prod' })),
          throttle: { rateLimit: 100, burstLimit: 100 },
          quota: { limit, period: 'DAY', offset: 0 },
        }),
      );

    it('meters each call to the plan that grants its API; plans that overlap are refused', async () => {
      const weatherPlan = await plan('Weather', [weather], 3);
      const mapsPlan = await plan('Maps', [maps], 2);
      const key = await sdk.send(new CreateApiKeyCommand({ name: 'buyer', enabled: true }));
      const value = key.value!;
      for (const p of [weatherPlan, mapsPlan]) {
        const added = await sdk.send(
          new CreateUsagePlanKeyCommand({ usagePlanId: p.id, keyId: key.id, keyType: 'API_KEY' }),
        );
        expect(added).toMatchObject({ id: key.id, type: 'API_KEY', name: 'buyer' });
      }
      // A third plan on the weather API: API Gateway's refusal, naming the shared stage.
      const both = await plan('Both', [weather, maps], 100);
      const refused = await sdk
        .send(new CreateUsagePlanKeyCommand({ usagePlanId: both.id, keyId: key.id, keyType: 'API_KEY' }))
        .catch((e) => e);
      expect(refused).toBeInstanceOf(ConflictException);
      expect(refused.message).toBe(
        `Usage Plan ${both.id} cannot be added because API Key ${key.id} cannot reference multiple Usage Plans with the same API Stage: ${weather}:prod`,
      );
      // Nor may one of the key's plans take on the other's API.
      const widened = await sdk
        .send(
          new UpdateUsagePlanCommand({
            usagePlanId: mapsPlan.id,
            patchOperations: [{ op: 'add', path: '/apiStages', value: `${weather}:prod` }],
          }),
        )
        .catch((e) => e);
      expect(widened).toBeInstanceOf(ConflictException);
      expect(widened.message).toContain(`API ${weather}`);

      const plansOfKey = await sdk.send(new GetUsagePlansCommand({ keyId: key.id }));
      expect(plansOfKey.items!.map((p) => p.id).sort()).toEqual([weatherPlan.id, mapsPlan.id].sort());
      for (const p of [weatherPlan, mapsPlan])
        expect((await sdk.send(new GetUsagePlanKeysCommand({ usagePlanId: p.id }))).items).toEqual([
          { id: key.id, type: 'API_KEY', name: 'buyer' },
        ]);
      expect(await sdk.send(new GetApiKeyCommand({ apiKey: key.id }))).toMatchObject({
        id: key.id,
        name: 'buyer',
        enabled: true,
      });

      // Weather: 3 a day; maps: 2 a day — each quota counts only its own API's calls.
      await expectStatus(value, 'maps', 200);
      expect(await call(value, 'maps')).toBe(200);
      expect(await call(value, 'maps')).toBe(429);
      for (let i = 0; i < 3; i++) expect(await call(value, 'weather')).toBe(200);
      expect(await call(value, 'weather')).toBe(429);
      expect(await call(value, 'maps')).toBe(429);

      // Stored usage: each API's calls on its own plan's subscription.
      await tg.meter.flush();
      const subOf = async (planId: string) =>
        (
          await tg.store.db
            .selectFrom('subscriptions')
            .select('id')
            .where('plan_id', '=', planId)
            .where('status', '!=', 'cancelled')
            .executeTakeFirstOrThrow()
        ).id;
      const usage = await tg.store.db
        .selectFrom('usage')
        .select(['subscription_id', 'api_id', 'key_id'])
        .select((eb) => eb.fn.sum<number>('requests').as('requests'))
        .groupBy(['subscription_id', 'api_id', 'key_id'])
        .execute();
      expect(
        usage
          .map((u) => ({ ...u, requests: Number(u.requests) }))
          .sort((a, b) => a.api_id.localeCompare(b.api_id)),
      ).toEqual(
        [
          { subscription_id: await subOf(weatherPlan.id!), api_id: weather, key_id: key.id, requests: 3 },
          { subscription_id: await subOf(mapsPlan.id!), api_id: maps, key_id: key.id, requests: 2 },
        ].sort((a, b) => a.api_id.localeCompare(b.api_id)),
      );
      const today = localDate(Date.now());
      const usageOf = async (usagePlanId: string) =>
        (await sdk.send(new GetUsageCommand({ usagePlanId, startDate: today, endDate: today }))).items;
      expect(await usageOf(weatherPlan.id!)).toEqual({ [key.id!]: [[3, 0]] });
      expect(await usageOf(mapsPlan.id!)).toEqual({ [key.id!]: [[2, 0]] });

      // UpdateUsage on one plan grants more there only.
      await sdk.send(
        new UpdateUsageCommand({
          usagePlanId: mapsPlan.id,
          keyId: key.id,
          patchOperations: [{ op: 'replace', path: '/remaining', value: '1' }],
        }),
      );
      await expectStatus(value, 'maps', 200);
      expect(await call(value, 'maps')).toBe(429);
      expect(await call(value, 'weather')).toBe(429);

      // Disabled: neither API; enabled again: as before.
      const setEnabled = (on: boolean) =>
        sdk.send(
          new UpdateApiKeyCommand({
            apiKey: key.id,
            patchOperations: [{ op: 'replace', path: '/enabled', value: String(on) }],
          }),
        );
      await setEnabled(false);
      await expectStatus(value, 'maps', 403);
      expect(await call(value, 'weather')).toBe(403);
      await setEnabled(true);
      await expectStatus(value, 'maps', 429);
      expect(await call(value, 'weather')).toBe(429);

      // Out of the weather plan (the key's own subscription): maps keeps working, weather is closed.
      await sdk.send(new DeleteUsagePlanKeyCommand({ usagePlanId: weatherPlan.id, keyId: key.id }));
      await expectStatus(value, 'weather', 403);
      expect(await call(value, 'maps')).toBe(429);
      expect((await sdk.send(new GetUsagePlanKeysCommand({ usagePlanId: weatherPlan.id }))).items).toEqual(
        [],
      );
      // The maps quota still counts what was used today on the maps subscription.
      await sdk.send(
        new UpdateUsageCommand({
          usagePlanId: mapsPlan.id,
          keyId: key.id,
          patchOperations: [{ op: 'replace', path: '/remaining', value: '2' }],
        }),
      );
      await expectStatus(value, 'maps', 200);
      expect(await call(value, 'maps')).toBe(200);
      expect(await call(value, 'maps')).toBe(429);
      await tg.meter.flush();
      expect(await usageOf(mapsPlan.id!)).toEqual({ [key.id!]: [[5, 0]] });

      // Now the overlapping plan fits beside maps? No: it grants maps too.
      await expect(
        sdk.send(new CreateUsagePlanKeyCommand({ usagePlanId: both.id, keyId: key.id, keyType: 'API_KEY' })),
      ).rejects.toBeInstanceOf(ConflictException);
      // Back into weather: both APIs again, each on its own plan.
      await sdk.send(
        new CreateUsagePlanKeyCommand({ usagePlanId: weatherPlan.id, keyId: key.id, keyType: 'API_KEY' }),
      );
      await expectStatus(value, 'weather', 429);

      // Deleted: nothing opens.
      await sdk.send(new DeleteApiKeyCommand({ apiKey: key.id }));
      await expectStatus(value, 'maps', 403);
      expect(await call(value, 'weather')).toBe(403);
      const links = await tg.store.db.selectFrom('api_key_subscriptions').selectAll().execute();
      expect(links).toEqual([]);
    });
  });
}
