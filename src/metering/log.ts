/**
 * The strict-mode usage log: append-only segment files `usage-<node>-<firstSeq>.log` in the
 * data directory, one line per billable event:
 *
 *     <crc32 hex of json>\t[seq,"sub","key","api","dim",hour,units]\n
 *
 * A reversal (a call whose response body failed after its head, so it is not billed) is an
 * entry of its own with negative units and an eighth element, -1: the request count it
 * takes back. Replaying both nets to zero; a crash between them bills the call, which was
 * in flight.
 *
 * Group commit: append() queues the line and returns the promise of the current group; one
 * write + one fdatasync carries every line queued in the same event-loop turn (and, while a
 * write is in flight, every line queued meanwhile — the next group waits for the disk, so
 * groups grow with load). Writes are serialised, so lines land in sequence order and a group
 * resolves only after everything before it is durable.
 *
 * Reading tolerates a crash at any byte: only complete lines (ending in \n) whose checksum
 * and shape are valid count; a torn or garbled line is skipped and reported. A segment is
 * deleted once the store's checkpoint covers its last sequence; a new segment's directory
 * entry is fsynced before anything in it is acknowledged.
 */

import { type FileHandle, mkdir, open, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

export interface LogEntry {
  seq: number;
  subscriptionId: string;
  keyId: string;
  apiId: string;
  dimension: string;
  hour: number;
  units: number;
  /** 1 for a call, -1 for a reversal. */
  requests: 1 | -1;
}

export function formatEntry(
  seq: number,
  subscriptionId: string,
  keyId: string,
  apiId: string,
  dimension: string,
  hour: number,
  units: number,
  reversal = false,
): string {
  const fields = [seq, subscriptionId, keyId, apiId, dimension, hour, units];
  if (reversal) fields.push(-1);
  const json = JSON.stringify(fields);
  return crc32(json).toString(16) + '\t' + json + '\n';
}

/** Parses one line (without its \n); null when torn, garbled or of the wrong shape. */
export function parseEntry(line: string): LogEntry | null {
  const tab = line.indexOf('\t');
  if (tab <= 0) return null;
  const json = line.slice(tab + 1);
  if (crc32(json).toString(16) !== line.slice(0, tab)) return null;
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return null; // garbled despite its checksum: skipped and counted like a torn line
  }
  if (!Array.isArray(v) || v.length < 7 || v.length > 8) return null;
  const [seq, subscriptionId, keyId, apiId, dimension, hour, units, reversal] = v as unknown[];
  if (v.length === 8 && reversal !== -1) return null;
  if (
    !Number.isSafeInteger(seq) ||
    typeof subscriptionId !== 'string' ||
    typeof keyId !== 'string' ||
    typeof apiId !== 'string' ||
    typeof dimension !== 'string' ||
    !Number.isSafeInteger(hour) ||
    !Number.isSafeInteger(units)
  ) {
    return null;
  }
  return {
    seq: seq as number,
    subscriptionId,
    keyId,
    apiId,
    dimension,
    hour: hour as number,
    units: units as number,
    requests: v.length === 8 ? -1 : 1,
  };
}

export interface SegmentRead {
  path: string;
  /** Valid entries in the segment. */
  count: number;
  /** Highest sequence in the segment (0 if none). */
  lastSeq: number;
  /** Lines skipped as torn or invalid (a torn tail after a crash is normal). */
  skipped: number;
}

const segmentName = (node: string, firstSeq: number) =>
  `usage-${node}-${String(firstSeq).padStart(16, '0')}.log`;

/**
 * Reads every segment of `node` in `dir`, oldest first, handing each valid entry to `onEntry`
 * (one segment in memory at a time, however long the backlog).
 */
export async function readSegments(
  dir: string,
  node: string,
  onEntry: (e: LogEntry) => void,
): Promise<SegmentRead[]> {
  await mkdir(dir, { recursive: true });
  const prefix = `usage-${node}-`;
  const names = (await readdir(dir))
    .filter((n) => n.startsWith(prefix) && n.endsWith('.log') && /^\d{16}$/.test(n.slice(prefix.length, -4)))
    .sort();
  const out: SegmentRead[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const text = await readFile(path, 'utf8');
    let count = 0;
    let skipped = 0;
    let lastSeq = 0;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      const entry = parseEntry(text.slice(start, nl));
      start = nl + 1;
      if (!entry) {
        skipped++;
        continue;
      }
      onEntry(entry);
      count++;
      if (entry.seq > lastSeq) lastSeq = entry.seq;
    }
    if (start < text.length) skipped++; // a tail without its newline: torn by a crash
    out.push({ path, count, lastSeq, skipped });
  }
  return out;
}

interface Group {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
  lines: string[];
  lastSeq: number;
}

function newGroup(): Group {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Every caller awaits it and sees the failure; this handler only keeps a group whose
  // callers all went away from crashing the process as an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject, lines: [], lastSeq: 0 };
}

interface Segment {
  path: string;
  lastSeq: number;
}

export class StrictLog {
  private fh: FileHandle;
  private active: Segment;
  private activeBytes = 0;
  private closed: Segment[];
  private current: Group | null = null;
  private writing: Promise<void> | null = null;
  private queued = 0;
  fsyncs = 0;
  fsyncEvents = 0;

  private constructor(
    private readonly dir: string,
    private readonly node: string,
    private readonly maxSegmentBytes: number,
    fh: FileHandle,
    active: Segment,
    closed: Segment[],
  ) {
    this.fh = fh;
    this.active = active;
    this.closed = closed;
  }

