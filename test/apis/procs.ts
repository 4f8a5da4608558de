/**
 * Chromium's processes as the kernel sees them (/proc, Linux): the processes this test
 * process started, directly or not, their CPU time and whether they still live. Tests use it
 * to prove that a renderer spinning in `while(true){}` is gone after its capture.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface Proc {
  pid: number;
  ppid: number;
  /** R, S, Z…; a zombie has stopped running and only waits to be reaped. */
  state: string;
  /** User + system CPU time so far, ms. */
  cpuMs: number;
  args: string;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

function read(pid: number): Proc | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which sits in parentheses and may hold spaces.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    return { pid, ppid: Number(f[1]), state: f[0]!, cpuMs: (Number(f[11]) + Number(f[12])) * TICK_MS, args };
  } catch {
    return null; // gone between listing and reading
  }
}

/** Every live process descending from `root` (this process by default). */
export function descendants(root = process.pid): Proc[] {
  const all = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => read(Number(d)))
    .filter((p): p is Proc => p !== null);
  const mine = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) {
      if (!mine.has(p.pid) && mine.has(p.ppid)) {
        mine.add(p.pid);
        grew = true;
      }
    }
  }
  return all.filter((p) => p.pid !== root && mine.has(p.pid) && p.state !== 'Z');
}

export const renderers = (): Proc[] => descendants().filter((p) => p.args.includes('--type=renderer'));

/** Chromium main processes (no `--type=`) started by this process. */
export const browsers = (): Proc[] =>
  descendants().filter((p) => /chromium/.test(p.args.split(' ')[0] ?? '') && !p.args.includes('--type='));

export function alive(pid: number): boolean {
  const p = read(pid);
  return p !== null && p.state !== 'Z';
}

/** CPU ms each process used during `ms` (processes that died meanwhile are left out). */
export async function cpuOver(procs: () => Proc[], ms: number): Promise<Map<number, number>> {
  const before = new Map(procs().map((p) => [p.pid, p.cpuMs]));
  await new Promise((r) => setTimeout(r, ms));
  const used = new Map<number, number>();
  for (const p of procs()) {
    const start = before.get(p.pid);
    if (start !== undefined) used.set(p.pid, p.cpuMs - start);
  }
  return used;
}

/** Poll until `check` holds or `ms` passes; returns whether it held. */
export async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}
