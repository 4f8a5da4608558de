/**
 * What a start has opened so far (stores, Redis clients, timers, listening sockets), so that
 * one list closes it all: `close()` at a normal stop, and the same list when a start fails
 * part-way, so a port in use or a refused licence never leaves the store locked or a timer
 * running.
 *
 * Order: listeners are drained first, together, within one grace (a listener is opened after
 * everything it serves, and no request should reach a half-closed system); then everything
 * else is closed in reverse order of opening. A close that fails is reported
 * (`main.close` fault) and the rest still close.
 */
import { type Logger, reportFault } from '../shared/index.js';

type Close = () => void | Promise<void>;

interface Entry {
  name: string;
  close: Close;
  listener: boolean;
}

export class Opened {
  private entries: Entry[] = [];

  constructor(private readonly log: Logger) {}

  /** `name` is open; `close` undoes it. */
  add(name: string, close: Close): void {
    this.entries.push({ name, close, listener: false });
  }

  /** A listening server; `drain` stops it taking requests and lets in-flight ones finish. */
  addListener(name: string, drain: Close): void {
    this.entries.push({ name, close: drain, listener: true });
  }

  /** What is open, in the order it was opened. */
  names(): string[] {
    return this.entries.map((e) => e.name);
  }

  /** Closes everything (see the header for the order); safe to call twice. */
  async closeAll(): Promise<void> {
    const entries = this.entries;
    this.entries = [];
    await Promise.all(entries.filter((e) => e.listener).map((e) => this.closeOne(e)));
    for (const e of entries.filter((e) => !e.listener).reverse()) await this.closeOne(e);
  }

  private async closeOne(e: Entry): Promise<void> {
    try {
      await e.close();
      this.log.debug({ resource: e.name }, 'closed');
    } catch (err) {
      reportFault(this.log, 'main.close', err, `could not close ${e.name}`);
    }
  }
}

/**
 * Runs `start` with a fresh `Opened`; when it throws, everything it opened is closed in
 * order before the error goes on, with the step that failed in the log.
 */
export async function startOrUndo<T>(log: Logger, start: (opened: Opened) => Promise<T>): Promise<T> {
  const opened = new Opened(log);
  try {
    return await start(opened);
  } catch (err) {
    const open = opened.names();
    log.error({ err: (err as Error).message, closing: open }, 'start failed: closing what was opened');
    await opened.closeAll();
    throw err;
  }
}
