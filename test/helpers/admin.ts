/** A tiny admin-API client for flow tests: JSON in, JSON out, throws on non-2xx with the problem body. */
export function adminClient(consoleUrl: string, token: string) {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${consoleUrl}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  }
  return {
    get: <T = Record<string, unknown>>(path: string) => call<T>('GET', path),
    post: <T = Record<string, unknown>>(path: string, body?: unknown) => call<T>('POST', path, body ?? {}),
    patch: <T = Record<string, unknown>>(path: string, body: unknown) => call<T>('PATCH', path, body),
    put: <T = Record<string, unknown>>(path: string, body: unknown) => call<T>('PUT', path, body),
    del: <T = Record<string, unknown>>(path: string) => call<T>('DELETE', path),
  };
}

export type AdminClient = ReturnType<typeof adminClient>;

/** Provider → API → plan → consumer → subscription → key, through the admin API. */
export async function provision(
  admin: AdminClient,
  upstreamUrl: string,
  plan: Record<string, unknown>,
  pathPrefix = '/api',
): Promise<{
  providerId: string;
  apiId: string;
  planId: string;
  subscriptionId: string;
  keyId: string;
  key: string;
}> {
  const provider = await admin.post<{ id: string }>('/providers', {
    name: `Provider ${Math.random().toString(36).slice(2, 7)}`,
  });
  const api = await admin.post<{ id: string }>('/apis', {
    providerId: provider.id,
    name: 'API',
    upstreamUrl,
    pathPrefix,
  });
  const p = await admin.post<{ id: string }>('/plans', {
    providerId: provider.id,
    name: 'Plan',
    apiIds: [api.id],
    ...plan,
  });
  const consumer = await admin.post<{ id: string }>('/consumers', { providerId: provider.id, name: 'Buyer' });
  const sub = await admin.post<{ id: string }>('/subscriptions', { consumerId: consumer.id, planId: p.id });
  const key = await admin.post<{ id: string; value: string }>('/keys', { subscriptionId: sub.id, name: 'k' });
  return {
    providerId: provider.id,
    apiId: api.id,
    planId: p.id,
    subscriptionId: sub.id,
    keyId: key.id,
    key: key.value,
  };
}
