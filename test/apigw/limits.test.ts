/**
 * Limits as API Gateway's clients set them, enforced by a whole Tollgate's gateway on the
 * in-memory and the Redis limits backends: zeros (Terraform's defaults) are limits — burst 0
 * or quota 0 admit nothing, rate 0 never refills — and a throttle or quota patched one field
 * at a time keeps the other unset and is enforced only once both are set.
 */
import {
  APIGatewayClient,
  CreateApiKeyCommand,
  CreateUsagePlanCommand,
  CreateUsagePlanKeyCommand,
  GetUsageCommand,
  GetUsagePlanCommand,
  UpdateUsagePlanCommand,
  type UsagePlan,
} from '@aws-sdk/client-api-gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../src/catalog/index.js';
import type { Tollgate } from '../../src/main/index.js';
import { localDate } from '../../src/metering/index.js';
import { redisAvailable } from '../helpers/redis.js';
import { REDIS_URL } from '../helpers/stores.js';
import { startTestTollgate } from '../helpers/tollgate.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const TOKEN = `tga_zero_${'z'.repeat(32)}`;
const DAY_S = 86_400;
const backends = [
  { name: 'memory limits', settings: {} },
  ...((await redisAvailable()) ? [{ name: 'Redis limits', settings: { redisUrl: REDIS_URL } }] : []),
];

for (const backend of backends) {
  describe(`API Gateway limits on the gateway (${backend.name})`, () => {
    let up: Upstream;
    let tg: Tollgate;
    let close: () => Promise<void>;
    let sdk: APIGatewayClient;
    let apiId: string;

    beforeAll(async () => {
      up = await startUpstream();
      ({ tg, close } = await startTestTollgate(TOKEN, backend.settings));
      const provider = await tg.catalog.providers.create(SYSTEM, { name: 'Zero Inc' });
      apiId = (
        await tg.catalog.apis.create(SYSTEM, {
          providerId: provider.id,
          name: 'z',
          upstreamUrl: up.url,
          pathPrefix: '/z',
        })
      ).id;
      const issued = await fetch(`${tg.consoleUrl}/admin/v1/apigateway/credentials`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: '{}',
      });
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

    const call = async (key: string) => {
      const r = await fetch(`${tg.gatewayUrl}/z/x`, { headers: { 'x-api-key': key } });
      const body = await r.text();
      return { status: r.status, body, retryAfter: r.headers.get('retry-after') };
    };
    /** Statuses of `n` calls in a row. */
    const statuses = async (key: string, n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await call(key)).status);
      return out;
    };

    /** A plan from `input` with a fresh key in it; the gateway has the change when this resolves. */
    async function planWithKey(
      input: Partial<UsagePlan>,
    ): Promise<{ planId: string; keyId: string; key: string }> {
      const plan = await sdk.send(
        new CreateUsagePlanCommand({ name: 'p', apiStages: [{ apiId, stage: 'prod' }], ...input }),
      );
      const key = await sdk.send(new CreateApiKeyCommand({ name: 'k', enabled: true }));
      await sdk.send(
        new CreateUsagePlanKeyCommand({ usagePlanId: plan.id, keyId: key.id, keyType: 'API_KEY' }),
      );
      await tg.snapshots.refresh();
      return { planId: plan.id!, keyId: key.id!, key: key.value! };
    }

    async function patch(
      planId: string,
      ops: Array<{ op: 'add' | 'replace' | 'remove'; path: string; value?: string }>,
    ) {
      const out = await sdk.send(new UpdateUsagePlanCommand({ usagePlanId: planId, patchOperations: ops }));
      await tg.snapshots.refresh();
      return out;
    }

    it('a throttle sent empty is burst 0, rate 0 (the model defaults): no call passes, nothing is counted', async () => {
      // restJson1 clients leave out members equal to their default (0): all-default arrives as {}.
      const p = await planWithKey({ throttle: {} });
      const read = await sdk.send(new GetUsagePlanCommand({ usagePlanId: p.planId }));
      expect(read.throttle).toEqual({ burstLimit: 0, rateLimit: 0 });
      const r = await call(p.key);
      expect(r).toMatchObject({ status: 429, retryAfter: String(DAY_S) });
      expect(JSON.parse(r.body)).toEqual({ message: 'Too Many Requests' });
      await tg.meter!.flush();
      const today = localDate(Date.now());
      const usage = await sdk.send(
        new GetUsageCommand({ usagePlanId: p.planId, keyId: p.keyId, startDate: today, endDate: today }),
      );
      expect(usage.items![p.keyId]![0]![0]).toBe(0); // used; no quota, so no remaining
    });

    it('rate 0 never refills: the burst is all there is', async () => {
      const p = await planWithKey({ throttle: { burstLimit: 2, rateLimit: 0 } });
      expect(await statuses(p.key, 2)).toEqual([200, 200]);
      const r = await call(p.key);
      expect(r).toMatchObject({ status: 429, retryAfter: String(DAY_S) });
    });

    it('quota 0 (a quota without a limit) admits nothing in its window', async () => {
      const p = await planWithKey({ quota: { period: 'DAY' } });
      const read = await sdk.send(new GetUsagePlanCommand({ usagePlanId: p.planId }));
      expect(read.quota).toEqual({ limit: 0, offset: 0, period: 'DAY' });
      const r = await call(p.key);
      expect(r.status).toBe(429);
      expect(JSON.parse(r.body)).toEqual({ message: 'Limit Exceeded' });
    });

    it('a throttle patched one field at a time is enforced once both are set', async () => {
      const p = await planWithKey({});
      const half = await patch(p.planId, [{ op: 'replace', path: '/throttle/burstLimit', value: '2' }]);
      expect(half.throttle).toEqual({ burstLimit: 2 });
      expect(await statuses(p.key, 4)).toEqual([200, 200, 200, 200]); // no rate yet: not enforced
      const whole = await patch(p.planId, [{ op: 'replace', path: '/throttle/rateLimit', value: '0.001' }]);
      expect(whole.throttle).toEqual({ burstLimit: 2, rateLimit: 0.001 });
      expect(await statuses(p.key, 3)).toEqual([200, 200, 429]);
    });

    it('a quota patched one field at a time is enforced once limit and period are set, counting what was used', async () => {
      const p = await planWithKey({});
      const half = await patch(p.planId, [{ op: 'replace', path: '/quota/period', value: 'DAY' }]);
      expect(half.quota).toEqual({ period: 'DAY', offset: 0 });
      expect(await statuses(p.key, 3)).toEqual([200, 200, 200]); // no limit yet: not enforced
      const whole = await patch(p.planId, [{ op: 'replace', path: '/quota/limit', value: '5' }]);
      expect(whole.quota).toEqual({ limit: 5, period: 'DAY', offset: 0 });
      expect(await statuses(p.key, 3)).toEqual([200, 200, 429]);
      await tg.meter!.flush();
      const today = localDate(Date.now());
      const usage = await sdk.send(
        new GetUsageCommand({ usagePlanId: p.planId, keyId: p.keyId, startDate: today, endDate: today }),
      );
      expect(usage.items).toEqual({ [p.keyId]: [[5, 0]] });
    });
  });
}
