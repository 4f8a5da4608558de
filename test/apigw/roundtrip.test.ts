/**
 * What Terraform and the AWS CLI need to round-trip, with the stock SDK: generated values
 * read back with includeValue(s) (the installation keeps them sealed), descriptions and tags
 * (TagResource/UntagResource/GetTags by ARN), patches that set only what they name,
 * DeleteUsagePlan once no key is in the plan, productCode ↔ marketplace product, and the
 * ImportApiKeys file's single-quoted plan ids.
 */
import {
  BadRequestException,
  ConflictException,
  CreateApiKeyCommand,
  CreateUsagePlanCommand,
  CreateUsagePlanKeyCommand,
  DeleteUsagePlanCommand,
  DeleteUsagePlanKeyCommand,
  GetApiKeyCommand,
  GetApiKeysCommand,
  GetTagsCommand,
  GetUsagePlanCommand,
  GetUsagePlansCommand,
  ImportApiKeysCommand,
  NotFoundException,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateApiKeyCommand,
  UpdateUsagePlanCommand,
} from '@aws-sdk/client-api-gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testStores } from '../helpers/stores.js';
import { type ApigwHarness, startApigw } from './harness.js';

const OP = { kind: 'operator', id: 't' } as const;
const planArn = (id: string) => `arn:aws:apigateway:eu-west-1::/usageplans/${id}`;
const keyArn = (id: string) => `arn:aws:apigateway:eu-west-1::/apikeys/${id}`;

