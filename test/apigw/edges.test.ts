/**
 * The API Gateway API's edges: which provider an operator's new key belongs to, the hidden
 * holding plan, refused patch paths, stale SigV4 dates, raw restJson1 errors.
 */
import {
  BadRequestException,
  CreateApiKeyCommand,
  CreateUsagePlanCommand,
  CreateUsagePlanKeyCommand,
  GetUsagePlanKeysCommand,
  GetUsagePlansCommand,
  ImportApiKeysCommand,
  UnauthorizedException,
  UpdateApiKeyCommand,
  UpdateUsageCommand,
  UpdateUsagePlanCommand,
} from '@aws-sdk/client-api-gateway';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOLDING_PLAN } from '../../src/apigw/index.js';
import { testStores } from '../helpers/stores.js';
import { type ApigwHarness, startApigw } from './harness.js';

const OP = { kind: 'operator', id: 't' } as const;

for (const kind of await testStores()) {
  describe(`API Gateway API edges on ${kind.name}`, () => {
    let h: ApigwHarness;
    beforeAll(async () => {
      h = await startApigw(kind);
    });
    afterAll(async () => {
      await h?.close();
    });

    it("puts an operator's new key under the tagged provider, and refuses to guess among several", async () => {
      const guess = await h.bearer.send(new CreateApiKeyCommand({ name: 'who?' })).catch((e) => e);
      expect(guess).toBeInstanceOf(BadRequestException);
      expect(guess.message).toMatch(/tags\.tollgate:providerId/);

      const k = await h.bearer.send(
        new CreateApiKeyCommand({
          name: 'beta key',
          enabled: true,
          tags: { 'tollgate:providerId': h.beta.providerId },
        }),
      );
      const view = await h.catalog.keys.get(OP, k.id!);
      const sub = await h.catalog.subscriptions.get(OP, view.subscriptionId);
      const plan = await h.catalog.plans.get(OP, sub.planId);
      expect(plan).toMatchObject({ providerId: h.beta.providerId, name: HOLDING_PLAN, apiIds: [] });
      // The holding plan is not a usage plan to API Gateway clients.
      const plans = await h.bearer.send(new GetUsagePlansCommand({ limit: 500 }));
      expect(plans.items!.map((p) => p.name)).not.toContain(HOLDING_PLAN);
      // Two keys of one customer share a consumer.
      const tagged = { 'tollgate:providerId': h.beta.providerId };
      const c1 = await h.bearer.send(
        new CreateApiKeyCommand({ name: 'c1', customerId: 'C-9', tags: tagged }),
      );
      const c2 = await h.bearer.send(
        new CreateApiKeyCommand({ name: 'c2', customerId: 'C-9', tags: tagged }),
      );
      const s1 = await h.catalog.subscriptions.get(OP, (await h.catalog.keys.get(OP, c1.id!)).subscriptionId);
      const s2 = await h.catalog.subscriptions.get(OP, (await h.catalog.keys.get(OP, c2.id!)).subscriptionId);
      expect(s1.consumerId).toBe(s2.consumerId);
    });

    it("reports an imported value already used by another provider's key as a warning", async () => {
      const value = 'shared-value-0123456789abcdef';
      await h.bearer.send(
        new CreateApiKeyCommand({ name: 'beta', value, tags: { 'tollgate:providerId': h.beta.providerId } }),
      );
      const csv = `name,key\ntaken,${value}\nfresh,fresh-value-0123456789abcdef\n`;
      const r = await h.sigv4.send(
        new ImportApiKeysCommand({ body: new TextEncoder().encode(csv), format: 'csv' }),
      );
      expect(r.ids).toHaveLength(1);
      expect(r.warnings).toEqual([expect.stringMatching(/^line 2: .*already in use/)]);
    });

    it('refuses what it cannot honour, naming it', async () => {
      const plan = await h.sigv4.send(new CreateUsagePlanCommand({ name: 'edge' }));
      const cases: Array<
        [Array<{ op: 'replace' | 'add' | 'remove'; path: string; value?: string }>, RegExp]
      > = [
        [[{ op: 'replace', path: '/throttle/rateLimit', value: '-5' }], /throttle\.rateLimit/],
        [[{ op: 'replace', path: '/quota/period', value: 'YEAR' }], /quota\.period/],
        [[{ op: 'replace', path: '/throttle/burstLimit', value: '0.5' }], /patchOperations\[0\]\.value/],
        [[{ op: 'replace', path: '/quota/limit', value: 'lots' }], /patchOperations\[0\]\.value/],
        [[{ op: 'add', path: '/apiStages', value: `${h.alpha.apiId}:dev` }], /one stage/],
        [[{ op: 'replace', path: '/throttle/colour', value: '1' }], /not supported/],
        [[{ op: 'add', path: '/apiStages', value: 'api_nope:prod' }], /apiIds\[0\]/],
      ];
      for (const [patchOperations, message] of cases) {
        const e = await h.sigv4
          .send(new UpdateUsagePlanCommand({ usagePlanId: plan.id, patchOperations }))
          .catch((x) => x);
        expect(e, JSON.stringify(patchOperations)).toBeInstanceOf(BadRequestException);
        expect(e.message).toMatch(message);
      }
      const k = await h.sigv4.send(new CreateApiKeyCommand({ name: 'k' }));
      const e = await h.sigv4
        .send(
          new UpdateApiKeyCommand({
            apiKey: k.id,
            patchOperations: [{ op: 'replace', path: '/enabled', value: 'yes' }],
          }),
        )
        .catch((x) => x);
      expect(e).toBeInstanceOf(BadRequestException);
      const stage = await h.sigv4
        .send(new CreateApiKeyCommand({ name: 'k', stageKeys: [{ restApiId: 'a', stageName: 'prod' }] }))
        .catch((x) => x);
      expect(stage).toBeInstanceOf(BadRequestException);
      const value = await h.sigv4
        .send(new CreateApiKeyCommand({ name: 'k', value: 'short' }))
        .catch((x) => x);
      expect(value.message).toMatch(/^value: /);
    });

    it('pages and filters the keys of a plan; UpdateUsage needs a quota', async () => {
      const plan = await h.sigv4.send(new CreateUsagePlanCommand({ name: 'no quota' }));
      for (const name of ['app-a', 'app-b', 'web-c']) {
        const k = await h.sigv4.send(new CreateApiKeyCommand({ name, enabled: true }));
        await h.sigv4.send(
          new CreateUsagePlanKeyCommand({ usagePlanId: plan.id, keyId: k.id, keyType: 'API_KEY' }),
        );
      }
      const p1 = await h.sigv4.send(
        new GetUsagePlanKeysCommand({ usagePlanId: plan.id, nameQuery: 'app-', limit: 1 }),
      );
      const p2 = await h.sigv4.send(
        new GetUsagePlanKeysCommand({
          usagePlanId: plan.id,
          nameQuery: 'app-',
          limit: 1,
          position: p1.position,
        }),
      );
      expect([...p1.items!, ...p2.items!].map((k) => k.name).sort()).toEqual(['app-a', 'app-b']);
      expect(p2.position).toBeUndefined();
      const e = await h.sigv4
        .send(
          new UpdateUsageCommand({
            usagePlanId: plan.id,
            keyId: p1.items![0]!.id,
            patchOperations: [{ op: 'replace', path: '/remaining', value: '5' }],
          }),
        )
        .catch((x) => x);
      expect(e).toBeInstanceOf(BadRequestException);
      expect(e.message).toMatch(/no quota/);
    });

    it('refuses a SigV4 date more than 5 minutes off the clock', async () => {
      h.clock.advance(20 * 60_000);
      try {
        const e = await h.sigv4.send(new GetUsagePlansCommand({})).catch((x) => x);
        expect(e).toBeInstanceOf(UnauthorizedException);
        expect(e.message).toMatch(/expired/);
      } finally {
        h.clock.advance(-20 * 60_000);
      }
      await expect(h.sigv4.send(new GetUsagePlansCommand({}))).resolves.toBeTruthy();
    });

    it('answers raw restJson1 errors: unknown operation, bad JSON, tampered body', async () => {
      const auth = { authorization: `Bearer ${h.operator}` };
      const unknown = await fetch(`${h.url}/apigateway/restapis`, { headers: auth });
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get('x-amzn-errortype')).toBe('NotFoundException');
      const badJson = await fetch(`${h.url}/apigateway/usageplans`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: '{"name":',
      });
      expect(badJson.status).toBe(400);
      expect(badJson.headers.get('x-amzn-errortype')).toBe('BadRequestException');
      expect(((await badJson.json()) as { message: string }).message).toMatch(/^body: /);

      // Signed by hand: the untouched request passes, the same signature over another body does not.
      const port = new URL(h.url).port;
      const signer = new SignatureV4({
        credentials: h.providerCreds,
        region: 'us-east-1',
        service: 'apigateway',
        sha256: Hash.bind(null, 'sha256'),
      });
      const signed = await signer.sign(
        new HttpRequest({
          method: 'POST',
          protocol: 'http:',
          hostname: '127.0.0.1',
          port: Number(port),
          path: '/apigateway/usageplans',
          headers: { host: `127.0.0.1:${port}`, 'content-type': 'application/json' },
          body: '{"name":"signed"}',
        }),
        { signingDate: new Date(h.clock.now()) },
      );
      const { host: _host, ...headers } = signed.headers;
      const ok = await fetch(`${h.url}/apigateway/usageplans`, {
        method: 'POST',
        headers,
        body: '{"name":"signed"}',
      });
      expect(ok.status).toBe(201);
      const tampered = await fetch(`${h.url}/apigateway/usageplans`, {
        method: 'POST',
        headers,
        body: '{"name":"evil"}',
      });
      expect(tampered.status).toBe(401);
      expect(tampered.headers.get('x-amzn-errortype')).toBe('UnauthorizedException');
    });
  });
}
