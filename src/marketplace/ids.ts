/** Marketplace ids. `agr_` is local to this module (shared/ids.ts lists the common prefixes). */
import { randomBytes } from 'node:crypto';
import { newId } from '../shared/index.js';

const B32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
let seq = 0;

export const agreementId = (now: number): string => `agr_${newId('prd', now).slice(4)}`;
export const exportId = (now: number): string => newId('mtr', now);
export const productId = (now: number): string => newId('prd', now);

/**
 * Event ids sort in append order even within one millisecond: the ULID's time part, then a
 * per-process counter (8 base32 digits), then 8 random characters.
 */
export function eventId(now: number): string {
  const time = newId('evt', now).slice(0, 14);
  seq = (seq + 1) % 32 ** 8;
  let counter = '';
  for (let i = 0, n = seq; i < 8; i++, n = Math.floor(n / 32)) counter = B32[n % 32] + counter;
  let rand = '';
  for (const b of randomBytes(8)) rand += B32[b % 32];
  return time + counter + rand;
}
