/**
 * The admin API as the CLI sees it: a running Tollgate at `--url` (or TOLLGATE_URL), a bearer
 * token from `--token` (or TOLLGATE_TOKEN). Every call is JSON; a refusal becomes an
 * `AdminApiError` carrying the problem+json body, so commands can print the server's own
 * sentence and the fields it named.
 */

export interface FieldIssue {
  field: string;
  message: string;
}

export class AdminApiError extends Error {
  override name = 'AdminApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
  }
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface AdminClient {
  readonly url: string;
  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  patch<T>(path: string, body: unknown): Promise<T>;
  put<T>(path: string, body: unknown): Promise<T>;
  delete(path: string): Promise<void>;
  /** Every item of a paged list (`items` + `nextCursor`). */
  all<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T[]>;
  /** A non-JSON answer (CSV, HTML), as text. */
  text(path: string, query?: Record<string, string | number | undefined>): Promise<string>;
}

export function adminClient(opts: { url: string; token: string }): AdminClient {
  const base = `${opts.url.replace(/\/+$/, '')}/admin/v1`;
  const headers = { authorization: `Bearer ${opts.token}`, accept: 'application/json' };

  const target = (path: string, query?: Record<string, string | number | undefined>) => {
    const u = new URL(base + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u;
  };

  async function send(
    method: string,
    path: string,
    body?: unknown,
    query?: Record<string, string | number | undefined>,
  ) {
    let res: Response;
    try {
      res = await fetch(target(path, query), {
        method,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new AdminApiError(0, 'UNREACHABLE', `cannot reach ${opts.url} (${cause})`);
    }
    if (res.ok) return res;
    const text = await res.text();
    let problem: { code?: string; detail?: string; title?: string; errors?: FieldIssue[] } = {};
    try {
      problem = JSON.parse(text);
    } catch {
      problem = { detail: text.slice(0, 200) };
    }
    throw new AdminApiError(
      res.status,
      problem.code ?? `HTTP_${res.status}`,
      `${method} ${path}: ${res.status} ${problem.detail ?? problem.title ?? res.statusText}`,
      problem.errors ?? [],
    );
  }

  const json = async <T>(res: Response): Promise<T> =>
    (res.status === 204 ? undefined : await res.json()) as T;

  return {
    url: opts.url,
    get: async (path, query) => json(await send('GET', path, undefined, query)),
    post: async (path, body) => json(await send('POST', path, body ?? {})),
    patch: async (path, body) => json(await send('PATCH', path, body)),
    put: async (path, body) => json(await send('PUT', path, body)),
    delete: async (path) => {
      await send('DELETE', path);
    },
    async all<T>(path: string, query: Record<string, string | number | undefined> = {}) {
      const out: T[] = [];
      let cursor: string | undefined;
      do {
        const page = await json<Page<T>>(
          await send('GET', path, undefined, { ...query, limit: 200, cursor }),
        );
        out.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return out;
    },
    text: async (path, query) => (await send('GET', path, undefined, query)).text(),
  };
}

/** `--url`/`--token` or TOLLGATE_URL/TOLLGATE_TOKEN; a usage error (exit 2) when a token is missing. */
export function clientFromFlags(flags: { url?: string; token?: string }, env = process.env): AdminClient {
  const url = flags.url ?? env.TOLLGATE_URL ?? 'http://127.0.0.1:8081';
  const token = flags.token ?? env.TOLLGATE_TOKEN;
  if (!token) throw new UsageError('an admin token is needed: --token TOKEN or TOLLGATE_TOKEN');
  try {
    new URL(url);
  } catch {
    throw new UsageError(`--url: ${JSON.stringify(url)} is not a URL`);
  }
  return adminClient({ url, token });
}

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