for (const kind of await testStores()) {
  describe(`API Gateway round-trips on ${kind.name}`, () => {
    let h: ApigwHarness;
    beforeAll(async () => {
      h = await startApigw(kind, { keyValues: true });
    });
    afterAll(async () => {
      await h?.close();
    });

    const newPlan = async (name: string, extra: Record<string, unknown> = {}) =>
      h.sigv4.send(
        new CreateUsagePlanCommand({ name, apiStages: [{ apiId: h.alpha.apiId, stage: 'prod' }], ...extra }),
      );

    it('generates a value for an empty one and returns it sealed-kept with includeValue(s)', async () => {
      const made = await h.sigv4.send(
        new CreateApiKeyCommand({
          name: 'tf-key',
          value: '',
          description: 'Managed by Terraform',
          enabled: true,
          tags: { env: 'test' },
        }),
      );
      expect(made.value!.length).toBeGreaterThanOrEqual(20);
      expect(made).toMatchObject({ description: 'Managed by Terraform', tags: { env: 'test' } });

      const plain = await h.sigv4.send(new GetApiKeyCommand({ apiKey: made.id }));
      expect(plain.value).toBeUndefined();
      expect(plain).toMatchObject({ description: 'Managed by Terraform', tags: { env: 'test' } });
      const withValue = await h.sigv4.send(new GetApiKeyCommand({ apiKey: made.id, includeValue: true }));
      expect(withValue.value).toBe(made.value);
      const listed = await h.sigv4.send(new GetApiKeysCommand({ nameQuery: 'tf-key', includeValues: true }));
      expect(listed.items!.map((k) => k.value)).toEqual([made.value]);
      expect(listed.warnings ?? []).toEqual([]);

      // At rest the value is sealed, never in clear.
      const row = await h.store.db
        .selectFrom('apigw_key_values')
        .selectAll()
        .where('key_id', '=', made.id!)
        .executeTakeFirstOrThrow();
      expect(row.value_sealed).not.toContain(made.value!);

      const patched = await h.sigv4.send(
        new UpdateApiKeyCommand({
          apiKey: made.id,
          patchOperations: [{ op: 'replace', path: '/description', value: 'renamed' }],
        }),
      );
      expect(patched.description).toBe('renamed');
    });

    it('tags plans and keys by ARN, and refuses ARNs it cannot see or read', async () => {
      const plan = await newPlan('tagged', { tags: { team: 'a' } });
      expect(plan.tags).toEqual({ team: 'a' });
      await h.sigv4.send(
        new TagResourceCommand({ resourceArn: planArn(plan.id!), tags: { cost: '42', team: 'b' } }),
      );
      expect((await h.sigv4.send(new GetTagsCommand({ resourceArn: planArn(plan.id!) }))).tags).toEqual({
        cost: '42',
        team: 'b',
      });
      await h.sigv4.send(new UntagResourceCommand({ resourceArn: planArn(plan.id!), tagKeys: ['team'] }));
      expect((await h.sigv4.send(new GetUsagePlanCommand({ usagePlanId: plan.id }))).tags).toEqual({
        cost: '42',
      });

      const key = await h.sigv4.send(new CreateApiKeyCommand({ name: 'k-tags' }));
      await h.sigv4.send(new TagResourceCommand({ resourceArn: keyArn(key.id!), tags: { owner: 'x' } }));
      expect((await h.sigv4.send(new GetApiKeyCommand({ apiKey: key.id }))).tags).toEqual({ owner: 'x' });

      // Beta's plan is invisible to Alpha's token; a malformed ARN names the field.
      await expect(
        h.sigv4.send(new GetTagsCommand({ resourceArn: planArn(h.beta.planId) })),
      ).rejects.toBeInstanceOf(NotFoundException);
      const bad = await h.sigv4
        .send(new TagResourceCommand({ resourceArn: 'arn:aws:s3:::bucket', tags: { a: 'b' } }))
        .catch((e) => e);
      expect(bad).toBeInstanceOf(BadRequestException);
      expect(bad.message).toMatch(/resource_arn/);
      const reserved = await h.sigv4
        .send(new TagResourceCommand({ resourceArn: keyArn(key.id!), tags: { 'aws:x': 'y' } }))
        .catch((e) => e);
      expect(reserved).toBeInstanceOf(BadRequestException);
    });

    it('patches set only what they name: the other field stays unset, nothing is invented', async () => {
      const bare = await newPlan('bare');
      const rate = await h.sigv4.send(
        new UpdateUsagePlanCommand({
          usagePlanId: bare.id,
          patchOperations: [{ op: 'replace', path: '/throttle/rateLimit', value: '50' }],
        }),
      );
      expect(rate.throttle).toEqual({ rateLimit: 50 });
      const period = await h.sigv4.send(
        new UpdateUsagePlanCommand({
          usagePlanId: bare.id,
          patchOperations: [{ op: 'replace', path: '/quota/period', value: 'DAY' }],
        }),
      );
      expect(period.quota).toEqual({ period: 'DAY', offset: 0 });
      expect(period.throttle).toEqual({ rateLimit: 50 });
      // The catalog holds the same half-set fields; the gateway enforces neither yet.
      const held = await h.catalog.plans.get(OP, bare.id!);
      expect(held.throttle).toEqual({ rateLimit: 50 });
      expect(held.quota).toEqual({ period: 'DAY', offset: 0, timeZone: 'UTC' });
      // Undo, so that Terraform's field-by-field add below starts from a plan without either.
      await h.sigv4.send(
        new UpdateUsagePlanCommand({
          usagePlanId: bare.id,
          patchOperations: [
            { op: 'remove', path: '/throttle' },
            { op: 'remove', path: '/quota' },
          ],
        }),
      );
      const unchanged = await h.sigv4.send(new GetUsagePlanCommand({ usagePlanId: bare.id }));
      expect(unchanged.throttle).toBeUndefined();
      expect(unchanged.quota).toBeUndefined();

      // One field of a method throttle, likewise.
      const one = await h.sigv4.send(
        new UpdateUsagePlanCommand({
          usagePlanId: bare.id,
          patchOperations: [
            {
              op: 'replace',
              path: `/apiStages/${h.alpha.apiId}:prod/throttle/~1pets~1POST/burstLimit`,
              value: '0',
            },
          ],
        }),
      );
      expect(one.apiStages![0]!.throttle).toEqual({ '/pets/POST': { burstLimit: 0 } });
      await h.sigv4.send(
        new UpdateUsagePlanCommand({
          usagePlanId: bare.id,
          patchOperations: [{ op: 'remove', path: `/apiStages/${h.alpha.apiId}:prod/throttle/~1pets~1POST` }],
        }),
      );

      // Terraform adds a throttle and a quota field by field in one request.
      const added = await h.sigv4.send(
        new UpdateUsagePlanCommand({
          usagePlanId: bare.id,
          patchOperations: [
            { op: 'add', path: '/throttle/rateLimit', value: '50' },
            { op: 'add', path: '/throttle/burstLimit', value: '5' },
            { op: 'add', path: '/quota/limit', value: '100' },
            { op: 'add', path: '/quota/offset', value: '0' },
            { op: 'add', path: '/quota/period', value: 'MONTH' },
          ],
        }),
      );
      expect(added).toMatchObject({
        throttle: { rateLimit: 50, burstLimit: 5 },
        quota: { limit: 100, period: 'MONTH', offset: 0 },
      });
      // On a plan with a quota, the CLI's documented `replace /quota/period DAY` keeps the limit.
      const daily = await h.sigv4.send(
        new UpdateUsagePlanCommand({
          usagePlanId: bare.id,
          patchOperations: [{ op: 'replace', path: '/quota/period', value: 'DAY' }],
        }),
      );
      expect(daily.quota).toMatchObject({ limit: 100, period: 'DAY' });

      // A method throttle named unescaped and removed escaped.
      const stage = `/apiStages/${h.alpha.apiId}:prod/throttle`;
      const m = await h.sigv4.send(
        new UpdateUsagePlanCommand({
          usagePlanId: bare.id,
          patchOperations: [
            { op: 'replace', path: `${stage}//pets/GET/rateLimit`, value: '2' },
            { op: 'replace', path: `${stage}//pets/GET/burstLimit`, value: '3' },
          ],
        }),
      );
      expect(m.apiStages![0]!.throttle).toEqual({ '/pets/GET': { rateLimit: 2, burstLimit: 3 } });
      const gone = await h.sigv4.send(
        new UpdateUsagePlanCommand({
          usagePlanId: bare.id,
          patchOperations: [{ op: 'remove', path: `${stage}/~1pets~1GET` }],
        }),
      );
      expect(gone.apiStages![0]!.throttle).toBeUndefined();
    });

    it('deletes a usage plan once no key is in it; history keeps the record', async () => {
      const never = await newPlan('never used');
      await h.sigv4.send(new DeleteUsagePlanCommand({ usagePlanId: never.id }));
      await expect(h.catalog.plans.get(OP, never.id!)).rejects.toThrow(/not/i);

      const used = await newPlan('used');
      const key = await h.sigv4.send(new CreateApiKeyCommand({ name: 'in used', enabled: true }));
      await h.sigv4.send(
        new CreateUsagePlanKeyCommand({ usagePlanId: used.id, keyId: key.id, keyType: 'API_KEY' }),
      );
      const busy = await h.sigv4.send(new DeleteUsagePlanCommand({ usagePlanId: used.id })).catch((e) => e);
      expect(busy).toBeInstanceOf(ConflictException);
      await h.sigv4.send(new DeleteUsagePlanKeyCommand({ usagePlanId: used.id, keyId: key.id }));
      const del = await h.sigv4.send(new DeleteUsagePlanCommand({ usagePlanId: used.id }));
      expect(del.$metadata.httpStatusCode).toBe(202);
      await expect(h.sigv4.send(new GetUsagePlanCommand({ usagePlanId: used.id }))).rejects.toBeInstanceOf(
        NotFoundException,
      );
      const listed = await h.sigv4.send(new GetUsagePlansCommand({ limit: 500 }));
      expect(listed.items!.map((p) => p.id)).not.toContain(used.id);
      // The catalog keeps the plan (its subscription has history), granting nothing any more.
      const kept = await h.catalog.plans.get(OP, used.id!);
      expect(kept.apiIds).toEqual([]);
      const subs = await h.store.db
        .selectFrom('subscriptions')
        .select('status')
        .where('plan_id', '=', used.id!)
        .execute();
      expect(subs.map((s) => s.status)).toEqual(['cancelled']);
    });

    it('links a plan to a marketplace product by productCode (id, or external code)', async () => {
      const first = await newPlan('listed');
      const product = await h.products.create(OP, {
        providerId: h.alpha.providerId,
        title: 'Pets',
        planIds: [first.id!],
        externalProductCode: `ext-${kind.name}-1`,
      });
      // API Gateway sets productCode by UpdateUsagePlan only (the SDK cannot even send it here).
      const created = await fetch(`${h.url}/apigateway/usageplans`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.operator}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'x', productCode: product.id }),
      });
      expect(created.status).toBe(400);
      expect(created.headers.get('x-amzn-errortype')).toBe('BadRequestException');
      expect(((await created.json()) as { message: string }).message).toMatch(/^productCode:/);

      const plan = await newPlan('sold');
      const linked = await h.sigv4.send(
        new UpdateUsagePlanCommand({
          usagePlanId: plan.id,
          patchOperations: [{ op: 'replace', path: '/productCode', value: `ext-${kind.name}-1` }],
        }),
      );
      expect(linked.productCode).toBe(`ext-${kind.name}-1`);
      expect((await h.sigv4.send(new GetUsagePlanCommand({ usagePlanId: plan.id }))).productCode).toBe(
        `ext-${kind.name}-1`,
      );
      expect((await h.products.get(OP, product.id)).planIds).toEqual([first.id, plan.id]);

      const byId = await h.sigv4.send(
        new UpdateUsagePlanCommand({
          usagePlanId: plan.id,
          patchOperations: [{ op: 'replace', path: '/productCode', value: product.id }],
        }),
      );
      expect(byId.productCode).toBe(product.id);
      const unknown = await h.sigv4
        .send(
          new UpdateUsagePlanCommand({
            usagePlanId: plan.id,
            patchOperations: [{ op: 'replace', path: '/productCode', value: 'no-such-product' }],
          }),
        )
        .catch((e) => e);
      expect(unknown).toBeInstanceOf(NotFoundException);
      const removed = await h.sigv4.send(
        new UpdateUsagePlanCommand({
          usagePlanId: plan.id,
          patchOperations: [{ op: 'remove', path: '/productCode' }],
        }),
      );
      expect(removed.productCode).toBeUndefined();
      expect((await h.products.get(OP, product.id)).planIds).toEqual([first.id]);
    });

    it('reads single-quoted plan ids in an ImportApiKeys file, and its descriptions', async () => {
      const plan = await newPlan('import target');
      const other = await newPlan('import other');
      const csv = [
        'Name,Key,Description,Enabled,UsagePlanIds',
        `one,${'a'.repeat(24)}1,first key,true,'${plan.id}'`,
        `two,${'a'.repeat(24)}2,second key,true,'${plan.id},${other.id}'`,
      ].join('\n');
      const r = await h.sigv4.send(
        new ImportApiKeysCommand({
          body: new TextEncoder().encode(csv),
          format: 'csv',
          failOnWarnings: false,
        }),
      );
      expect(r.ids).toHaveLength(2);
      const one = await h.sigv4.send(new GetApiKeyCommand({ apiKey: r.ids![0] }));
      expect(one.description).toBe('first key');
      for (const id of r.ids!) {
        const view = await h.catalog.keys.get(OP, id);
        expect((await h.catalog.subscriptions.get(OP, view.subscriptionId)).planId).toBe(plan.id);
      }
      expect(r.warnings).toEqual([expect.stringContaining(other.id!)]);
    });
  });
}
