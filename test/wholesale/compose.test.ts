/**
 * compose.yaml run as it is, by podman-compose, the way docs/wholesale.md tells a buyer to:
 * the file copied unchanged into a folder with `licence/`, the variables it requires set in
 * the environment, `podman-compose up -d`. Two things differ from a buyer's machine, both
 * through variables the file offers: the images come from this machine (TOLLGATE_IMAGE, the
 * image scripts/container-image.sh builds; POSTGRES_IMAGE, a stand-in for the official
 * `postgres` image with the same contract, test/wholesale/postgres/, because no registry can
 * be reached here), and the host ports are free ones (TOLLGATE_*_PUBLISH).
 *
 * podman-compose 1.0 starts the services in order but does not wait for the database's
 * health check: tollgate's first start may find the database still initialising, exit, and
 * be started again by its restart policy — the test waits for the console's /healthz on the
 * published loopback port, whichever start that is.
 *
 * The buyer's API: the console's own /healthz inside the container stands in for it
 * (TOLLGATE_OUTBOUND_ALLOW=127.0.0.1:8081), so the call crosses the published gateway port,
 * the gateway, the key check and the proxy without anything outside the containers.
 *
 * Skipped with a message outside CI when podman, podman-compose or the base images are
 * missing; under CI=true that is a failure.
 */

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, signLicence } from '../../src/licences/index.js';
import { adminClient, provision } from '../helpers/admin.js';
import { terms } from '../licences/helpers.js';
import { freePort, IMAGE, missingPrerequisite, podman, preparedContainers, ROOT, run } from './podman.js';

const IN_CI = process.env.CI === 'true';
const composeAbsent =
  spawnSync('podman-compose', ['version'], { timeout: 30_000 }).status === 0
    ? null
    : 'podman-compose is not installed';
const missing = missingPrerequisite() ?? composeAbsent;
if (missing && !IN_CI) console.warn(`[tollgate tests] compose test skipped: ${missing} (allowed outside CI)`);

const BUILD_TIMEOUT_MS = 40 * 60_000;
const START_TIMEOUT_MS = 180_000;
const POSTGRES_IMAGE = 'localhost/tollgate-test-postgres:17';
const HOUR = 3_600_000;

