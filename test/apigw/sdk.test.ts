/**
 * The official @aws-sdk/client-api-gateway manages Tollgate's plans and keys: a provider
 * signs with SigV4 (its admin token id + the token's SHA-256), the operator sends a bearer
 * token; usage plans, API keys (create, import, update, delete), usage plan keys, GetUsage
 * over seeded hourly usage, UpdateUsage, and AWS-shaped errors.
 */
import {
  BadRequestException,
  ConflictException,
  CreateApiKeyCommand,
  CreateUsagePlanCommand,
  CreateUsagePlanKeyCommand,
  DeleteApiKeyCommand,
  DeleteUsagePlanCommand,
  DeleteUsagePlanKeyCommand,
  GetApiKeyCommand,
  GetApiKeysCommand,
  GetUsageCommand,
  GetUsagePlanCommand,
  GetUsagePlanKeyCommand,
  GetUsagePlanKeysCommand,
  GetUsagePlansCommand,
  ImportApiKeysCommand,
  NotFoundException,
  UnauthorizedException,
  UpdateApiKeyCommand,
  UpdateUsageCommand,
  UpdateUsagePlanCommand,
} from '@aws-sdk/client-api-gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDate } from '../../src/metering/index.js';
import { testStores } from '../helpers/stores.js';
import { type ApigwHarness, startApigw } from './harness.js';

const DAY = 86_400_000;

