/**
 * Request ids in UUID form (8-4-4-4-12 hex), made cheaply: 80 random bits drawn once per
 * process (and again every 2^48 ids) followed by a 48-bit counter. Unique across processes
 * and restarts with the odds of a random UUID; unlike `randomUUID()` a call costs one
 * number-to-hex conversion and no entropy. Not a secret: nothing may rely on it being
 * unguessable.
 */
import { randomBytes } from 'node:crypto';

const COUNTER_SPAN = 2 ** 48;
let prefix = '';
let seq = COUNTER_SPAN;

export function nextRequestId(): string {
  if (++seq >= COUNTER_SPAN) {
    const h = randomBytes(10).toString('hex');
    // Version 4, variant 10xx, as a random UUID carries them.
    prefix = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((Number.parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-`;
    seq = 0;
  }
  const tail = seq.toString(16);
  return prefix + (tail.length === 12 ? tail : '000000000000'.slice(tail.length) + tail);
}
