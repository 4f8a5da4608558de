/**
 * POST /usage/events: usage that did not pass through the gateway (../external.ts). A batch
 * of at most 1,000 events is validated whole (a bad field answers 400 naming it, e.g.
 * `events[3].units`, and nothing is written), then written in one transaction; the answer
 * counts the accepted events and lists the duplicates and the refused ones.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Catalog } from '../../catalog/index.js';
import { type Env, json, jsonBody, problems } from '../../control/index.js';
import type { Clock } from '../../shared/clock.js';
import { invalid } from '../../shared/index.js';
import type { Store } from '../../store/index.js';
import { recordExternalUsage } from '../external.js';

export const MAX_EVENTS = 1_000;
const id = z.string().min(1).max(64);

const Event = z
  .object({
    id: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
      .openapi({ description: 'Your id for the event: a resend with the same id counts once' }),
    subscriptionId: id.optional(),
    keyId: id.optional().openapi({ description: 'Instead of (or with) subscriptionId' }),
    apiId: id
      .optional()
      .openapi({ description: 'Needed only when the plan covers several APIs that meter the dimension' }),
    dimension: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits, _ . : -'),
    units: z.number().int('must be a whole number').positive().max(Number.MAX_SAFE_INTEGER),
    timestamp: z.string().datetime({ offset: true }).openapi({ example: '2026-11-26T09:30:00Z' }),
  })
  .strict()
  .openapi('UsageEvent');

const EventsBody = z
  .object({ events: z.array(Event).min(1).max(MAX_EVENTS) })
  .strict()
  .openapi('UsageEventsBody');

const EventsResult = z
  .object({
    accepted: z.number().int(),
    duplicates: z.array(z.string()).openapi({ description: 'Ids already recorded: not counted again' }),
    refused: z.array(
      z.object({
        index: z.number().int(),
        id: z.string(),
        code: z.enum(['PERIOD_INVOICED']),
        message: z.string(),
      }),
    ),
  })
  .openapi('UsageEventsResult');

export function usageEventRoutes(deps: { store: Store; clock: Clock; catalog: Catalog }) {
  return (app: OpenAPIHono<Env>): void => {
    app.openapi(
      createRoute({
        method: 'post',
        path: '/usage/events',
        tags: ['usage'],
        summary: 'Record usage that did not pass through the gateway (batch of at most 1,000 events)',
        request: jsonBody(EventsBody),
        responses: { 200: json(EventsResult, 'What was recorded'), ...problems },
      }),
      async (c) => {
        const { events } = c.req.valid('json');
        const now = deps.clock.now();
        const parsed = events.map((e, i) => {
          const at = Date.parse(e.timestamp);
          if (at > now + 5 * 60_000) throw invalid(`events[${i}].timestamp`, 'is in the future');
          return { ...e, at };
        });
        const seen = new Set<string>();
        for (const [i, e] of parsed.entries()) {
          if (seen.has(e.id)) throw invalid(`events[${i}].id`, 'appears twice in the batch');
          seen.add(e.id);
        }
        const outcome = await recordExternalUsage({ ...deps, now }, c.var.actor, parsed);
        return c.json(outcome, 200);
      },
    );
  };
}
