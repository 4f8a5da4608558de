/**
 * The installation secret that seals what must be stored but not readable (licence signing
 * keys, marketplace SigV4 secrets). Configured with TOLLGATE_SECRET; otherwise one is made
 * on first start and kept in `<dataDir>/secret` (mode 0600). A fleet must share one: set it
 * explicitly there.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function installationSecret(configured: string | undefined, dataDir: string): string {
  if (configured) return configured;
  const file = join(dataDir, 'secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}
