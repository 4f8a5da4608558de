/**
 * The provider's public licence endpoints, as framework-free handlers `(body) → {status, json}`
 * (public.ts mounts them on Hono; tests call them directly):
 *   POST /licences/v1/activate   { token, instanceId }  → seat check + heartbeat
 *   POST /licences/v1/release    { token, instanceId }  → give the seat back
 *   GET  /licences/v1/keys/:providerId                  → the public keys file (JWKS + revoked)
 * The licence token itself authenticates the caller (its signature is checked). Refusals
 * are 4xx with `{ ok: false, code, message }`; a deployment treats any 4xx as final and
 * anything else (5xx, timeouts, no answer) as "provider unreachable" (see ../client.ts).
 */
import type { Licences } from '../service.js';
import type { ActivationDenialCode, ActivationResult } from '../types.js';

export interface JsonResponse {
  status: number;
  json: unknown;
}
export type JsonHandler = (body: unknown) => Promise<JsonResponse>;

export const ACTIVATION_STATUS: Record<ActivationDenialCode, number> = {
  MALFORMED: 400,
  TAMPERED: 401,
  UNKNOWN_KEY: 401,
  REVOKED: 403,
  UNKNOWN_LICENCE: 404,
  SEATS_EXHAUSTED: 409,
};

function respond(result: ActivationResult): JsonResponse {
  return { status: result.ok ? 200 : ACTIVATION_STATUS[result.code], json: result };
}

function readBody(body: unknown): { token: string; instanceId: string } | null {
  if (typeof body !== 'object' || body === null) return null;
  const b = body as Record<string, unknown>;
  return { token: b.token as string, instanceId: b.instanceId as string };
}

const badBody: JsonResponse = {
  status: 400,
  json: {
    ok: false,
    code: 'MALFORMED',
    message: 'send a JSON object { "token": "<licence>", "instanceId": "<id>" }',
  },
};

export function activationHandler(licences: Pick<Licences, 'activate'>): JsonHandler {
  return async (body) => {
    const input = readBody(body);
    return input ? respond(await licences.activate(input)) : badBody;
  };
}

export function releaseHandler(licences: Pick<Licences, 'release'>): JsonHandler {
  return async (body) => {
    const input = readBody(body);
    return input ? respond(await licences.release(input)) : badBody;
  };
}

export function publicKeysHandler(
  licences: Pick<Licences, 'jwks'>,
): (providerId: string) => Promise<JsonResponse> {
  return async (providerId) => ({ status: 200, json: await licences.jwks(providerId) });
}
