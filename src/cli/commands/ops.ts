/**
 * Everyday commands over the admin API: keys, usage, invoices and admin tokens. Each prints a
 * table for people, or the server's JSON with `--json` for scripts.
 */
import type { AdminClient } from '../client.js';
import { UsageError } from '../client.js';

export interface OpsFlags {
  json?: boolean;
  subscription?: string;
  name?: string;
  from?: string;
  to?: string;
  granularity?: string;
  format?: string;
  status?: string;
  grace?: string;
  scope?: string;
  provider?: string;
}

type Row = Record<string, unknown>;

/** Columns padded to their widest cell; null shows as `-`. */
export function table(rows: Row[], columns: string[]): string {
  const cell = (v: unknown) =>
    v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [
    line(columns.map((c) => c.toUpperCase())),
    ...rows.map((r) => line(columns.map((c) => cell(r[c])))),
  ].join('\n');
}

function out(flags: OpsFlags, value: unknown, human: () => string) {
  console.log(flags.json ? JSON.stringify(value, null, 2) : human());
}

const need = (v: string | undefined, what: string): string => {
  if (!v) throw new UsageError(`${what} is required`);
  return v;
};

const KEY_COLUMNS = ['id', 'prefix', 'name', 'enabled', 'subscriptionId', 'expiresAt'];

export async function keysCommand(
  client: AdminClient,
  sub: string | undefined,
  args: string[],
  flags: OpsFlags,
) {
  switch (sub) {
    case 'list': {
      const keys = await client.all<Row>('/keys', { subscriptionId: flags.subscription });
      return out(flags, keys, () => table(keys, KEY_COLUMNS));
    }
    case 'create': {
      const key = await client.post<Row>('/keys', {
        subscriptionId: need(flags.subscription, '--subscription'),
        ...(flags.name ? { name: flags.name } : {}),
      });
      return out(
        flags,
        key,
        () => `${table([key], KEY_COLUMNS)}\n\nkey (shown once, keep it safe):\n  ${key.value}`,
      );
    }
    case 'roll': {
      const id = need(args[0], 'a key id');
      const grace = flags.grace === undefined ? {} : { graceSeconds: Number(flags.grace) };
      const r = await client.post<{ old: Row; new: Row }>(`/keys/${id}/roll`, grace);
      return out(
        flags,
        r,
        () =>
          `${table([r.old, r.new], KEY_COLUMNS)}\n\nnew key (shown once, keep it safe):\n  ${r.new.value}`,
      );
    }
    case 'disable':
    case 'enable': {
      const key = await client.post<Row>(`/keys/${need(args[0], 'a key id')}/${sub}`);
      return out(flags, key, () => table([key], KEY_COLUMNS));
    }
    default:
      throw new UsageError('usage: tollgate keys list|create|roll|disable|enable');
  }
}

export async function usageCommand(client: AdminClient, flags: OpsFlags) {
  const query = {
    subscriptionId: flags.subscription,
    from: need(flags.from, '--from'),
    to: flags.to,
    granularity: flags.granularity,
    groupBy: 'subscription,dimension',
  };
  if (flags.format === 'csv') {
    process.stdout.write(await client.text('/usage', { ...query, format: 'csv' }));
    return;
  }
  const report = await client.get<{ items: Row[] }>('/usage', query);
  out(flags, report, () =>
    table(report.items, ['period', 'subscriptionId', 'dimension', 'units', 'requests']),
  );
}

const INVOICE_COLUMNS = ['id', 'number', 'status', 'periodStart', 'periodEnd', 'currency', 'total'];

export async function invoicesCommand(
  client: AdminClient,
  sub: string | undefined,
  args: string[],
  flags: OpsFlags,
) {
  switch (sub) {
    case 'list': {
      const items = await client.all<Row>('/invoices', {
        subscriptionId: flags.subscription,
        status: flags.status,
      });
      return out(flags, items, () => table(items, INVOICE_COLUMNS));
    }
    case 'show': {
      const inv = await client.get<Row & { lines: Row[] }>(`/invoices/${need(args[0], 'an invoice id')}`);
      return out(flags, inv, () =>
        [
          table([inv], INVOICE_COLUMNS),
          '',
          table(inv.lines, ['description', 'quantity', 'unitPrice', 'amount']),
          '',
          `total ${inv.currency} ${inv.total}`,
        ].join('\n'),
      );
    }
    case 'finalize': {
      const inv = await client.post<Row>(`/invoices/${need(args[0], 'an invoice id')}/finalize`);
      return out(flags, inv, () => table([inv], INVOICE_COLUMNS));
    }
    default:
      throw new UsageError('usage: tollgate invoices list|show|finalize');
  }
}

export async function tokenCreateCommand(client: AdminClient, flags: OpsFlags) {
  const scope = flags.scope ?? (flags.provider ? 'provider' : 'operator');
  const token = await client.post<Row>('/tokens', {
    name: flags.name ?? 'cli',
    scope,
    ...(flags.provider ? { providerId: flags.provider } : {}),
  });
  out(
    flags,
    token,
    () =>
      `${table([token], ['id', 'name', 'scope', 'providerId'])}\n\ntoken (shown once, keep it safe):\n  ${token.value}`,
  );
}