for (const kind of await testStores()) {
  describe(`API Gateway API with the AWS SDK on ${kind.name}`, () => {
    let h: ApigwHarness;
    beforeAll(async () => {
      h = await startApigw(kind);
    });
    afterAll(async () => {
      await h?.close();
    });

    async function newPlan(name: string, extra: Record<string, unknown> = {}) {
      return h.sigv4.send(
        new CreateUsagePlanCommand({
          name,
          apiStages: [{ apiId: h.alpha.apiId, stage: 'prod' }],
          quota: { limit: 1000, period: 'DAY', offset: 0 },
          ...extra,
        }),
      );
    }

    it('creates, reads, patches, pages and deletes usage plans', async () => {
      const created = await h.sigv4.send(
        new CreateUsagePlanCommand({
          name: 'Basic',
          description: 'starter',
          apiStages: [
            {
              apiId: h.alpha.apiId,
              stage: 'prod',
              throttle: { '/pets/GET': { burstLimit: 2, rateLimit: 1 } },
            },
          ],
          throttle: { burstLimit: 10, rateLimit: 5 },
          quota: { limit: 1000, offset: 0, period: 'MONTH' },
        }),
      );
      expect(created.$metadata.httpStatusCode).toBe(201);
      expect(created).toMatchObject({
        name: 'Basic',
        description: 'starter',
        throttle: { burstLimit: 10, rateLimit: 5 },
        quota: { limit: 1000, offset: 0, period: 'MONTH' },
        apiStages: [
          { apiId: h.alpha.apiId, stage: 'prod', throttle: { '/pets/GET': { burstLimit: 2, rateLimit: 1 } } },
        ],
      });
      const id = created.id!;
      // The Tollgate plan behind it: the per-method throttle is keyed by the route.
      const plan = await h.catalog.plans.get({ kind: 'operator', id: 't' }, id);
      expect(plan.routeThrottles).toEqual({
        [h.alpha.routes['/pets/GET']!]: { rateLimit: 1, burstLimit: 2 },
      });
      expect(plan.providerId).toBe(h.alpha.providerId);

      const got = await h.sigv4.send(new GetUsagePlanCommand({ usagePlanId: id }));
      expect(got.name).toBe('Basic');

      const patched = await h.sigv4.send(
        new UpdateUsagePlanCommand({
          usagePlanId: id,
          patchOperations: [
            { op: 'replace', path: '/name', value: 'Basic v2' },
            { op: 'replace', path: '/throttle/rateLimit', value: '20' },
            { op: 'replace', path: '/quota/limit', value: '5000' },
            { op: 'replace', path: '/quota/period', value: 'DAY' },
            {
              op: 'replace',
              path: `/apiStages/${h.alpha.apiId}:prod/throttle/~1pets~1{id}/GET/burstLimit`,
              value: '7',
            },
            // The same method throttle named unescaped, as Terraform sends it.
            {
              op: 'add',
              path: `/apiStages/${h.alpha.apiId}:prod/throttle//pets/{id}/GET/rateLimit`,
              value: '1',
            },
            { op: 'remove', path: `/apiStages/${h.alpha.apiId}:prod/throttle/~1pets/GET` },
          ],
        }),
      );
      expect(patched).toMatchObject({
        name: 'Basic v2',
        throttle: { rateLimit: 20, burstLimit: 10 },
        quota: { limit: 5000, period: 'DAY', offset: 0 },
        apiStages: [
          {
            apiId: h.alpha.apiId,
            stage: 'prod',
            throttle: { '/pets/{id}/GET': { burstLimit: 7, rateLimit: 1 } },
          },
        ],
      });

      await newPlan('P2');
      await newPlan('P3');
      const first = await h.sigv4.send(new GetUsagePlansCommand({ limit: 2 }));
      expect(first.items).toHaveLength(2);
      expect(first.position).toBeTruthy();
      const second = await h.sigv4.send(new GetUsagePlansCommand({ limit: 2, position: first.position }));
      const names = [...first.items!, ...second.items!].map((p) => p.name);
      expect(names).toEqual(expect.arrayContaining(['Basic v2', 'P2', 'P3']));
      expect(names).not.toContain('beta plan'); // Beta's, invisible to Alpha's token
      const all = await h.bearer.send(new GetUsagePlansCommand({ limit: 500 }));
      expect(all.items!.map((p) => p.name)).toContain('beta plan');

      const del = await h.sigv4.send(new DeleteUsagePlanCommand({ usagePlanId: id }));
      expect(del.$metadata.httpStatusCode).toBe(202);
      await expect(h.sigv4.send(new GetUsagePlanCommand({ usagePlanId: id }))).rejects.toBeInstanceOf(
        NotFoundException,
      );
    });

    it('creates, reads, lists, patches and deletes API keys; the value is shown once', async () => {
      const k = await h.sigv4.send(
        new CreateApiKeyCommand({ name: 'cust1', enabled: true, customerId: 'MKT-CUST-1' }),
      );
      expect(k.$metadata.httpStatusCode).toBe(201);
      expect(k).toMatchObject({ name: 'cust1', enabled: true, customerId: 'MKT-CUST-1' });
      expect(k.value).toMatch(/.{20,}/);
      expect(k.createdDate).toBeInstanceOf(Date);

      const got = await h.sigv4.send(new GetApiKeyCommand({ apiKey: k.id, includeValue: true }));
      expect(got.value).toBeUndefined();
      expect(got.customerId).toBe('MKT-CUST-1');

      const disabled = await h.sigv4.send(new CreateApiKeyCommand({ name: 'cust1-second' }));
      expect(disabled.enabled).toBe(false); // API Gateway's default

      const byCustomer = await h.sigv4.send(new GetApiKeysCommand({ customerId: 'MKT-CUST-1' }));
      expect(byCustomer.items!.map((i) => i.id)).toEqual([k.id]);
      const byName = await h.sigv4.send(new GetApiKeysCommand({ nameQuery: 'cust1' }));
      expect(byName.items!.map((i) => i.id).sort()).toEqual([k.id, disabled.id].sort());
      const paged = await h.sigv4.send(new GetApiKeysCommand({ nameQuery: 'cust1', limit: 1 }));
      expect(paged.items).toHaveLength(1);
      const rest = await h.sigv4.send(
        new GetApiKeysCommand({ nameQuery: 'cust1', limit: 1, position: paged.position }),
      );
      expect(rest.items).toHaveLength(1);
      expect(rest.position).toBeUndefined();

      const upd = await h.sigv4.send(
        new UpdateApiKeyCommand({
          apiKey: k.id,
          patchOperations: [
            { op: 'replace', path: '/enabled', value: 'false' },
            { op: 'replace', path: '/name', value: 'renamed' },
            { op: 'replace', path: '/customerId', value: 'MKT-CUST-2' },
          ],
        }),
      );
      expect(upd).toMatchObject({ enabled: false, name: 'renamed', customerId: 'MKT-CUST-2' });

      const del = await h.sigv4.send(new DeleteApiKeyCommand({ apiKey: k.id }));
      expect(del.$metadata.httpStatusCode).toBe(202);
      await expect(h.sigv4.send(new GetApiKeyCommand({ apiKey: k.id }))).rejects.toBeInstanceOf(
        NotFoundException,
      );
    });

    it('imports keys from a CSV file, into a usage plan', async () => {
      const plan = await newPlan('Imported');
      const csv = [
        'Name,Key,Description,Enabled,UsagePlanIds',
        `alice,alice-0123456789abcdefghij,first,true,${plan.id}`,
        'bob,bob-0123456789abcdefghijklm,,false,',
        'carol,short,,true,',
      ].join('\n');
      const strict = h.sigv4.send(
        new ImportApiKeysCommand({
          body: new TextEncoder().encode(csv),
          format: 'csv',
          failOnWarnings: true,
        }),
      );
      await expect(strict).rejects.toBeInstanceOf(BadRequestException);

      const r = await h.sigv4.send(
        new ImportApiKeysCommand({
          body: new TextEncoder().encode(csv),
          format: 'csv',
          failOnWarnings: false,
        }),
      );
      expect(r.$metadata.httpStatusCode).toBe(201);
      expect(r.ids).toHaveLength(2);
      expect(r.warnings).toEqual([expect.stringContaining('line 4')]);
      const keys = await h.sigv4.send(new GetUsagePlanKeysCommand({ usagePlanId: plan.id }));
      expect(keys.items!.map((i) => i.name)).toEqual(['alice']);
      const bob = await h.sigv4.send(new GetApiKeyCommand({ apiKey: r.ids![1] }));
      expect(bob).toMatchObject({ name: 'bob', enabled: false });

      // Re-importing a value overwrites its key.
      const again = await h.sigv4.send(
        new ImportApiKeysCommand({
          body: new TextEncoder().encode('key,name\nbob-0123456789abcdefghijklm,bobby\n'),
          format: 'csv',
        }),
      );
      expect(again.ids).toEqual([r.ids![1]]);
      expect((await h.sigv4.send(new GetApiKeyCommand({ apiKey: r.ids![1] }))).name).toBe('bobby');
    });

    it('adds keys to usage plans and removes them', async () => {
      const plan = await newPlan('Keys');
      const other = await newPlan('Other');
      const k = await h.sigv4.send(new CreateApiKeyCommand({ name: 'k1', enabled: true }));
      const added = await h.sigv4.send(
        new CreateUsagePlanKeyCommand({ usagePlanId: plan.id, keyId: k.id, keyType: 'API_KEY' }),
      );
      expect(added.$metadata.httpStatusCode).toBe(201);
      expect(added).toMatchObject({ id: k.id, type: 'API_KEY', name: 'k1' });
      // In Tollgate: the key now belongs to a subscription on the plan.
      const view = await h.catalog.keys.get({ kind: 'operator', id: 't' }, k.id!);
      const sub = await h.catalog.subscriptions.get({ kind: 'operator', id: 't' }, view.subscriptionId);
      expect(sub).toMatchObject({ planId: plan.id, status: 'active' });

      const one = await h.sigv4.send(new GetUsagePlanKeyCommand({ usagePlanId: plan.id, keyId: k.id }));
      expect(one.id).toBe(k.id);
      const byKey = await h.sigv4.send(new GetUsagePlansCommand({ keyId: k.id }));
      expect(byKey.items!.map((p) => p.id)).toEqual([plan.id]);
      await expect(
        h.sigv4.send(
          new CreateUsagePlanKeyCommand({ usagePlanId: plan.id, keyId: k.id, keyType: 'API_KEY' }),
        ),
      ).rejects.toBeInstanceOf(ConflictException);
      // Another plan on the same API stage: API Gateway's own refusal, word for word.
      const same = await h.sigv4
        .send(new CreateUsagePlanKeyCommand({ usagePlanId: other.id, keyId: k.id, keyType: 'API_KEY' }))
        .catch((e) => e);
      expect(same).toBeInstanceOf(ConflictException);
      expect(same.message).toBe(
        `Usage Plan ${other.id} cannot be added because API Key ${k.id} cannot reference multiple Usage Plans with the same API Stage: ${h.alpha.apiId}:prod`,
      );
      // A plan on another API: accepted, as in API Gateway — the key is in both plans.
      const cats = await h.catalog.apis.create(
        { kind: 'operator', id: 't' },
        {
          providerId: h.alpha.providerId,
          name: 'cats',
          upstreamUrl: 'http://127.0.0.1:9/',
          pathPrefix: '/cats-api',
        },
      );
      const apart = await h.sigv4.send(
        new CreateUsagePlanCommand({ name: 'Cats', apiStages: [{ apiId: cats.id, stage: 'prod' }] }),
      );
      const both = await h.sigv4.send(
        new CreateUsagePlanKeyCommand({ usagePlanId: apart.id, keyId: k.id, keyType: 'API_KEY' }),
      );
      expect(both.$metadata.httpStatusCode).toBe(201);
      expect((await h.sigv4.send(new GetUsagePlansCommand({ keyId: k.id }))).items!.map((p) => p.id)).toEqual(
        [plan.id, apart.id],
      );

      // Out of the first plan: the key stays in the other one, and its subscription is now that one's.
      const del = await h.sigv4.send(new DeleteUsagePlanKeyCommand({ usagePlanId: plan.id, keyId: k.id }));
      expect(del.$metadata.httpStatusCode).toBe(202);
      await expect(
        h.sigv4.send(new GetUsagePlanKeyCommand({ usagePlanId: plan.id, keyId: k.id })),
      ).rejects.toBeInstanceOf(NotFoundException);
      expect((await h.sigv4.send(new GetUsagePlanKeysCommand({ usagePlanId: plan.id }))).items).toEqual([]);
      expect(
        (await h.sigv4.send(new GetUsagePlanKeysCommand({ usagePlanId: apart.id }))).items!.map((i) => i.id),
      ).toEqual([k.id]);
      const moved = await h.catalog.keys.get({ kind: 'operator', id: 't' }, k.id!);
      const movedSub = await h.catalog.subscriptions.get({ kind: 'operator', id: 't' }, moved.subscriptionId);
      expect(movedSub.planId).toBe(apart.id);
      // …and it can join a plan on the first API again.
      await h.sigv4.send(
        new CreateUsagePlanKeyCommand({ usagePlanId: other.id, keyId: k.id, keyType: 'API_KEY' }),
      );
      await h.sigv4.send(new DeleteUsagePlanKeyCommand({ usagePlanId: apart.id, keyId: k.id }));
      await h.sigv4.send(new DeleteUsagePlanKeyCommand({ usagePlanId: other.id, keyId: k.id }));
      expect((await h.sigv4.send(new GetUsagePlansCommand({ keyId: k.id }))).items).toEqual([]);
      const audit = await h.store.db
        .selectFrom('audit_log')
        .select(['action', 'actor'])
        .where('entity_id', '=', k.id!)
        .where('action', 'in', ['apigw.move', 'link', 'unlink'])
        .execute();
      // In (move); second plan linked; first plan left (unlink: the link becomes the key's
      // own); third linked; second left; out of the last one, back to holding (move).
      expect(audit.map((a) => a.action).sort()).toEqual([
        'apigw.move',
        'apigw.move',
        'link',
        'link',
        'unlink',
        'unlink',
      ]);
      expect(new Set(audit.map((a) => a.actor))).toEqual(new Set([h.provider.id]));
    });

    it('GetUsage gives [used, remaining] per key per day; UpdateUsage sets remaining', async () => {
      const plan = await newPlan('Metered');
      const k = await h.sigv4.send(new CreateApiKeyCommand({ name: 'metered', enabled: true }));
      await h.sigv4.send(
        new CreateUsagePlanKeyCommand({ usagePlanId: plan.id, keyId: k.id, keyType: 'API_KEY' }),
      );
      const view = await h.catalog.keys.get({ kind: 'operator', id: 't' }, k.id!);
      const now = h.clock.now();
      const todayStart = now - (now % DAY);
      const seed = (hour: number, requests: number) =>
        h.store.db
          .insertInto('usage')
          .values({
            subscription_id: view.subscriptionId,
            key_id: k.id!,
            api_id: h.alpha.apiId,
            dimension: 'requests',
            hour,
            units: requests,
            requests,
          })
          .execute();
      await seed(todayStart - DAY + 3_600_000, 40);
      await seed(todayStart, 25);
      const today = localDate(now);
      const yesterday = localDate(now - DAY);
      const usage = await h.sigv4.send(
        new GetUsageCommand({ usagePlanId: plan.id, startDate: yesterday, endDate: today }),
      );
      expect(usage).toMatchObject({ usagePlanId: plan.id, startDate: yesterday, endDate: today });
      expect(usage.items).toEqual({
        [k.id!]: [
          [40, 960],
          [25, 975],
        ],
      });

      const updated = await h.sigv4.send(
        new UpdateUsageCommand({
          usagePlanId: plan.id,
          keyId: k.id,
          patchOperations: [{ op: 'replace', path: '/remaining', value: '50' }],
        }),
      );
      expect(updated.items).toEqual({ [k.id!]: [[25, 50]] });
      const after = await h.sigv4.send(
        new GetUsageCommand({ usagePlanId: plan.id, startDate: today, endDate: today, keyId: k.id }),
      );
      expect(after.items).toEqual({ [k.id!]: [[25, 50]] });
    });

    it('answers AWS-shaped errors the SDK raises by name', async () => {
      const missing = await h.sigv4
        .send(new GetUsagePlanCommand({ usagePlanId: 'pln_01JD3Q3R9ZK0V5TQ8Y0S2M4N6P' }))
        .catch((e) => e);
      expect(missing).toBeInstanceOf(NotFoundException);
      expect(missing.$metadata.httpStatusCode).toBe(404);
      expect(missing.message).toMatch(/Invalid Usage Plan ID/);
      // Another provider's plan looks exactly like a missing one.
      await expect(
        h.sigv4.send(new GetUsagePlanCommand({ usagePlanId: h.beta.planId })),
      ).rejects.toBeInstanceOf(NotFoundException);

      const bad = await h.sigv4
        .send(new CreateUsagePlanCommand({ name: 'x', quota: { limit: 10, period: 'YEAR' as 'DAY' } }))
        .catch((e) => e);
      expect(bad).toBeInstanceOf(BadRequestException);
      expect(bad.message).toMatch(/quota\.period/);
      const badStage = await h.sigv4
        .send(new CreateUsagePlanCommand({ name: 'x', apiStages: [{ apiId: h.alpha.apiId, stage: 'dev' }] }))
        .catch((e) => e);
      expect(badStage).toBeInstanceOf(BadRequestException);
      expect(badStage.message).toMatch(/apiStages\[0\]\.stage/);
      const badThrottle = await h.sigv4
        .send(new CreateUsagePlanCommand({ name: 'x', throttle: { rateLimit: -1, burstLimit: 1 } }))
        .catch((e) => e);
      expect(badThrottle).toBeInstanceOf(BadRequestException);
      expect(badThrottle.message).toMatch(/throttle\.rateLimit/);

      const wrongSecret = h.client({ accessKeyId: h.providerCreds.accessKeyId, secretAccessKey: 'not-it' });
      await expect(wrongSecret.send(new GetUsagePlansCommand({}))).rejects.toBeInstanceOf(
        UnauthorizedException,
      );
      // The token id and its stored hash (what a database copy holds) sign nothing.
      const hash = await h.store.db
        .selectFrom('admin_tokens')
        .select('hash')
        .where('id', '=', h.provider.id)
        .executeTakeFirstOrThrow();
      const fromDb = h.client({ accessKeyId: h.provider.id, secretAccessKey: hash.hash });
      await expect(fromDb.send(new GetUsagePlansCommand({}))).rejects.toBeInstanceOf(UnauthorizedException);
      const unknownId = h.client({ accessKeyId: 'TGAGNOBODY', secretAccessKey: 'x' });
      await expect(unknownId.send(new GetUsagePlansCommand({}))).rejects.toBeInstanceOf(
        UnauthorizedException,
      );
      const res = await fetch(`${h.url}/apigateway/usageplans`);
      expect(res.status).toBe(401);
      expect(res.headers.get('x-amzn-errortype')).toBe('UnauthorizedException');
      expect(await res.json()).toEqual({ message: expect.any(String) });
    });
  });
}
