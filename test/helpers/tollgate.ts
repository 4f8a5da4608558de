/** A whole Tollgate in the test process: SQLite in a temp folder, ephemeral loopback ports. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { startTollgate, type Tollgate } from '../../src/main/index.js';
import { silentLogger } from '../../src/shared/index.js';
import { LOOPBACK_ALLOWED, noDns } from './outbound.js';

export async function startTestTollgate(
  adminToken: string,
  settings: Record<string, unknown> = {},
): Promise<{ tg: Tollgate; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-test-'));
  const tg = await startTollgate(
    loadConfig(
      {
        databaseUrl: `sqlite:${join(dir, 't.db')}`,
        dataDir: dir,
        gatewayPort: 0,
        consolePort: 0,
        gatewayHost: '127.0.0.1',
        consoleHost: '127.0.0.1',
        adminToken,
        outboundAllow: LOOPBACK_ALLOWED,
        ...settings,
      },
      {},
    ),
    { log: silentLogger, resolve: noDns },
  );
  return {
    tg,
    close: async () => {
      await tg.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
