/**
 * Podman for the container tests: the image built by scripts/container-image.sh from the local
 * base images (scripts/container-base.sh), containers run on the host's network as a buyer
 * runs them on a VM, and small waits that poll instead of sleeping.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const IMAGE = 'localhost/tollgate:local';
export const BASE_IMAGES = [
  'localhost/tollgate-base:node20-trixie',
  'localhost/tollgate-base:node20-trixie-build',
];
/** runc with lowered ulimits: crun fails on some hosts' cgroups and rlimits. */
const GLOBAL = ['--runtime', 'runc'];
export const RUN_FLAGS = ['--network', 'host', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `podman ARGS` to the end; never throws on a non-zero exit (the caller decides). */
export function podman(args: string[], timeoutMs = 120_000): Promise<Result> {
  return run('podman', [...GLOBAL, ...args], timeoutMs);
}

export function run(
  cmd: string,
  args: string[],
  timeoutMs: number,
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Why the container tests cannot run here, or null when podman and the base images are present. */
export function missingPrerequisite(): string | null {
  const probe = spawnSync('podman', ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (probe.error || probe.status !== 0) return 'podman is not installed';
  for (const image of BASE_IMAGES) {
    const r = spawnSync('podman', ['image', 'exists', image], { timeout: 30_000 });
    if (r.status !== 0) return `the base image ${image} is missing (scripts/container-base.sh makes it)`;
  }
  return null;
}

/**
 * Waits for the container preparation that .ci/run starts in the background (base images,
 * then the image) when TOLLGATE_CONTAINER_PREP names its status file; throws with the end of
 * its log when it failed. Without the variable there is nothing to wait for.
 */
export async function preparedContainers(timeoutMs: number): Promise<void> {
  const prep = process.env.TOLLGATE_CONTAINER_PREP;
  if (!prep) return;
  const until = Date.now() + timeoutMs;
  while (!existsSync(`${prep}.status`)) {
    if (Date.now() > until)
      throw new Error(`the container preparation did not finish in ${timeoutMs / 60_000} min`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const status = readFileSync(`${prep}.status`, 'utf8').trim();
  const log = existsSync(`${prep}.log`) ? readFileSync(`${prep}.log`, 'utf8') : '';
  console.log(
    `[container] preparation beside the tests:\n${log
      .split('\n')
      .filter((l) => /^(real|container-)/.test(l))
      .join('\n')}`,
  );
  if (status !== '0')
    throw new Error(`the container preparation failed (exit ${status}):\n${log.slice(-4000)}`);
}

/** A TCP port free on loopback right now (the containers share the host's network). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export async function state(name: string): Promise<{ status: string; exitCode: number }> {
  const r = await podman(['inspect', name, '--format', '{{.State.Status}} {{.State.ExitCode}}']);
  const [status = 'missing', code = '-1'] = r.stdout.trim().split(' ');
  return { status, exitCode: Number(code) };
}

/** Polls `probe` every 200 ms until it returns a value, the container stops, or time runs out. */
export async function waitFor<T>(
  what: string,
  container: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    const s = await state(container);
    if (s.status !== 'running' || Date.now() > until) {
      const logs = await podman(['logs', container]);
      throw new Error(
        `${what}: not after ${timeoutMs / 1000} s (container ${s.status}, exit ${s.exitCode})\n${logs.stdout}${logs.stderr}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
