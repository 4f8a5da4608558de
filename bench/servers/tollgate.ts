/**
 * A whole Tollgate (gateway + console in one process, as `tollgate serve`) on an existing
 * SQLite file, for the snapshot benchmark. Usage: tollgate.ts <sqlite file> <admin token>.
 * Prints `<gateway port> <console port>` once serving.
 */
import { dirname } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { startTollgate } from '../../src/main/index.js';
import { silentLogger } from '../../src/shared/index.js';

const [file, token] = process.argv.slice(2);
const tg = await startTollgate(
  loadConfig(
    {
      databaseUrl: `sqlite:${file}`,
      dataDir: dirname(file!),
      gatewayPort: 0,
      consolePort: 0,
      gatewayHost: '127.0.0.1',
      consoleHost: '127.0.0.1',
      adminToken: token,
      outboundAllow: ['127.0.0.1'],
      billingScheduler: false,
    },
    {},
  ),
  { log: silentLogger },
);
const port = (url: string | null) => new URL(url!).port;
console.log(`${port(tg.gatewayUrl)} ${port(tg.consoleUrl)}`);
process.on('SIGTERM', async () => {
  await tg.close();
  process.exit(0);
});
