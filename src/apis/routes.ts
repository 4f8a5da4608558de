/** Shapes shared by both sample APIs' route lists and OpenAPI documents. */

/** A route as Tollgate registers it (see RouteTable in src/store/schema.ts). */
export interface TollgateRoute {
  method: string;
  path: string;
  dimension: string;
  /** Units per call; an upstream's `x-tollgate-units` response header gives the actual count. */
  units: number;
  public: boolean;
}

/** RFC 9457 problem details as these APIs render them. */
export const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'code', 'detail'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: { type: 'string', description: 'Stable UPPER_SNAKE code' },
    detail: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['field', 'message'],
        properties: { field: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
} as const;

/** A started sample API. */
export interface RunningApi {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  close(): Promise<void>;
}
