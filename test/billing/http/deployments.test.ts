/** sumSpans: how the licence adapter adds up the deployment timelines of several licences. */
import { describe, expect, it } from 'vitest';
import { sumSpans } from '../../../src/billing/http/index.js';

describe('sumSpans', () => {
  it('adds overlaps, merges equal neighbours and leaves gaps out', () => {
    const spans = [
      { from: 0, to: 10, quantity: 2 },
      { from: 5, to: 15, quantity: 1 },
      { from: 15, to: 20, quantity: 3 },
      { from: 30, to: 40, quantity: 1 },
    ];
    // [0,5): 2 · [5,10): 2 + 1 · [10,15): 1 · [15,20): 3 · [20,30): none · [30,40): 1
    expect(sumSpans(spans)).toEqual([
      { from: 0, to: 5, quantity: 2 },
      { from: 5, to: 10, quantity: 3 },
      { from: 10, to: 15, quantity: 1 },
      { from: 15, to: 20, quantity: 3 },
      { from: 30, to: 40, quantity: 1 },
    ]);
  });

  it('merges adjacent stretches of the same count', () => {
    expect(
      sumSpans([
        { from: 0, to: 10, quantity: 2 },
        { from: 10, to: 20, quantity: 1 },
        { from: 10, to: 20, quantity: 1 },
      ]),
    ).toEqual([{ from: 0, to: 20, quantity: 2 }]);
  });

  it('is empty for no spans and keeps a single one as it is', () => {
    expect(sumSpans([])).toEqual([]);
    expect(sumSpans([{ from: 3, to: 9, quantity: 4 }])).toEqual([{ from: 3, to: 9, quantity: 4 }]);
  });
});
