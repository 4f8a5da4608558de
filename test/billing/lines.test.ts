/** Unit prices at a readable scale, and the words of an invoice line (pure). */
import { describe, expect, it } from 'vitest';
import {
  calcExact,
  priceText,
  scaledPrice,
  shareFraction,
  singular,
  unitName,
} from '../../src/billing/lines.js';

describe('invoice line wording', () => {
  it('scales a unit price to the smallest of 1, 1,000, 1,000,000 that needs no sub-minor decimals', () => {
    expect(scaledPrice('0.00002', 'USD')).toEqual({ price: '0.02', per: 1000 });
    expect(scaledPrice('0.01', 'USD')).toEqual({ price: '0.01', per: 1 });
    expect(scaledPrice('0.4', 'USD')).toEqual({ price: '0.40', per: 1 });
    expect(scaledPrice('0.0004', 'USD')).toEqual({ price: '0.40', per: 1000 });
    expect(scaledPrice('0.0000001234', 'USD')).toEqual({ price: '0.1234', per: 1_000_000 });
    expect(scaledPrice('0.5', 'JPY')).toEqual({ price: '500', per: 1000 });
    expect(scaledPrice('0.0035', 'KWD')).toEqual({ price: '3.500', per: 1000 });
    expect(scaledPrice('0', 'USD')).toEqual({ price: '0.00', per: 1 });
  });

  it('says the unit and its scale in words', () => {
    expect(priceText({ price: '0.02', per: 1000, unit: 'characters' }, 'USD')).toBe(
      'USD 0.02 per 1,000 characters',
    );
    expect(priceText({ price: '0.01', per: 1, unit: 'requests' }, 'USD')).toBe('USD 0.01 per request');
    expect(priceText({ price: '1500', per: 1, unit: 'month' }, 'JPY')).toBe('JPY 1,500 per month');
    expect(priceText({ price: '5.00', per: 1, unit: '' }, 'EUR')).toBe('EUR 5.00');
    expect(unitName('api_calls')).toBe('api calls');
    expect(['searches', 'boxes', 'pages', 'class', 'api calls'].map(singular)).toEqual([
      'search',
      'box',
      'page',
      'class',
      'api call',
    ]);
  });

  it('states a share of a period exactly, in days when whole days, else seconds', () => {
    const D = 86_400_000;
    const jan = Date.UTC(2026, 0, 1);
    expect(shareFraction(jan, jan + 10 * D, jan, jan + 31 * D).text).toBe('10/31');
    expect(shareFraction(jan, jan + 10 * D + 3_600_000, jan, jan + 31 * D).text).toBe('867600/2678400');
    // the fraction is exact: 49 × 10/31 = 15.806451… → 15.81, never 49 × 0.322581 = 15.806469
    expect(calcExact({ quantity: '10/31', price: '49.00', per: 1 }).toFixed(2)).toBe('15.81');
  });
});
