/**
 * `/metrics` of `serve --workers N`: the primary serves it (its console), but the requests
 * are counted in the workers. At each scrape the primary asks every live worker over its IPC
 * channel for its registry as JSON (prom-client's getMetricsAsJSON), and createMetrics'
 * scrape adds them to its own with prom-client's AggregatorRegistry.aggregate: every series
 * is the sum over the processes (each metric's aggregator is `sum`), so
 * `tollgate_requests_total` counts the whole machine.
 *
 * A worker that does not answer within `timeoutMs` (busy, or dying) is left out of that
 * scrape and logged. A worker that died and was restarted counts from zero again, so the
 * sums drop by what it had counted — a counter reset to Prometheus, as a restarted single
 * process is.
 */
import type { Worker } from 'node:cluster';
import type { Registry } from 'prom-client';
import type { MetricsJson } from '../metering/index.js';
import type { Logger } from '../shared/index.js';

/** primary → worker: send your metrics, answering with this id. */
interface MetricsRequest {
  tg: 'metrics?';
  id: number;
}

/** worker → primary: its registry as JSON, or why not. */
interface MetricsReply {
  tg: 'metrics';
  id: number;
  metrics: MetricsJson | null;
  error?: string;
}

function isRequest(m: unknown): m is MetricsRequest {
  return typeof m === 'object' && m !== null && (m as MetricsRequest).tg === 'metrics?';
}

export function isMetricsReply(m: unknown): m is MetricsReply {
  return typeof m === 'object' && m !== null && (m as MetricsReply).tg === 'metrics';
}

/** In a worker: answer the primary's metrics requests from `registry`. Returns the stop function. */
export function answerMetricsRequests(proc: NodeJS.Process, registry: Registry): () => void {
  const listener = (m: unknown) => {
    if (!isRequest(m)) return;
    const reply = (r: MetricsReply) => {
      if (proc.connected && proc.send) proc.send(r);
    };
    registry.getMetricsAsJSON().then(
      (metrics) => reply({ tg: 'metrics', id: m.id, metrics: metrics as MetricsJson }),
      (err: unknown) => reply({ tg: 'metrics', id: m.id, metrics: null, error: String(err) }),
    );
  };
  proc.on('message', listener);
  return () => proc.off('message', listener);
}

/**
 * In the primary: `collect()` gathers every live worker's metrics; `onReply` must be given
 * each message a worker sends (cluster.ts routes them). `workers()` lists them by number.
 */
export function workerMetrics(
  workers: () => Iterable<[number, Worker]>,
  log: Logger,
  timeoutMs = 5_000,
): { collect(): Promise<MetricsJson[]>; onReply(m: MetricsReply): void } {
  let next = 0;
  const waiting = new Map<number, (r: MetricsReply | null) => void>();
  return {
    onReply(m) {
      const done = waiting.get(m.id);
      if (done) {
        waiting.delete(m.id);
        done(m);
      }
    },
    async collect() {
      const asks = [...workers()]
        .filter(([, w]) => w.isConnected())
        .map(
          ([index, w]) =>
            new Promise<MetricsJson | null>((resolve) => {
              const id = ++next;
              const timer = setTimeout(() => {
                waiting.delete(id);
                log.warn(
                  { worker: index, timeoutMs },
                  'worker did not send its metrics; left out of this scrape',
                );
                resolve(null);
              }, timeoutMs);
              waiting.set(id, (r) => {
                clearTimeout(timer);
                if (r?.metrics) return resolve(r.metrics);
                log.warn({ worker: index, err: r?.error }, 'worker could not read its metrics');
                resolve(null);
              });
              try {
                w.send({ tg: 'metrics?', id } satisfies MetricsRequest);
              } catch {
                waiting.get(id)?.(null); // the channel closed since isConnected()
              }
            }),
        );
      return (await Promise.all(asks)).filter((m): m is MetricsJson => m !== null);
    },
  };
}
