/**
 * Step 0b — a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`) to an API with
 * CORS settings is answered here, keyless and unmetered (see cors.ts); the route is found
 * with the method the browser asks about. An allowed origin gets a 204 with the allowed
 * methods and headers, any other origin a 403 so the browser refuses the real call.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { originAllowed, preflightHeaders } from '../cors.js';
import { DENIED, type Denial } from '../denial.js';
import type { Snapshot } from '../snapshot.js';
import { matchRequest } from './match.js';

/**
 * The 204's header fields, the 403, or null when the request is not such a preflight (it
 * then goes down the request path like any other call).
 */
export function preflight(
  snapshot: Snapshot,
  headers: IncomingHttpHeaders,
  url: string,
): Record<string, string> | Denial | null {
  const asked = headers['access-control-request-method'];
  const origin = headers.origin;
  if (typeof asked !== 'string' || origin === undefined) return null;
  const cors = matchRequest(snapshot, headers.host, asked.toUpperCase(), url)?.api.cors;
  if (!cors) return null;
  if (!originAllowed(cors, origin)) return DENIED.preflightForbidden;
  return preflightHeaders(cors, origin);
}
