/**
 * The wholesale bundle, built and run for real: the Dockerfile builds (podman, from the local
 * base images), and the image runs as a buyer runs it on a VM next to a managed database —
 * the machine's PostgreSQL, reached over TCP from a container on the host's network, with
 * the licence and public keys mounted read-only and the configuration in an env file. The
 * commands are the ones docs/wholesale.md gives a buyer.
 *
 * Skipped with a message outside CI when podman or the base images are missing; under
 * CI=true that is a failure (.ci/run installs podman and makes the base images).
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type SigningKeyPair, signLicence } from '../../src/licences/index.js';
import { adminClient, provision } from '../helpers/admin.js';
import { PG_URL } from '../helpers/stores.js';
import { echo, startUpstream, type Upstream } from '../helpers/upstream.js';
import { terms } from '../licences/helpers.js';
import { type Deployment, type DeploymentOptions, deployment, prepare } from './deployment.js';
import {
  IMAGE,
  missingPrerequisite,
  podman,
  preparedContainers,
  RUN_FLAGS,
  run,
  state,
  waitFor,
} from './podman.js';

const IN_CI = process.env.CI === 'true';
const missing = missingPrerequisite();
if (missing && !IN_CI)
  console.warn(`[tollgate tests] container tests skipped: ${missing} (allowed outside CI)`);

const HOUR = 3_600_000;
const BUILD_TIMEOUT_MS = 40 * 60_000;
const START_TIMEOUT_MS = 120_000;
const PRODUCT = 'prd_nouns';

describe.skipIf(missing && !IN_CI)('the wholesale image, run as a buyer runs it', () => {
  const tag = Math.random().toString(36).slice(2, 8);
  const dbName = `tollgate_ct_${tag}`;
  const dbUrl = `${PG_URL.replace(/\/[^/]*$/, '')}/${dbName}`;
  const volume = `tollgate-ct-${tag}`;
  const containers: string[] = [];
  let dir: string;
  let up: Upstream;
  let provider: SigningKeyPair;
  let main: Deployment;
  let apiKey: string;
  /** podman run → healthy, for the first deployment. */
  let mainStartMs = 0;

  /** A licence directory as the buyer gets it from the portal: licence.jwt + keys.json. */
  function licenceDir(name: string, licence: string): string {
    const d = join(dir, name);
    mkdirSync(d);
    writeFileSync(join(d, 'licence.jwt'), `${licence}\n`);
    writeFileSync(join(d, 'keys.json'), JSON.stringify({ keys: [provider.publicJwk], revoked: [] }));
    // Readable by the image's user (uid 1000): the directory is mounted read-only as is.
    for (const p of [d, join(d, 'licence.jwt'), join(d, 'keys.json')]) chmodSync(p, 0o755);
    return d;
  }

  const validLicence = () =>
    signLicence(
      terms({ validFrom: Date.now() - HOUR, validUntil: Date.now() + 30 * 24 * HOUR }),
      provider,
      Date.now(),
    );
  /** This test's deployment: its licence, its database or volume, anything else in env. */
  const options = (
    o: Pick<DeploymentOptions, 'licence' | 'databaseUrl' | 'volume' | 'env'>,
  ): DeploymentOptions => ({
    dir,
    product: PRODUCT,
    upstream: up.url,
    ...o,
  });

  const start = async (name: string, o: Parameters<typeof options>[0]) => {
    containers.push(`${name}-${tag}`);
    return deployment(`${name}-${tag}`, options(o));
  };

  beforeAll(async () => {
    await preparedContainers(BUILD_TIMEOUT_MS);
    const absent = missingPrerequisite();
    if (absent) throw new Error(`container tests are required under CI: ${absent}`);
    const built = await run('bash', ['scripts/container-image.sh', IMAGE], BUILD_TIMEOUT_MS);
    if (built.code !== 0) throw new Error(`the image did not build:\n${built.stdout}\n${built.stderr}`);
    dir = mkdtempSync(join(tmpdir(), 'tollgate-container-'));
    chmodSync(dir, 0o755);
    // The upstream the buyer's gateway fronts; /slow answers after a second (the drain test).
    up = await startUpstream((req, res, body) => {
      if (req.url?.endsWith('/slow')) setTimeout(() => echo(req, res, body), 1000);
      else echo(req, res, body);
    });
    provider = await generateSigningKey();
    // The "managed" database: created empty, as an RDS instance comes.
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
  }, BUILD_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    if (missingPrerequisite()) return;
    for (const name of containers) await podman(['rm', '-f', '-v', '-t', '0', name]);
    await podman(['volume', 'rm', '-f', volume]);
    await up?.close();
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it(
    'is a small image that runs as a non-root user, with a HEALTHCHECK and no licence or secret',
    async () => {
      const inspect = await podman(['image', 'inspect', IMAGE]);
      const [image] = JSON.parse(inspect.stdout) as Array<{
        Size: number;
        Config: { User: string; Env: string[]; Cmd: string[] };
        Healthcheck?: { Test: string[] };
      }>;
      expect(image!.Config.User).toBe('node');
      expect(image!.Config.Cmd).toEqual(['node', 'bin/tollgate.js', 'serve']);
      expect(image!.Healthcheck?.Test.join(' ')).toContain('/healthz');
      expect(image!.Config.Env.join('\n')).not.toMatch(/SECRET|TOKEN|PASSWORD|LICENCE/);
      // The build context never carries a licence, an env file or a database.
      const files = await podman([
        'run',
        '--rm',
        ...RUN_FLAGS,
        '--entrypoint',
        'sh',
        IMAGE,
        '-c',
        'id -u; find / -xdev \\( -name "*.jwt" -o -name "keys.json" -o -name ".env*" -o -name "*.db" \\) -print 2>/dev/null; true',
      ]);
      expect(files.stdout.trim()).toBe('1000');
      const mb = image!.Size / 1e6;
      console.log(`[container] image ${IMAGE}: ${mb.toFixed(0)} MB`);
      expect(mb).toBeLessThan(400);
    },
    START_TIMEOUT_MS,
  );

  it(
    'serves a keyed call through to the upstream, against the managed database, healthy by /healthz and HEALTHCHECK',
    async () => {
      const t0 = Date.now();
      main = await start('tollgate-ct-main', {
        licence: licenceDir('main', await validLicence()),
        databaseUrl: dbUrl,
      });
      mainStartMs = Date.now() - t0;
      console.log(`[container] podman run → healthy /healthz: ${mainStartMs} ms`);
      // The image's HEALTHCHECK command, run in the container as the engine runs it (by
      // `podman exec`: `podman healthcheck run` adds the 5 s timeout, which a Node start can
      // exceed on a machine as loaded as a shared CI host).
      const [image] = JSON.parse((await podman(['image', 'inspect', IMAGE])).stdout) as Array<{
        Healthcheck: { Test: string[] };
      }>;
      const [form, ...command] = image!.Healthcheck.Test;
      expect(form).toBe('CMD');
      const health = await podman(['exec', main.name, ...command]);
      expect(health.code, health.stderr).toBe(0);

      // The buyer configures the API on their own console, then calls through their gateway.
      const p = await provision(adminClient(main.consoleUrl, main.adminToken), up.url, {}, '/nouns');
      apiKey = p.key;
      // The gateway picks the new key up from its store a moment after the console wrote it.
      const res = await waitFor(
        'the new key at the gateway',
        main.name,
        async () => {
          const r = await fetch(`${main.gatewayUrl}/nouns/hello?n=1`, { headers: { 'x-api-key': apiKey } });
          return r.status === 403 ? undefined : r;
        },
        30_000,
      );
      expect(res.status).toBe(200);
      expect(((await res.json()) as { url: string }).url).toBe('/hello?n=1');
      const denied = await fetch(`${main.gatewayUrl}/nouns/hello`, { headers: { 'x-api-key': 'tg_wrong' } });
      expect(denied.status).toBe(403);

      // Logs: JSON lines on stdout, naming the verified licence.
      const logs = await podman(['logs', main.name]);
      const lines = logs.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { msg: string; level: number });
      expect(lines.map((l) => l.msg)).toEqual(
        expect.arrayContaining(['licence verified', 'tollgate started']),
      );
    },
    START_TIMEOUT_MS * 2,
  );

  it(
    'an expired licence serves through its grace period with a warning, then answers 503',
    async () => {
      // Expired an hour ago; the grace period ends soon after signing: three times as long as
      // the first container took to start, so that this one is up before it ends. A second
      // deployment on the same database, so the key from the last test is known here too.
      const window = Math.max(30_000, 3 * mainStartMs);
      const signed = Date.now();
      const expiredAt = Math.floor((signed - HOUR) / 1000) * 1000; // JWT times are whole seconds
      const graceEnds = expiredAt + HOUR + window;
      const expired = await signLicence(
        terms({ validFrom: expiredAt - 48 * HOUR, validUntil: expiredAt }),
        provider,
        signed,
      );
      const late = await start('tollgate-ct-grace', {
        licence: licenceDir('grace', expired),
        databaseUrl: dbUrl,
        env: { TOLLGATE_LICENCE_GRACE_MS: String(HOUR + window), TOLLGATE_LICENCE_CHECK_INTERVAL_MS: '1000' },
      });
      const during = await fetch(`${late.gatewayUrl}/nouns/x`, { headers: { 'x-api-key': apiKey } });
      expect(Date.now(), 'the container took the whole grace period to start').toBeLessThan(graceEnds);
      expect(during.status).toBe(200);
      const warned = (await podman(['logs', late.name])).stdout;
      expect(warned).toMatch(
        /"level":40,.*"msg":"LICENCE EXPIRED: licence lic_01TEST for Globex Corp expired on/,
      );

      const status = await waitFor(
        'a 503 once the grace period is over',
        late.name,
        async () => {
          const r = await fetch(`${late.gatewayUrl}/nouns/x`, { headers: { 'x-api-key': apiKey } });
          return r.status === 503
            ? { at: Date.now(), body: (await r.json()) as { message: string } }
            : undefined;
        },
        graceEnds - Date.now() + 30_000,
      );
      expect(status.at).toBeGreaterThanOrEqual(graceEnds);
      expect(status.body.message).toMatch(
        /expired on .* and its grace period ended on .*: this deployment has stopped serving/,
      );
    },
    START_TIMEOUT_MS * 4,
  );

  it(
    'a tampered licence stops the container with the licence message',
    async () => {
      const [h, claims, sig] = (await validLicence()).split('.');
      const more = { ...JSON.parse(Buffer.from(claims!, 'base64url').toString()), deployments: 1000 };
      const tampered = [h, Buffer.from(JSON.stringify(more)).toString('base64url'), sig].join('.');
      const name = `tollgate-ct-tampered-${tag}`;
      containers.push(name);
      const { args } = await prepare(
        name,
        options({ licence: licenceDir('tampered', tampered), databaseUrl: dbUrl }),
      );
      const r = await podman(['run', ...args, IMAGE], START_TIMEOUT_MS);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('tollgate: cannot start: Licence refused (TAMPERED):');
      expect(await state(name)).toEqual({ status: 'exited', exitCode: 1 });
    },
    START_TIMEOUT_MS,
  );

  it(
    'SIGTERM drains (an in-flight call completes, exit 0, the log says so); a new container keeps the data',
    async () => {
      const inFlight = fetch(`${main.gatewayUrl}/nouns/slow`, { headers: { 'x-api-key': apiKey } });
      await waitFor(
        'the slow call at the upstream',
        main.name,
        async () => (up.requests.some((r) => r.url === '/slow') ? true : undefined),
        30_000,
      );
      const stopped = await podman(['stop', '-t', '30', main.name]);
      expect(stopped.code, stopped.stderr).toBe(0);
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(await state(main.name)).toEqual({ status: 'exited', exitCode: 0 });
      const logs = await podman(['logs', main.name]);
      const last = JSON.parse(logs.stdout.trim().split('\n').at(-1)!) as { msg: string };
      expect(last.msg).toBe('tollgate stopped: requests drained, usage flushed');

      // The VM is replaced: a new container on the same database serves the same key.
      await podman(['rm', '-v', main.name]);
      const again = await start('tollgate-ct-again', { licence: join(dir, 'main'), databaseUrl: dbUrl });
      const after = await fetch(`${again.gatewayUrl}/nouns/again`, { headers: { 'x-api-key': apiKey } });
      expect(after.status).toBe(200);
    },
    START_TIMEOUT_MS * 2,
  );

  it(
    'with SQLite instead, the data lives on the volume and survives a new container',
    async () => {
      const licence = licenceDir('sqlite', await validLicence());
      const first = await start('tollgate-ct-sqlite', { licence, volume });
      const p = await provision(adminClient(first.consoleUrl, first.adminToken), up.url, {}, '/nouns');
      expect((await podman(['stop', '-t', '30', first.name])).code).toBe(0);
      await podman(['rm', '-v', first.name]);
      const second = await start('tollgate-ct-sqlite2', { licence, volume });
      const res = await fetch(`${second.gatewayUrl}/nouns/kept`, { headers: { 'x-api-key': p.key } });
      expect(res.status).toBe(200);
    },
    START_TIMEOUT_MS * 2,
  );
});
