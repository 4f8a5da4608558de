/**
 * `tollgate billing run [--until T] [--dry-run]`: one billing cycle by hand — what the
 * console's scheduler does every minute: bill every period that ended (before `--until`,
 * and at least the settle delay ago), then finalize the drafts whose review window has
 * passed. It takes the same database lease as the scheduler, so it never runs beside a
 * console's cycle. `--dry-run` writes nothing and lists the invoices a run would create.
 * A progress line on stderr; a summary on stdout.
 */
import { parseArgs } from 'node:util';
import { deploymentSourceFromLicences } from '../billing/http/index.js';
import { createBilling, type RunResult } from '../billing/index.js';
import { createBillingScheduler } from '../billing/scheduler.js';
import { configSchema, kebab, loadConfig } from '../config/index.js';
import { createLicences } from '../licences/index.js';
import { invoiceMailer, mailDir, mailOutbox } from '../main/mail.js';
import { installationSecret } from '../main/secret.js';
import { createLogger, OutboundPolicy, systemClock } from '../shared/index.js';
import { openStore } from '../store/index.js';
import { createWebhooks } from '../webhooks/index.js';

export const BILLING_HELP =
  '  tollgate billing run [--until 2026-05-01T00:00:00Z] [--dry-run] [--database-url URL]';

export async function billingCommand(args: string[]): Promise<void> {
  const options: Record<string, { type: 'string' | 'boolean' }> = {
    until: { type: 'string' },
    'dry-run': { type: 'boolean' },
  };
  for (const key of Object.keys(configSchema.shape)) options[kebab(key)] ??= { type: 'string' };
  const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
  if (positionals[0] !== 'run') {
    console.error(`usage:\n${BILLING_HELP}`);
    process.exitCode = 2;
    return;
  }
  const until = values.until === undefined ? undefined : Date.parse(String(values.until));
  if (until !== undefined && Number.isNaN(until))
    throw Object.assign(new Error('--until: not an ISO 8601 date-time such as 2026-05-01T00:00:00Z'), {
      code: 'ERR_PARSE_ARGS_INVALID',
    });
  const flags: Record<string, unknown> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const v = values[kebab(key)];
    if (v !== undefined) flags[key] = v;
  }
  const config = loadConfig(flags);
  const log = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
  const clock = systemClock;
  const store = await openStore(config.databaseUrl);
  const secret = installationSecret(config.secret, config.dataDir);
  const webhooks = createWebhooks({
    store,
    clock,
    log,
    outbound: new OutboundPolicy({ allow: config.outboundAllow }),
    secretKey: secret,
  });
  await webhooks.sealStoredSecrets();
  const billing = createBilling({ store, clock, log, webhooks });
  const licences = createLicences({
    store,
    clock,
    log,
    secret,
  });
  billing.setDeploymentSource(deploymentSourceFromLicences(licences, store));
  billing.onFinalized(invoiceMailer(store, mailOutbox(mailDir(config.dataDir), log), config.publicUrl));
  const progress = (r: RunResult) =>
    process.stderr.write(
      `\rbilling: ${r.subscriptions} subscriptions, ${r.created} invoices, ${r.failed.length} failed`,
    );
  try {
    if (values['dry-run']) {
      const r = await billing.run(
        {
          until: Math.min(until ?? Number.POSITIVE_INFINITY, clock.now() - config.billingSettleMs),
          dryRun: true,
        },
        progress,
      );
      process.stderr.write('\n');
      for (const p of r.planned ?? [])
        console.log(`${p.subscriptionId}  ${p.periodStart} → ${p.periodEnd}  ${p.currency} ${p.total}`);
      console.log(
        `dry run: ${r.planned?.length ?? 0} invoices would be created (until ${r.until}); nothing written`,
      );
      return;
    }
    const scheduler = createBillingScheduler(
      { store, clock, log, billing },
      {
        intervalMs: config.billingIntervalMs,
        settleMs: config.billingSettleMs,
        reviewMs: config.billingReviewMs,
        holder: `cli:${process.pid}`,
      },
    );
    const c = await scheduler.cycle({ ...(until !== undefined ? { until } : {}), onProgress: progress });
    process.stderr.write('\n');
    if (!c.leader) {
      const held = await scheduler.lease.current();
      console.error(
        `tollgate: a billing cycle is running elsewhere (${held?.holder}, lease until ${new Date(held?.expiresAt ?? 0).toISOString()}); nothing done`,
      );
      process.exitCode = 1;
      return;
    }
    await scheduler.stop();
    console.log(
      `billed until ${c.until}: ${c.created} invoices created, ${c.finalized} finalized, ${c.failed} failed (${c.ms} ms)`,
    );
    if (c.failed > 0) process.exitCode = 1;
  } finally {
    await billing.close();
    await store.close();
  }
}
