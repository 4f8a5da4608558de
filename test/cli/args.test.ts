/**
 * The `tollgate` command's answers to a wrong command line: a sentence naming what is wrong
 * on stderr and exit code 2 (usage), before anything is contacted or started. In-process
 * through `main` for the commands that return, and once through the real binary for `serve`,
 * which exits the process.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/index.js';

/** Runs `tollgate ARGS` in this process; what it printed and the exit code it set. */
async function tollgate(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = vi
    .spyOn(console, 'error')
    .mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  process.exitCode = undefined;
  try {
    await main(args);
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('tollgate command-line errors', () => {
  const saved = { url: process.env.TOLLGATE_URL, token: process.env.TOLLGATE_TOKEN };
  afterEach(() => {
    for (const [k, v] of [
      ['TOLLGATE_URL', saved.url],
      ['TOLLGATE_TOKEN', saved.token],
    ] as const)
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  });

  it('help prints the commands and exits 0', async () => {
    const r = await tollgate('help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('tollgate serve');
    expect(r.out).toContain('Exit codes: 0 ok, 1 failure, 2 usage');
  });

  it('an unknown command is named, with the help, exit 2', async () => {
    const r = await tollgate('frobnicate');
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown command "frobnicate"');
    expect(r.err).toContain('tollgate serve');
  });

  it('an unknown flag is named, exit 2', async () => {
    const r = await tollgate('migrate', '--databse-url', 'sqlite::memory:');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^tollgate: .*'--databse-url'/);
  });

  it('a bad setting names the flag and what it accepts, exit 2', async () => {
    const r = await tollgate('migrate', '--database-url', 'mysql://db/x');
    expect(r.code).toBe(2);
    expect(r.err).toContain('databaseUrl (--database-url): must start with sqlite: or postgres://');
  });

  it('a client command without a token says how to give one, exit 2', async () => {
    delete process.env.TOLLGATE_TOKEN;
    const r = await tollgate('keys', 'list');
    expect(r.code).toBe(2);
    expect(r.err).toBe('tollgate: an admin token is needed: --token TOKEN or TOLLGATE_TOKEN');
  });

  it('a client command with a URL that is not one names --url, exit 2', async () => {
    const r = await tollgate('keys', 'list', '--token', 't'.repeat(24), '--url', 'not a url');
    expect(r.code).toBe(2);
    expect(r.err).toBe('tollgate: --url: "not a url" is not a URL');
  });

  it('a sub-command it does not know prints its usage, exit 2', async () => {
    process.env.TOLLGATE_TOKEN = 't'.repeat(24);
    const r = await tollgate('keys', 'shred');
    expect(r.code).toBe(2);
    expect(r.err).toContain('usage: tollgate keys list|create|roll|disable|enable');
  });

  it('the sample APIs refuse a deadline under a second and an unknown API, exit 2', async () => {
    const deadline = await tollgate('apis', 'capture', '--deadline', '10');
    expect(deadline.code).toBe(2);
    expect(deadline.err).toContain('--deadline must be a whole number of milliseconds, at least 1000');
    const unknown = await tollgate('apis', 'weather');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('usage: tollgate apis capture|nouns');
  });

  it('billing run refuses a --until that is not a date, exit 2', async () => {
    const r = await tollgate(
      'billing',
      'run',
      '--until',
      'next tuesday',
      '--database-url',
      'sqlite::memory:',
    );
    expect(r.code).toBe(2);
    expect(r.err).toContain('--until: not an ISO 8601 date-time');
  });

  it('serve with a bad setting exits 2 before starting anything (the real binary)', async () => {
    const cli = fileURLToPath(new URL('../../src/cli/index.ts', import.meta.url));
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', cli, 'serve', '--gateway-port', '99999', '--metering', 'sometimes'],
        { timeout: 120_000 },
        (e, _stdout, stderr) => resolve({ code: e ? Number((e as { code?: number }).code) : 0, stderr }),
      );
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('tollgate: invalid configuration:');
    expect(r.stderr).toContain('gatewayPort (--gateway-port)');
    expect(r.stderr).toContain('metering (--metering)');
  }, 120_000);
});
