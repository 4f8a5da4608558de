/**
 * The story an API Gateway user lives, against a whole Tollgate (one process, SQLite): with
 * the stock AWS SDK they create a usage plan and a key, add the key to the plan, call the
 * API through Tollgate's gateway until the quota says no, grant more with UpdateUsage, read
 * GetUsage, then take the key out of the plan — and the gateway follows each change.
 */
import {
  APIGatewayClient,
  CreateApiKeyCommand,
  CreateUsagePlanCommand,
  CreateUsagePlanKeyCommand,
  DeleteUsagePlanKeyCommand,
  GetUsageCommand,
  UpdateApiKeyCommand,
  UpdateUsageCommand,
} from '@aws-sdk/client-api-gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../../src/catalog/index.js';
import type { Tollgate } from '../../src/main/index.js';
import { localDate } from '../../src/metering/index.js';
import { startTestTollgate } from '../helpers/tollgate.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const TOKEN = `tga_apigw_${'q'.repeat(32)}`;

describe('API Gateway clients drive the Tollgate gateway', () => {
  let closeTollgate: () => Promise<void>;
  let up: Upstream;
  let tg: Tollgate;
  let sdk: APIGatewayClient;
  let apiId: string;

  beforeAll(async () => {
    up = await startUpstream();
    ({ tg, close: closeTollgate } = await startTestTollgate(TOKEN));
    const provider = await tg.catalog.providers.create(SYSTEM, { name: 'Weather Inc' });
    apiId = (
      await tg.catalog.apis.create(SYSTEM, {
        providerId: provider.id,
        name: 'weather',
        upstreamUrl: up.url,
        pathPrefix: '/weather',
      })
    ).id;
    // The console's own /apigateway, with credentials issued through the admin API.
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
      credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    sdk?.destroy();
    await closeTollgate?.();
    await up?.close();
  });

  /** Calls until the gateway answers `want` (changes propagate asynchronously), at most 2 s. */
  async function expectStatus(key: string, want: number): Promise<void> {
    const deadline = Date.now() + 2000;
    let got = 0;
    while (Date.now() < deadline) {
      got = (await fetch(`${tg.gatewayUrl}/weather/today`, { headers: { 'x-api-key': key } })).status;
      if (got === want) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(got).toBe(want);
  }

  const call = async (key: string) =>
    (await fetch(`${tg.gatewayUrl}/weather/today`, { headers: { 'x-api-key': key } })).status;

  it('plan, key, quota, UpdateUsage, GetUsage, removal', async () => {
    const plan = await sdk.send(
      new CreateUsagePlanCommand({
        name: 'Daily 3',
        apiStages: [{ apiId, stage: 'prod' }],
        throttle: { rateLimit: 100, burstLimit: 100 },
        quota: { limit: 3, period: 'DAY', offset: 0 },
      }),
    );
    const key = await sdk.send(new CreateApiKeyCommand({ name: 'buyer', enabled: true }));
    // A key in no usage plan opens nothing.
    expect(await call(key.value!)).toBe(403);

    await sdk.send(
      new CreateUsagePlanKeyCommand({ usagePlanId: plan.id, keyId: key.id, keyType: 'API_KEY' }),
    );
    await expectStatus(key.value!, 200);
    expect(await call(key.value!)).toBe(200);
    expect(await call(key.value!)).toBe(200);
    const over = await fetch(`${tg.gatewayUrl}/weather/today`, { headers: { 'x-api-key': key.value! } });
    expect(over.status).toBe(429);
    expect(await over.json()).toEqual({ message: 'Limit Exceeded' });

    await sdk.send(
      new UpdateUsageCommand({
        usagePlanId: plan.id,
        keyId: key.id,
        patchOperations: [{ op: 'replace', path: '/remaining', value: '1' }],
      }),
    );
    await expectStatus(key.value!, 200);
    expect(await call(key.value!)).toBe(429);

    await tg.meter?.flush();
    const today = localDate(Date.now());
    const usage = await sdk.send(
      new GetUsageCommand({ usagePlanId: plan.id, startDate: today, endDate: today }),
    );
    expect(usage.items).toEqual({ [key.id!]: [[4, 0]] });

    await sdk.send(
      new UpdateApiKeyCommand({
        apiKey: key.id,
        patchOperations: [{ op: 'replace', path: '/enabled', value: 'false' }],
      }),
    );
    await expectStatus(key.value!, 403);
    await sdk.send(
      new UpdateApiKeyCommand({
        apiKey: key.id,
        patchOperations: [{ op: 'replace', path: '/enabled', value: 'true' }],
      }),
    );
    await expectStatus(key.value!, 429);
    await sdk.send(new DeleteUsagePlanKeyCommand({ usagePlanId: plan.id, keyId: key.id }));
    await expectStatus(key.value!, 403);
  });
});
