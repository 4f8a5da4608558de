import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMeter,
  getUsage,
  rejectionReport,
  toCsv,
  toJson,
  type UsageEvent,
  usageReport,
} from '../../src/metering/index.js';
import { adjustQuota, type QuotaAdjustInput, quotaStatus } from '../../src/quota/index.js';
import { ManualClock, silentLogger } from '../../src/shared/index.js';
import type { Store } from '../../src/store/index.js';
import { seedPlan, seedSubscription } from './fixtures/seed.js';
import { meteringStores } from './fixtures/stores.js';

const Z = (s: string) => Date.parse(s);
const NY = 'America/New_York';

function ev(subscriptionId: string, keyId: string, at: string, over: Partial<UsageEvent> = {}): UsageEvent {
  return {
    subscriptionId,
    keyId,
    apiId: 'api_1',
    routeId: 'rte_1',
    dimension: 'requests',
    units: 1,
    status: 200,
    bytes: 0,
    latencyMs: 1,
    at: Z(at),
    billable: true,
    ...over,
  };
}

for (const kind of await meteringStores()) {
  describe(`usage reports on ${kind.name}`, () => {
    let store: Store;
    let dir: string;
    const clock = new ManualClock(Z('2026-11-25T12:00:00Z'));
    const deps = () => ({ store, clock });

    beforeAll(async () => {
      store = await kind.open();
      dir = mkdtempSync(join(tmpdir(), 'tollgate-reports-'));
      await seedPlan(store, { id: 'pln_day', quotaLimit: 100, quotaPeriod: 'DAY' });
      await seedPlan(store, {
        id: 'pln_month',
        quotaLimit: 1000,
        quotaPeriod: 'MONTH',
        quotaOffset: 10,
        timeZone: NY,
      });
      await seedPlan(store, { id: 'pln_free' });
      await seedSubscription(store, { id: 'sub_a', planId: 'pln_day', keys: ['key_a1', 'key_a2'] });
      await seedSubscription(store, {
        id: 'sub_b',
        planId: 'pln_month',
        keys: ['key_b1'],
        startedAt: Z('2026-11-10T15:00:00Z'),
      });
      await seedSubscription(store, { id: 'sub_c', planId: 'pln_free', keys: ['key_c1'] });

      const meter = await createMeter({
        store,
        clock,
        log: silentLogger,
        durability: 'batched',
        dataDir: dir,
        node: 'rep',
      });
      const many = (n: number, e: UsageEvent) => {
        for (let i = 0; i < n; i++) meter.record(e);
      };
      many(10, ev('sub_a', 'key_a1', '2026-11-24T10:15:00Z'));
      many(3, ev('sub_a', 'key_a1', '2026-11-24T10:20:00Z', { dimension: 'chars', units: 500 }));
      many(5, ev('sub_a', 'key_a1', '2026-11-25T23:59:59Z'));
      many(7, ev('sub_a', 'key_a1', '2026-11-26T00:00:00Z'));
      many(20, ev('sub_a', 'key_a2', '2026-11-25T12:30:00Z', { apiId: 'api_2' }));
      many(100, ev('sub_b', 'key_b1', '2026-11-20T15:00:00Z'));
      many(50, ev('sub_b', 'key_b1', '2026-12-01T04:10:00Z')); // Nov 30, 23:10 in New York
      many(30, ev('sub_b', 'key_b1', '2026-12-01T05:00:00Z')); // Dec 1, 00:00 in New York
      many(4, ev('sub_c', 'key_c1', '2026-11-25T01:00:00Z'));
      meter.recordRejection({
        apiId: 'api_1',
        routeId: 'rte_1',
        subscriptionId: 'sub_a',
        keyId: 'key_a1',
        code: 'THROTTLED',
        at: Z('2026-11-24T10:00:00Z'),
      });
      meter.recordRejection({
        apiId: 'api_1',
        routeId: 'rte_1',
        subscriptionId: 'sub_a',
        keyId: 'key_a1',
        code: 'THROTTLED',
        at: Z('2026-11-24T11:00:00Z'),
      });
      meter.recordRejection({
        apiId: 'api_1',
        routeId: null,
        subscriptionId: null,
        keyId: null,
        code: 'FORBIDDEN',
        at: Z('2026-11-24T11:00:00Z'),
      });
      await meter.close();
    });
    afterAll(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('reports hourly usage per key and dimension', async () => {
      const rows = await usageReport(store, {
        from: Z('2026-11-24T00:00:00Z'),
        to: Z('2026-11-25T00:00:00Z'),
        granularity: 'hour',
        groupBy: ['key', 'dimension'],
      });
      expect(rows).toEqual([
        {
          period: '2026-11-24T10:00:00.000Z',
          periodStart: Z('2026-11-24T10:00:00Z'),
          keyId: 'key_a1',
          dimension: 'chars',
          units: 1500,
          requests: 3,
        },
        {
          period: '2026-11-24T10:00:00.000Z',
          periodStart: Z('2026-11-24T10:00:00Z'),
          keyId: 'key_a1',
          dimension: 'requests',
          units: 10,
          requests: 10,
        },
      ]);
    });

    it('buckets days and months in UTC or in a time zone', async () => {
      const q = {
        from: Z('2026-11-01T00:00:00Z'),
        to: Z('2027-01-01T00:00:00Z'),
        subscriptionId: 'sub_b',
      } as const;
      const pick = (rows: Array<{ period: string; requests: number }>) =>
        rows.map((r) => [r.period, r.requests]);
      expect(pick(await usageReport(store, { ...q, granularity: 'day' }))).toEqual([
        ['2026-11-20T00:00:00.000Z', 100],
        ['2026-12-01T00:00:00.000Z', 80],
      ]);
      expect(pick(await usageReport(store, { ...q, granularity: 'day', timeZone: NY }))).toEqual([
        ['2026-11-20T05:00:00.000Z', 100],
        ['2026-11-30T05:00:00.000Z', 50],
        ['2026-12-01T05:00:00.000Z', 30],
      ]);
      expect(pick(await usageReport(store, { ...q, granularity: 'month' }))).toEqual([
        ['2026-11-01T00:00:00.000Z', 100],
        ['2026-12-01T00:00:00.000Z', 80],
      ]);
      expect(pick(await usageReport(store, { ...q, granularity: 'month', timeZone: NY }))).toEqual([
        ['2026-11-01T04:00:00.000Z', 150], // November starts at EDT midnight; December at EST midnight
        ['2026-12-01T05:00:00.000Z', 30],
      ]);
    });

    it('groups by subscription and API within a scope, summing units', async () => {
      const rows = await usageReport(store, {
        from: Z('2026-11-01T00:00:00Z'),
        to: Z('2026-12-01T00:00:00Z'),
        granularity: 'month',
        groupBy: ['subscription', 'api'],
        subscriptionIds: ['sub_a', 'sub_c'],
      });
      expect(rows.map((r) => [r.subscriptionId, r.apiId, r.units, r.requests])).toEqual([
        ['sub_a', 'api_1', 1522, 25],
        ['sub_a', 'api_2', 20, 20],
        ['sub_c', 'api_1', 4, 4],
      ]);
      expect(await usageReport(store, { from: 0, to: 1, granularity: 'hour', subscriptionIds: [] })).toEqual(
        [],
      );
    });

    it('refuses bad report queries naming the field', async () => {
      const base = {
        from: Z('2026-11-01T00:00:00Z'),
        to: Z('2026-11-02T00:00:00Z'),
        granularity: 'day' as const,
      };
      await expect(usageReport(store, { ...base, to: base.from })).rejects.toMatchObject({
        issues: [{ field: 'to' }],
      });
      await expect(usageReport(store, { ...base, timeZone: 'Mars/Olympus' })).rejects.toMatchObject({
        issues: [{ field: 'timeZone' }],
      });
      await expect(usageReport(store, { ...base, granularity: 'week' as 'day' })).rejects.toMatchObject({
        issues: [{ field: 'granularity' }],
      });
      await expect(usageReport(store, { ...base, groupBy: ['plan' as 'api'] })).rejects.toMatchObject({
        issues: [{ field: 'groupBy' }],
      });
      await expect(
        usageReport(store, { ...base, granularity: 'hour', to: base.from + 500 * 86_400_000 }),
      ).rejects.toMatchObject({
        status: 400,
      });
    });

    it('reports rejections by code', async () => {
      const rows = await rejectionReport(store, {
        from: Z('2026-11-24T00:00:00Z'),
        to: Z('2026-11-25T00:00:00Z'),
        granularity: 'day',
        groupBy: ['code'],
      });
      expect(rows.map((r) => [r.code, r.count])).toEqual([
        ['FORBIDDEN', 1],
        ['THROTTLED', 2],
      ]);
    });

    it('exports CSV (RFC 4180, formula-safe) and JSON', () => {
      const csv = toCsv(
        [
          { period: '2026-11-24', keyId: 'key,1', dimension: '=HYPERLINK("x")', units: 5 },
          { period: '2026-11-25', keyId: 'k"2', dimension: 'requests', units: -1 },
        ],
        ['period', 'keyId', 'dimension', 'units'],
      );
      expect(csv).toBe(
        'period,keyId,dimension,units\r\n' +
          '2026-11-24,"key,1","\'=HYPERLINK(""x"")",5\r\n' +
          '2026-11-25,"k""2",requests,-1\r\n',
      );
      expect(JSON.parse(toJson([{ a: 1 }], { from: 'x' }))).toEqual({ from: 'x', items: [{ a: 1 }] });
    });

    it('answers GetUsage with [used, remaining] per key per day (daily quota)', async () => {
      const r = await getUsage(deps(), {
        usagePlanId: 'pln_day',
        startDate: '2026-11-24',
        endDate: '2026-11-26',
      });
      expect(r).toEqual({
        usagePlanId: 'pln_day',
        startDate: '2026-11-24',
        endDate: '2026-11-26',
        items: {
          key_a1: [
            [13, 87],
            [5, 75],
            [7, 93],
          ],
          key_a2: [
            [0, 87],
            [20, 75],
            [0, 93],
          ],
        },
      });
      const one = await getUsage(deps(), {
        usagePlanId: 'pln_day',
        startDate: '2026-11-25',
        endDate: '2026-11-25',
        keyId: 'key_a2',
      });
      expect(one.items).toEqual({ key_a2: [[20, 75]] });
    });

    it('answers GetUsage for a monthly quota in a time zone, with the first-window offset', async () => {
      const r = await getUsage(deps(), {
        usagePlanId: 'pln_month',
        startDate: '2026-11-30',
        endDate: '2026-12-01',
      });
      // November (first window: 1000 - offset 10) used 100 + 50; December restarts at 1000.
      expect(r.items).toEqual({
        key_b1: [
          [50, 840],
          [30, 970],
        ],
      });
      const free = await getUsage(deps(), {
        usagePlanId: 'pln_free',
        startDate: '2026-11-25',
        endDate: '2026-11-25',
      });
      expect(free.items).toEqual({ key_c1: [[4, null]] });
      await expect(
        getUsage(deps(), { usagePlanId: 'pln_day', startDate: '2026-11-26', endDate: '2026-11-24' }),
      ).rejects.toMatchObject({
        issues: [{ field: 'endDate' }],
      });
      await expect(
        getUsage(deps(), { usagePlanId: 'pln_day', startDate: '2026-02-30', endDate: '2026-03-01' }),
      ).rejects.toMatchObject({
        issues: [{ field: 'startDate' }],
      });
      await expect(
        getUsage(deps(), { usagePlanId: 'pln_nope', startDate: '2026-11-25', endDate: '2026-11-25' }),
      ).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
    });

    it('adjusts a quota, and status and GetUsage agree', async () => {
      const adjust = (input: Omit<QuotaAdjustInput, 'actor'>, sub = 'sub_b') =>
        store.db.transaction().execute((tx) => adjustQuota(deps(), tx, sub, { ...input, actor: 'tok_ops' }));
      const before = await quotaStatus(deps(), 'sub_b');
      expect(before).toMatchObject({
        window: { start: Z('2026-11-01T04:00:00Z'), end: Z('2026-12-01T05:00:00Z') },
        limit: 990,
        used: 150,
        remaining: 840,
      });
      const granted = await adjust({ delta: 60, reason: 'goodwill after the outage' });
      expect(granted).toMatchObject({ delta: 60, after: { limit: 1050, remaining: 900, adjusted: 60 } });
      const rows = await store.db.selectFrom('quota_adjustments').selectAll().execute();
      expect(rows).toMatchObject([{ window_start: Z('2026-11-01T04:00:00Z'), delta: 60, actor: 'tok_ops' }]);
      const r = await getUsage(deps(), {
        usagePlanId: 'pln_month',
        startDate: '2026-11-30',
        endDate: '2026-11-30',
      });
      expect(r.items.key_b1).toEqual([[50, 900]]);

      // API Gateway UpdateUsage: "replace /remaining 10".
      const s = await adjust({ remaining: 10, reason: 'cap' });
      expect(s.after).toMatchObject({ remaining: 10, limit: 160 });
      expect((await adjust({ remaining: 10, reason: 'same' })).adjustmentId).toBeNull();

      await expect(adjust({ delta: 1, reason: 'x' }, 'sub_c')).rejects.toMatchObject({
        issues: [{ field: 'subscriptionId' }],
      });
      await expect(adjust({ delta: 1, reason: 'x' }, 'sub_zz')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });
}
