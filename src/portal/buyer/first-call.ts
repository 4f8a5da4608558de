/** The first call for a subscription's key: from the APIs its plan opens. */
import type { ApiView } from '../../catalog/index.js';
import { PORTAL_OPERATOR, type PortalDeps } from '../deps.js';
import { type FirstCall, firstCall } from '../examples.js';
import { unlessMissing } from '../http/render.js';

export async function apisById(deps: PortalDeps, ids: string[]): Promise<ApiView[]> {
  const out: ApiView[] = [];
  for (const id of ids) {
    const api = await unlessMissing(deps.catalog.apis.get(PORTAL_OPERATOR, id));
    if (api) out.push(api);
  }
  return out;
}

export async function firstCallForPlan(deps: PortalDeps, planId: string): Promise<FirstCall | null> {
  const gw = deps.config.gatewayUrl;
  if (!gw) return null;
  const plan = await unlessMissing(deps.catalog.plans.get(PORTAL_OPERATOR, planId));
  return plan ? firstCall(await apisById(deps, plan.apiIds), gw) : null;
}
