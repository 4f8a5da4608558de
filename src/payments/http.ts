/**
 * The processor's webhook endpoint on the console port:
 *
 *   POST /payments/stripe/webhook               the operator's Stripe account
 *   POST /payments/stripe/webhook/{providerId}  a provider's own Stripe account
 *
 * Stripe events are small (well under 64 KiB); the body is refused past 256 KiB before it
 * is read whole, and before any signature work. The raw bytes are verified, never re-encoded
 * JSON. 2xx tells Stripe the event is handled; anything else makes it retry (up to 3 days).
 */
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { OPERATOR_OWNER } from './connections.js';
import type { Payments } from './index.js';

export const WEBHOOK_MAX_BYTES = 256 * 1024;

export function paymentWebhookApp(payments: Pick<Payments, 'webhook'>): Hono {
  const app = new Hono();
  const limit = bodyLimit({
    maxSize: WEBHOOK_MAX_BYTES,
    // the rest of the body is not read: the connection cannot be reused
    onError: (c) => c.json({ error: 'payload too large' }, 413, { connection: 'close' }),
  });
  const handle = (owner: string) => async (c: Context) => {
    const raw = await c.req.text();
    const out = await payments.webhook(owner, raw, c.req.header('stripe-signature'));
    return c.json(out.body, out.status);
  };
  app.post('/payments/stripe/webhook', limit, (c) => handle(OPERATOR_OWNER)(c));
  app.post('/payments/stripe/webhook/:providerId', limit, (c) => {
    const owner = c.req.param('providerId');
    if (!/^prv_[A-Za-z0-9_-]{1,64}$/.test(owner)) return c.json({ error: 'no payment connection here' }, 404);
    return handle(owner)(c);
  });
  return app;
}
