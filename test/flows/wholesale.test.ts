/**
 * Wholesale through the real CLI: `tollgate serve --licence FILE` verifies the
 * licence offline before opening a port, refuses to start with a clear message on a bad
 * one, serves on a good one, and enforces the licence's deployment-wide rate ceiling.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKeyPair, signLicence } from '../../src/licences/index.js';
import { openStore } from '../../src/store/index.js';
import { startServe } from '../helpers/process.js';
import { seedApi, seedKey, seedPlan, seedProvider, seedSubscription } from '../helpers/seed.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const DAY = 86_400_000;
const CLI = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));

describe('tollgate serve --licence', () => {
  let dir: string;
  let up: Upstream;
  let provider: SigningKeyPair;
  let stranger: SigningKeyPair;
  let keysFile: string;
  let dbUrl: string;
  let apiKey: string;

  const licence = (
    over: { productId?: string; validFrom?: number; validUntil?: number; rate?: number } = {},
    key = provider,
  ) =>
    signLicence(
      {
        id: `lic_${Math.random().toString(36).slice(2, 10)}`,
        providerId: 'prv_acme',
        licensee: { id: 'con_globex', name: 'Globex Corp' },
        productId: over.productId ?? 'prd_nouns',
        deployments: 2,
        features: ['nouns'],
        limits: { rateLimit: over.rate ?? 2, burstLimit: over.rate ?? 2 },
        validFrom: over.validFrom ?? Date.now() - DAY,
        validUntil: over.validUntil ?? Date.now() + 30 * DAY,
      },
      key,
      Date.now(),
    );

  const args = (licenceText: string) => {
    const file = join(dir, `l-${Math.random().toString(36).slice(2)}.jwt`);
    writeFileSync(file, licenceText);
    return [
      '--licence',
      file,
      '--licence-public-keys',
      keysFile,
      '--licence-product',
      'prd_nouns',
      '--database-url',
      dbUrl,
      '--data-dir',
      dir,
      '--role',
      'gateway',
      '--gateway-port',
      '0',
      '--gateway-host',
      '127.0.0.1',
    ];
  };

  async function refused(licenceText: string): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', ...args(licenceText)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, stderr };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-wholesale-flow-'));
    up = await startUpstream((_req, res) => res.writeHead(200).end('ok'));
    provider = await generateSigningKey();
    stranger = await generateSigningKey();
    keysFile = join(dir, 'keys.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [provider.publicJwk], revoked: [] }));
    dbUrl = `sqlite:${join(dir, 't.db')}`;
    const store = await openStore(dbUrl);
    const prv = await seedProvider(store);
    const { apiId } = await seedApi(store, prv, up.url, { pathPrefix: '/nouns' });
    const plan = await seedPlan(store, prv, [apiId], {});
    const { subscriptionId } = await seedSubscription(store, plan);
    apiKey = (await seedKey(store, subscriptionId)).value;
    await store.close();
  });
  afterAll(async () => {
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves under a valid licence and holds its rate ceiling', async () => {
    const tg = await startServe(args(await licence({ rate: 2 })));
    try {
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await fetch(`${tg.gatewayUrl}/nouns/x`, { headers: { 'x-api-key': apiKey } });
        await r.arrayBuffer();
        codes.push(r.status);
      }
      expect(codes.slice(0, 2)).toEqual([200, 200]);
      expect(codes.slice(2)).toContain(429);
    } finally {
      await tg.stop();
    }
  }, 180_000);

  const bad: Array<[string, () => Promise<string>, RegExp]> = [
    [
      'a tampered licence',
      async () => {
        const [h, p, s] = (await licence()).split('.');
        const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as { deployments: number };
        claims.deployments = 1000;
        return [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
      },
      /TAMPERED/,
    ],
    ['a licence signed with another key', () => licence({}, stranger), /UNKNOWN_KEY/],
    ['a licence for another product', () => licence({ productId: 'prd_capture' }), /WRONG_PRODUCT/],
    ['a licence not yet valid', () => licence({ validFrom: Date.now() + 5 * DAY }), /NOT_YET_VALID/],
    ['garbage', async () => 'not a licence', /MALFORMED|licence/i],
  ];
  for (const [what, make, message] of bad) {
    it(`refuses to start on ${what}, saying why`, async () => {
      const { code, stderr } = await refused(await make());
      expect(code).toBe(1);
      expect(stderr).toMatch(/tollgate: cannot start: /);
      expect(stderr).toMatch(message);
      expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    }, 120_000);
  }
});
