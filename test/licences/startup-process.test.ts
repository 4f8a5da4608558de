/**
 * The wholesale start-up path as a separate process, configured by environment variables
 * exactly as the container image is: refuses to start on a bad licence (exit 1, message on
 * stderr), serves on a good one, and serves with a warning inside the expiry grace period.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { generateSigningKey, signLicence } from '../../src/licences/index.js';
import { DAY, terms } from './helpers.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'licensed-serve.ts');
const dir = mkdtempSync(join(tmpdir(), 'tollgate-wholesale-'));
const provider = await generateSigningKey();
const keysFile = join(dir, 'keys.json');
writeFileSync(keysFile, JSON.stringify({ keys: [provider.publicJwk], revoked: [] }));

let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGTERM');
  child = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function start(licenceText: string, product = 'prd_nouns') {
  const licenceFile = join(dir, `licence-${Math.random().toString(36).slice(2)}.jwt`);
  writeFileSync(licenceFile, `${licenceText}\n`);
  child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    env: {
      ...process.env,
      TOLLGATE_LICENCE_FILE: licenceFile,
      TOLLGATE_LICENCE_PUBLIC_KEYS: keysFile,
      TOLLGATE_LICENCE_PRODUCT: product,
      TOLLGATE_LICENCE_GRACE_MS: String(2 * DAY),
      TOLLGATE_GATEWAY_PORT: '0',
      TOLLGATE_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = child;
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d) => {
    stdout += d;
  });
  proc.stderr!.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number>((resolve) => proc.on('exit', (code) => resolve(code ?? -1)));
  const listening = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start within 15 s: ${stderr}`)), 15_000);
    proc.stdout!.on('data', () => {
      const m = /listening (\d+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then(() => clearTimeout(timer));
  });
  return { exited, listening, output: () => ({ stdout, stderr }) };
}

describe('wholesale start-up as a process (env config, like the image)', () => {
  it('a valid licence: starts and serves', async () => {
    const now = Date.now();
    const token = await signLicence(
      terms({ validFrom: now - DAY, validUntil: now + 30 * DAY }),
      provider,
      now,
    );
    const p = start(token);
    const port = await p.listening;
    const res = await fetch(`http://127.0.0.1:${port}/anything`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, rateLimit: 50 });
  });

  it('a licence for another product: refuses to start with a clear message', async () => {
    const now = Date.now();
    const token = await signLicence(
      terms({ validFrom: now - DAY, validUntil: now + 30 * DAY }),
      provider,
      now,
    );
    const p = start(token, 'prd_capture');
    expect(await p.exited).toBe(1);
    expect(p.output().stderr).toContain(
      'tollgate: Licence refused (WRONG_PRODUCT): The licence lic_01TEST is for product prd_nouns, but this deployment runs product prd_capture.',
    );
  });

  it('expired yesterday with two days of grace: serves, and logs the warning', async () => {
    const now = Date.now();
    const token = await signLicence(
      terms({ validFrom: now - 30 * DAY, validUntil: now - DAY }),
      provider,
      now,
    );
    const p = start(token);
    const port = await p.listening;
    const res = await fetch(`http://127.0.0.1:${port}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('warning')).toContain('grace period');
    expect(p.output().stdout).toContain('LICENCE EXPIRED');
  });
});