  /** Starts a fresh segment at `firstSeq`; `old` segments are kept until the checkpoint covers them. */
  static async create(
    dir: string,
    node: string,
    firstSeq: number,
    old: SegmentRead[],
    maxSegmentBytes = 16 * 1024 * 1024,
  ): Promise<StrictLog> {
    const path = join(dir, segmentName(node, firstSeq));
    // 'w': a file already at this name can only hold a torn write from a crash (no valid entry
    // can be >= firstSeq), and appending after a torn tail would corrupt the first new line.
    const fh = await open(path, 'w');
    await syncDir(dir);
    const closed = old.filter((s) => s.path !== path).map((s) => ({ path: s.path, lastSeq: s.lastSeq }));
    return new StrictLog(dir, node, maxSegmentBytes, fh, { path, lastSeq: firstSeq - 1 }, closed);
  }

  /** Events waiting for their write + fsync. */
  get queueDepth(): number {
    return this.queued;
  }

  append(seq: number, line: string): Promise<void> {
    let g = this.current;
    if (!g) {
      g = this.current = newGroup();
      if (!this.writing) setImmediate(this.kick);
    }
    g.lines.push(line);
    g.lastSeq = seq;
    this.queued++;
    return g.promise;
  }

  private kick = (): void => {
    const g = this.current;
    if (this.writing || !g) return;
    this.current = null;
    this.writing = this.writeGroup(g).finally(() => {
      this.writing = null;
      if (this.current) this.kick();
    });
  };

  private async writeGroup(g: Group): Promise<void> {
    try {
      if (this.activeBytes >= this.maxSegmentBytes) await this.rotate(g.lastSeq - g.lines.length + 1);
      const buf = Buffer.from(g.lines.join(''), 'utf8');
      let off = 0;
      while (off < buf.length) off += (await this.fh.write(buf, off, buf.length - off)).bytesWritten;
      await this.fh.datasync();
      this.activeBytes += buf.length;
      this.active.lastSeq = g.lastSeq;
      this.fsyncs++;
      this.fsyncEvents += g.lines.length;
      g.resolve();
    } catch (e) {
      g.reject(e);
    } finally {
      this.queued -= g.lines.length;
    }
  }

  private async rotate(firstSeq: number): Promise<void> {
    await this.fh.close();
    this.closed.push(this.active);
    const path = join(this.dir, segmentName(this.node, firstSeq));
    this.fh = await open(path, 'w');
    await syncDir(this.dir);
    this.active = { path, lastSeq: firstSeq - 1 };
    this.activeBytes = 0;
  }

  /**
   * Deletes closed segments whose every entry is at or below the store's checkpoint. A
   * segment that cannot be deleted is kept for the next release and the error thrown (its
   * entries are below the checkpoint: a restart skips them, the disk keeps the bytes).
   */
  async release(checkpoint: number): Promise<void> {
    const keep: Segment[] = [];
    let failed: unknown = null;
    for (const s of this.closed) {
      if (s.lastSeq > checkpoint) keep.push(s);
      else
        await unlink(s.path).catch((e: unknown) => {
          if (isMissing(e)) return; // already gone
          failed ??= e;
          keep.push(s);
        });
    }
    this.closed = keep;
    if (failed) throw failed;
  }

  /** Waits for queued groups to be written. */
  async drain(): Promise<void> {
    while (this.writing || this.current) {
      if (!this.writing) this.kick();
      await this.writing;
    }
  }

  /** Drains, closes the file, and deletes everything the checkpoint covers (the active segment too). */
  async close(checkpoint: number): Promise<void> {
    await this.drain();
    await this.fh.close();
    this.closed.push(this.active);
    await this.release(checkpoint);
  }
}

async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/**
 * One live process per (data directory, node): `usage-<node>.lock` holds the owner's pid.
 * A lock whose pid is dead (or is this very process, as after a container restart where the
 * app is pid 1 again) is stale and taken over; a live owner — say a predecessor still
 * draining after SIGTERM — is waited for up to `waitMs`, then start-up fails naming the file.
 */
export async function lockDir(dir: string, node: string, waitMs: number): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `usage-${node}.lock`);
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (!heldHere.has(path)) {
      try {
        await writeFile(path, String(process.pid), { flag: 'wx' });
        heldHere.add(path);
        return async () => {
          heldHere.delete(path);
          // Gone already is fine; any other failure leaves a lock a restart must take over: thrown.
          await unlink(path).catch(ignoreMissing);
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    const owner = heldHere.has(path)
      ? process.pid
      : // Removed by its owner meanwhile: read as no owner, so the loop takes the lock again.
        Number.parseInt(await readFile(path, 'utf8').catch((e: unknown) => (ignoreMissing(e), '')), 10);
    const stale =
      !Number.isInteger(owner) || owner <= 0 || (owner === process.pid ? !heldHere.has(path) : !alive(owner));
    if (stale) {
      await unlink(path).catch(ignoreMissing); // another start took it over first: try again
      continue;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `metering: ${path} is held by live process ${owner}; two processes cannot share a metering node and log directory`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Lock files held by meters of this process (two meters of one process may not share a node either). */
const heldHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user; ESRCH: no such process.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isMissing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'ENOENT';
}

/** For `.catch`: a file that is not there is what we wanted; anything else goes on. */
function ignoreMissing(e: unknown): void {
  if (!isMissing(e)) throw e;
}
