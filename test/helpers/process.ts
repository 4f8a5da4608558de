/** Runs `tollgate serve` as a real child process (through tsx, no build needed) and finds its ports. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));
/**
 * A cold start compiles the sources through tsx and migrates a store: seconds when the
 * machine is idle, far more when two suites share two cores. Generous, because a hang is
 * still caught and a slow machine is not a failure.
 */
export const START_TIMEOUT_MS = 120_000;

export interface ServeProcess {
  child: ChildProcess;
  gatewayUrl: string | null;
  consoleUrl: string | null;
  output: () => string;
  /** SIGTERM, and wait for a clean exit. */
  stop(): Promise<number | null>;
  /** SIGKILL: the crash. */
  kill(): Promise<void>;
}

export async function startServe(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', ...args], {
    // The test's own upstreams and receivers listen on loopback: allowed explicitly.
    env: { ...process.env, TOLLGATE_LOG_LEVEL: 'info', TOLLGATE_OUTBOUND_ALLOW: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const started = await new Promise<{ gateway: string | null; console: string | null }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // never leave a half-started server behind
      reject(
        new Error(
          `tollgate did not start in ${START_TIMEOUT_MS / 1000} s (is --log-level above info?):\n${out}`,
        ),
      );
    }, START_TIMEOUT_MS);
    const onData = () => {
      for (const line of out.split('\n')) {
        if (!line.includes('"tollgate started"')) continue;
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        const j = JSON.parse(line) as { gateway: string | null; console: string | null };
        resolve({ gateway: j.gateway, console: j.console });
        return;
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tollgate exited with ${code} before starting:\n${out}`));
    });
  });
  return {
    child,
    gatewayUrl: started.gateway,
    consoleUrl: started.console,
    output: () => out,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
    async kill() {
      if (child.exitCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
}

/** Runs `tollgate serve ARGS` expected to fail: resolves with its exit code and output once it exits. */
export async function serveUntilExit(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string; exitedAt: number; failedAt: number | null }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', ...args], {
    env: { ...process.env, TOLLGATE_LOG_LEVEL: 'info', TOLLGATE_OUTBOUND_ALLOW: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let failedAt: number | null = null;
  const collect = (d: Buffer) => {
    out += d.toString();
    if (failedAt === null && out.includes('start failed')) failedAt = Date.now();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const timer = setTimeout(() => child.kill('SIGKILL'), START_TIMEOUT_MS);
  // 'close': the exit, and every byte of its output read.
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, output: out, exitedAt: Date.now(), failedAt };
}
