/**
 * LeasedLimits' give-backs (leased.ts): unused units of finished blocks going back to the
 * lease source, and what happens when that fails. Every failure is logged and counted
 * (`tollgate_faults_total{site="limits.lease_give"}`); the units stay counted as used
 * meanwhile (under-serves, never over-serves). A give-back that surely never ran (the source
 * was down before anything was sent) is *owed* and sent again by the next sweep. One that
 * was sent and failed may have run — sending it again could give the same units back twice
 * — so it is *lost*: counted as used for the rest of its window. Units still owed at close
 * are lost too.
 */
import { reportFault } from '../shared/faults.js';
import type { Logger } from '../shared/logger.js';
import type { LeaseSource, Settle } from './lease-io.js';
import type { LeaseStats } from './leased.js';

export class GiveBacks {
  /** Give-backs that failed without being sent: sent again by the next sweep. */
  private owed: Settle[] = [];

  constructor(
    private readonly source: LeaseSource,
    private readonly counts: LeaseStats,
    private readonly log: Logger,
  ) {}

  /** Gives `out` back. `rethrow`: the caller must not go on after a failure. */
  async send(out: Settle[], nowMs: number, rethrow: boolean): Promise<void> {
    if (out.length === 0) return;
    this.counts.gives += out.length;
    const down = this.source.down();
    if (down) {
      this.owe(out, down);
      if (rethrow) throw down;
      return;
    }
    try {
      await this.source.give(out, nowMs);
      for (const s of out) this.counts.givenUnits += s.back;
    } catch (e) {
      this.lose(out, e);
      if (rethrow) throw e;
    }
  }

  /** Give-backs that were never sent: owed to the next sweep. */
  owe(settles: Settle[], err: unknown): void {
    const units = sum(settles);
    this.counts.owedUnits += units;
    this.owed.push(...settles);
    reportFault(this.log, 'limits.lease_give', err, 'lease give-back failed; the next sweep sends it again', {
      units,
    });
  }

  /** Give-backs that were sent and failed: they may have run, so they are not sent again. */
  lose(settles: Settle[], err: unknown): void {
    const units = sum(settles);
    this.counts.lostUnits += units;
    reportFault(
      this.log,
      'limits.lease_give',
      err,
      'lease give-back failed; its units stay counted as used',
      {
        units,
      },
    );
  }

  /** The owed give-backs, to be sent again (owed anew if that fails). */
  takeOwed(): Settle[] {
    const out = this.owed;
    this.owed = [];
    this.counts.owedUnits -= sum(out);
    return out;
  }

  /** After the last give-back at close: what is still owed stays counted as used. */
  close(): void {
    this.counts.lostUnits += this.counts.owedUnits;
    this.counts.owedUnits = 0;
    this.owed = [];
  }
}

function sum(settles: Settle[]): number {
  let units = 0;
  for (const s of settles) units += s.back;
  return units;
}
