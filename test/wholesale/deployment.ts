/**
 * One wholesale deployment as a buyer starts it (docs/wholesale.md): the image on the
 * host's network, configuration in an env file (secrets never on the command line), the
 * licence directory mounted read-only at /etc/tollgate, state on a volume at /data or in an
 * external PostgreSQL. Ports are picked free on loopback, and both listeners bind loopback
 * only, so nothing in the test is reachable from off the machine.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, IMAGE, podman, RUN_FLAGS, waitFor } from './podman.js';

export interface DeploymentOptions {
  /** Where the env file is written. */
  dir: string;
  product: string;
  /** The upstream the gateway fronts: the one loopback origin it may reach. */
  upstream: string;
  /** Host directory with licence.jwt and keys.json. */
  licence: string;
  /** An external PostgreSQL URL; without it the image's default, SQLite on /data. */
  databaseUrl?: string;
  /** A named volume for /data (otherwise podman makes an anonymous one). */
  volume?: string;
  env?: Record<string, string>;
}

export interface Deployment {
  name: string;
  gatewayUrl: string;
  consoleUrl: string;
  adminToken: string;
}

/** The `podman run` arguments (after `run`, before the image) and where it will listen. */
export async function prepare(name: string, o: DeploymentOptions): Promise<Deployment & { args: string[] }> {
  const [gatewayPort, consolePort] = [await freePort(), await freePort()];
  const adminToken = randomBytes(24).toString('hex');
  const env: Record<string, string> = {
    ...(o.databaseUrl ? { TOLLGATE_DATABASE_URL: o.databaseUrl } : {}),
    TOLLGATE_GATEWAY_HOST: '127.0.0.1',
    TOLLGATE_GATEWAY_PORT: String(gatewayPort),
    TOLLGATE_CONSOLE_HOST: '127.0.0.1',
    TOLLGATE_CONSOLE_PORT: String(consolePort),
    TOLLGATE_LICENCE_FILE: '/etc/tollgate/licence.jwt',
    TOLLGATE_LICENCE_PUBLIC_KEYS: '/etc/tollgate/keys.json',
    TOLLGATE_LICENCE_PRODUCT: o.product,
    TOLLGATE_ADMIN_TOKEN: adminToken,
    TOLLGATE_SECRET: randomBytes(32).toString('hex'),
    TOLLGATE_OUTBOUND_ALLOW: new URL(o.upstream).host,
    ...o.env,
  };
  const envFile = join(o.dir, `${name}.env`);
  writeFileSync(
    envFile,
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n'),
    { mode: 0o600 },
  );
  const args = [
    '--name',
    name,
    ...RUN_FLAGS,
    '--env-file',
    envFile,
    '-v',
    `${o.licence}:/etc/tollgate:ro`,
    ...(o.volume ? ['-v', `${o.volume}:/data`] : []),
  ];
  return {
    name,
    args,
    gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
    consoleUrl: `http://127.0.0.1:${consolePort}`,
    adminToken,
  };
}

/** `podman run -d`, then waits for the console's /healthz. */
export async function deployment(
  name: string,
  o: DeploymentOptions,
  timeoutMs = 120_000,
): Promise<Deployment> {
  const { args, ...d } = await prepare(name, o);
  const r = await podman(['run', '-d', ...args, IMAGE]);
  if (r.code !== 0) throw new Error(`podman run ${name} failed:\n${r.stderr}`);
  await waitFor(
    `${name} healthy`,
    name,
    async () => ((await fetch(`${d.consoleUrl}/healthz`)).ok ? true : undefined),
    timeoutMs,
  );
  return d;
}
