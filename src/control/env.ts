import type { Actor } from '../catalog/index.js';

/** Hono context variables of the admin API: set by the middleware before any route runs. */
export interface Env {
  Variables: {
    requestId: string;
    /** Who the bearer token stands for (operator, or one provider). */
    actor: Actor;
  };
}
