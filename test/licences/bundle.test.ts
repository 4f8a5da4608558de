/**
 * The deployment bundle, checked without running it: compose.yaml parsed and checked
 * (services, env, ports, health), then validated by a compose client — `docker compose
 * config`, `docker-compose config`, or a dry run of Debian's podman-compose (which has no
 * `config`); under CI=true one of them must be installed. The Dockerfile is linted for the
 * basics here; test/wholesale/container.test.ts builds and runs it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { IN_CI } from '../helpers/stores.js';

const ROOT = join(import.meta.dirname, '..', '..');
const compose = parse(readFileSync(join(ROOT, 'compose.yaml'), 'utf8')) as {
  services: Record<string, Record<string, unknown>>;
  volumes: Record<string, unknown>;
};
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
/** Dockerfile instructions with line continuations joined and comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => {
    const [op, ...rest] = l.split(/\s+/);
    return { op: op!.toUpperCase(), args: rest.join(' ') };
  });

describe('compose.yaml', () => {
  const tollgate = compose.services.tollgate!;
  const postgres = compose.services.postgres!;
  const env = tollgate.environment as Record<string, string>;

  it('runs tollgate and postgres 15, tollgate waiting for a healthy database', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['postgres', 'tollgate']);
    expect(postgres.image).toMatch(/^\$\{POSTGRES_IMAGE:-postgres:15(\b|-)/);
    expect(tollgate.build).toBe('.');
    expect(tollgate.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
  });

  it('configures tollgate by environment: database, ports, licence files, secrets from the shell', () => {
    expect(env.TOLLGATE_DATABASE_URL).toMatch(
      /^postgres:\/\/tollgate:\$\{POSTGRES_PASSWORD[^}]*\}@postgres:5432\/tollgate$/,
    );
    expect(env.TOLLGATE_GATEWAY_PORT).toBe('8080');
    expect(env.TOLLGATE_CONSOLE_PORT).toBe('8081');
    expect(env.TOLLGATE_LICENCE_FILE).toBe('/etc/tollgate/licence.jwt');
    expect(env.TOLLGATE_LICENCE_PUBLIC_KEYS).toBe('/etc/tollgate/keys.json');
    for (const secret of ['TOLLGATE_ADMIN_TOKEN', 'TOLLGATE_SECRET']) {
      expect(env[secret], secret).toMatch(/^\$\{[A-Z_]+:\?/);
    }
    expect((postgres.environment as Record<string, string>).POSTGRES_PASSWORD).toMatch(
      /^\$\{POSTGRES_PASSWORD:\?/,
    );
    expect(tollgate.volumes).toContain('./licence:/etc/tollgate:ro');
  });

  it('publishes the gateway; the console only on loopback', () => {
    // Compose's own `${VAR:-default}`, escaped in template strings.
    expect(tollgate.ports).toEqual([
      `\${TOLLGATE_GATEWAY_PUBLISH:-8080}:8080`,
      `127.0.0.1:\${TOLLGATE_CONSOLE_PUBLISH:-8081}:8081`,
    ]);
    expect(postgres.ports).toBeUndefined();
  });

  it('has health checks on both services and persistent volumes', () => {
    expect((postgres.healthcheck as { test: string[] }).test.join(' ')).toContain('pg_isready');
    expect((tollgate.healthcheck as { test: string[] }).test.join(' ')).toContain('/healthz');
    expect(Object.keys(compose.volumes).sort()).toEqual(['pgdata', 'tollgate-data']);
  });

  it('validates with a compose client, offline, and names a missing variable', (ctx) => {
    const env = {
      ...process.env,
      POSTGRES_PASSWORD: 'pw',
      TOLLGATE_LICENCE_PRODUCT: 'prd_nouns',
      TOLLGATE_ADMIN_TOKEN: 'a'.repeat(24),
      TOLLGATE_SECRET: 's'.repeat(40),
    };
    const clients: Array<{ cmd: string; prefix: string[]; check: string[] }> = [
      { cmd: 'docker', prefix: ['compose'], check: ['-f', 'compose.yaml', 'config', '-q'] },
      { cmd: 'docker-compose', prefix: [], check: ['-f', 'compose.yaml', 'config', '-q'] },
      // podman-compose 1.0 has no `config`: a dry run parses, interpolates and prints the podman
      // commands; `true` standing in for podman keeps it from creating volumes and networks.
      {
        cmd: 'podman-compose',
        prefix: [],
        check: ['--dry-run', '--podman-path', 'true', '-f', 'compose.yaml', 'up', '--no-build', '-d'],
      },
    ];
    for (const { cmd, prefix, check } of clients) {
      const probe = spawnSync(cmd, [...prefix, 'version'], { encoding: 'utf8', timeout: 30_000 });
      if (probe.error || probe.status !== 0) continue;
      const opts = { cwd: ROOT, encoding: 'utf8', timeout: 30_000 } as const;
      const r = spawnSync(cmd, [...prefix, ...check], { ...opts, env });
      expect(r.status, r.stderr).toBe(0);
      if (cmd === 'podman-compose') {
        const tollgate = r.stdout.split('\n').find((l) => l.includes('com.docker.compose.service=tollgate'));
        expect(tollgate).toContain(`-v ${ROOT}/licence:/etc/tollgate:ro`);
        expect(tollgate).toContain('-p 8080:8080 -p 127.0.0.1:8081:8081');
        expect(tollgate).toContain(`-e TOLLGATE_SECRET=${env.TOLLGATE_SECRET}`);
        expect(tollgate).toContain("--healthcheck-command /bin/sh -c 'node -e");
      }
      // Unset (podman-compose 1.0 lets an empty value through `:?`; the compose spec does not).
      const { TOLLGATE_SECRET: _, ...withoutSecret } = env;
      const missing = spawnSync(cmd, [...prefix, ...check], { ...opts, env: withoutSecret });
      expect(missing.status).not.toBe(0);
      expect(missing.stderr).toContain('TOLLGATE_SECRET');
      return;
    }
    if (IN_CI) throw new Error('no compose client (docker compose, docker-compose, podman-compose) under CI');
    ctx.skip('no docker compose / docker-compose / podman-compose client installed');
  });
});

describe('Dockerfile lint', () => {
  const froms = instructions.filter((i) => i.op === 'FROM');

  it('every FROM is a base-image argument whose default is node 20 bookworm-slim, pinned', () => {
    const args = new Map(
      instructions
        .filter((i) => i.op === 'ARG' && i.args.includes('='))
        .map((i) => i.args.split('=') as [string, string]),
    );
    expect(froms.map((f) => f.args)).toEqual([`\${BUILD_BASE} AS build`, `\${RUNTIME_BASE}`]);
    for (const name of ['BUILD_BASE', 'RUNTIME_BASE'])
      expect(args.get(name), name).toMatch(/^node:20\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
    // Declared before the first FROM, so that FROM can use them.
    expect(instructions.findIndex((i) => i.op === 'ARG')).toBeLessThan(instructions.indexOf(froms[0]!));
  });

  it('builds with npm ci and npm run build, and copies only what exists', () => {
    const runs = instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => r.includes('npm ci'))).toBe(true);
    expect(runs.some((r) => r.includes('npm run build'))).toBe(true);
    for (const c of instructions.filter((i) => i.op === 'COPY' && !i.args.includes('--from'))) {
      const sources = c.args
        .split(/\s+/)
        .filter((a) => !a.startsWith('--'))
        .slice(0, -1);
      for (const s of sources) expect(existsSync(join(ROOT, s)), s).toBe(true);
    }
    expect(instructions.some((i) => i.op === 'ADD' && /https?:/.test(i.args))).toBe(false);
    for (const r of runs.filter((r) => r.includes('apt-get install'))) {
      expect(r).toContain('--no-install-recommends');
      expect(r).toContain('rm -rf /var/lib/apt/lists/*');
    }
  });

  it('runs as a non-root USER in the final stage, with a HEALTHCHECK and the serve command', () => {
    const lastFrom = instructions.lastIndexOf(froms.at(-1)!);
    const final = instructions.slice(lastFrom);
    const user = final.filter((i) => i.op === 'USER').at(-1);
    expect(user?.args).toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user!.args);
    expect(final.findIndex((i) => i.op === 'USER')).toBeLessThan(final.findIndex((i) => i.op === 'CMD'));
    expect(final.some((i) => i.op === 'HEALTHCHECK' && i.args.includes('/healthz'))).toBe(true);
    expect(JSON.parse(final.find((i) => i.op === 'CMD')!.args)).toEqual(['node', 'bin/tollgate.js', 'serve']);
    expect(final.find((i) => i.op === 'EXPOSE')?.args).toBe('8080 8081');
    const env = final
      .filter((i) => i.op === 'ENV')
      .map((i) => i.args)
      .join(' ');
    for (const v of ['TOLLGATE_DATABASE_URL', 'TOLLGATE_GATEWAY_PORT=8080', 'TOLLGATE_CONSOLE_PORT=8081']) {
      expect(env).toContain(v);
    }
  });

  it('.dockerignore keeps node_modules, data, git history and licences out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['node_modules', 'data', '.git', 'dist', '.env', '*.jwt']) expect(ignored).toContain(p);
  });
});