/** Polls `probe` every 500 ms until it returns a value or time runs out. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe.skipIf(missing && !IN_CI)('compose.yaml, run by podman-compose', () => {
  const project = `tgcompose${randomBytes(3).toString('hex')}`;
  const adminToken = randomBytes(24).toString('hex');
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let gatewayUrl: string;
  let consoleUrl: string;
  let key: string;

  const compose = (args: string[], timeoutMs = START_TIMEOUT_MS) =>
    run('podman-compose', ['-p', project, '-f', join(dir, 'compose.yaml'), ...args], timeoutMs, {
      cwd: dir,
      env,
    });
  const logs = async () => {
    const r = await podman(['logs', '--tail', '40', `${project}_tollgate_1`]);
    return `${r.stdout}${r.stderr}`;
  };
  const healthy = () =>
    until(
      'the console on its published loopback port',
      async () => ((await fetch(`${consoleUrl}/healthz`)).ok ? true : undefined),
      START_TIMEOUT_MS,
    ).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await logs()}`);
    });

  beforeAll(async () => {
    await preparedContainers(BUILD_TIMEOUT_MS);
    const absent = missingPrerequisite() ?? composeAbsent;
    if (absent) throw new Error(`the compose test is required under CI: ${absent}`);
    for (const [what, script, tag] of [
      ['the image', 'scripts/container-image.sh', IMAGE],
      ['the PostgreSQL stand-in', 'test/wholesale/postgres/build.sh', POSTGRES_IMAGE],
    ] as const) {
      const built = await run('bash', [script, tag], BUILD_TIMEOUT_MS);
      if (built.code !== 0) throw new Error(`${what} did not build:\n${built.stdout}\n${built.stderr}`);
    }

    // The buyer's folder: compose.yaml as shipped, and the licence from the provider's portal.
    dir = mkdtempSync(join(tmpdir(), 'tollgate-compose-'));
    copyFileSync(join(ROOT, 'compose.yaml'), join(dir, 'compose.yaml'));
    const provider = await generateSigningKey();
    const licence = await signLicence(
      terms({ validFrom: Date.now() - HOUR, validUntil: Date.now() + 30 * 24 * HOUR }),
      provider,
      Date.now(),
    );
    mkdirSync(join(dir, 'licence'), { mode: 0o755 });
    writeFileSync(join(dir, 'licence', 'licence.jwt'), `${licence}\n`, { mode: 0o644 });
    writeFileSync(
      join(dir, 'licence', 'keys.json'),
      JSON.stringify({ keys: [provider.publicJwk], revoked: [] }),
      { mode: 0o644 },
    );
    // This host's runtime settings for every podman command podman-compose runs: runc with
    // lowered ulimits (crun fails on some hosts' cgroups and rlimits).
    const conf = join(dir, 'containers.conf');
    writeFileSync(
      conf,
      '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\n',
    );
    const [gatewayPort, consolePort] = [await freePort(), await freePort()];
    gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    consoleUrl = `http://127.0.0.1:${consolePort}`;
    env = {
      ...process.env,
      CONTAINERS_CONF: conf,
      POSTGRES_PASSWORD: randomBytes(16).toString('hex'),
      TOLLGATE_ADMIN_TOKEN: adminToken,
      TOLLGATE_SECRET: randomBytes(32).toString('hex'),
      TOLLGATE_LICENCE_PRODUCT: 'prd_nouns',
      TOLLGATE_IMAGE: IMAGE,
      POSTGRES_IMAGE,
      TOLLGATE_GATEWAY_PUBLISH: String(gatewayPort),
      TOLLGATE_CONSOLE_PUBLISH: String(consolePort),
      TOLLGATE_OUTBOUND_ALLOW: '127.0.0.1:8081',
    };
  }, BUILD_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    if (!dir) return;
    await compose(['down', '-v'], 120_000);
    for (const v of ['pgdata', 'tollgate-data']) await podman(['volume', 'rm', '-f', `${project}_${v}`]);
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it(
    'up -d starts the database and tollgate; both health checks pass',
    async () => {
      const up = await compose(['up', '-d', '--no-build']);
      expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
      await healthy();
      for (const service of ['postgres', 'tollgate']) {
        // The compose file's own health checks, run by podman as the engine runs them.
        const check = await until(
          `the ${service} health check`,
          async () =>
            (await podman(['healthcheck', 'run', `${project}_${service}_1`])).code === 0 ? true : undefined,
          60_000,
        );
        expect(check).toBe(true);
      }
    },
    START_TIMEOUT_MS * 2,
  );

  it(
    'a keyed call crosses the published gateway port; the console is published on loopback only',
    async () => {
      const p = await provision(adminClient(consoleUrl, adminToken), 'http://127.0.0.1:8081', {}, '/nouns');
      key = p.key;
      const res = await until(
        'the new key at the gateway',
        async () => {
          const r = await fetch(`${gatewayUrl}/nouns/healthz`, { headers: { 'x-api-key': key } });
          return r.status === 403 ? undefined : r;
        },
        30_000,
      );
      expect(res.status).toBe(200);
      const denied = await fetch(`${gatewayUrl}/nouns/healthz`, { headers: { 'x-api-key': 'tg_wrong' } });
      expect(denied.status).toBe(403);
      const ports = await podman(['port', `${project}_tollgate_1`]);
      expect(ports.stdout).toContain(`8081/tcp -> 127.0.0.1:${new URL(consoleUrl).port}`);
      expect(ports.stdout).toMatch(new RegExp(`8080/tcp -> (0\\.0\\.0\\.0)?:${new URL(gatewayUrl).port}`));
    },
    START_TIMEOUT_MS,
  );

  it(
    'down and up again: the key is still there (the database lives on its volume)',
    async () => {
      const down = await compose(['down'], 120_000);
      expect(down.code, down.stderr).toBe(0);
      const up = await compose(['up', '-d', '--no-build']);
      expect(up.code, `${up.stdout}\n${up.stderr}`).toBe(0);
      await healthy();
      const res = await until(
        'the gateway after the restart',
        async () => {
          const r = await fetch(`${gatewayUrl}/nouns/healthz`, { headers: { 'x-api-key': key } });
          return r.status === 200 ? r : undefined;
        },
        60_000,
      );
      expect(res.status).toBe(200);
    },
    START_TIMEOUT_MS * 2,
  );
});
