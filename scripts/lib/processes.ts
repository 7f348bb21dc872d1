// The machine's process table, read from /proc: which processes belong to a run (by the folder they work
// in or name, or a marker in their environment), and how to stop them for good — by process group, SIGTERM
// first, SIGKILL after a grace period. Used by `npm test` (nothing a test started may outlive the run) and
// by the tests that start whole stacks.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

/** One live process, as /proc shows it. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** The state letter of /proc/<pid>/stat (R, S, D, Z, …). */
  state: string;
  /** Its command line, arguments joined by spaces. */
  command: string;
  /** Its working directory, or null when unreadable. */
  cwd: string | null;
  /** Its environment as `NAME=value` entries (empty when unreadable). */
  environ: string[];
}

/** One process as /proc shows it, or null when there is none (zombies included: see `state`). */
export function processInfo(pid: number): ProcessInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name sits in parentheses and may itself hold spaces or parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    let cwd: string | null = null;
    let environ: string[] = [];
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
      environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    } catch {
      // Another user's process, or one that is exiting.
    }
    return { pid, ppid: Number(fields[1]), pgid: Number(fields[2]), state: fields[0] ?? '?', command, cwd, environ };
  } catch {
    return null;
  }
}

/** Every process of the machine that has not exited (zombies, already dead, are left out). */
export function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const p = processInfo(Number(entry));
    if (p && p.state !== 'Z' && p.state !== 'X') out.push(p);
  }
  return out;
}

/** This process and its ancestors: never counted as left behind by the run they carry out. */
function selfAndAncestors(): Set<number> {
  const seen = new Set<number>();
  for (let pid = process.pid; pid > 1 && !seen.has(pid);) {
    seen.add(pid);
    const p = processInfo(pid);
    if (!p) break;
    pid = p.ppid;
  }
  return seen;
}

const inside = (file: string | null, dir: string) => file !== null && (file === dir || file.startsWith(`${dir}${path.sep}`));

/**
 * The processes that belong to `dir`: working in it, naming it on their command line, or carrying the
 * environment entry `marker` (inherited by everything a run starts, detached or not). The caller and its
 * ancestors are left out.
 */
export function processesOf(dir: string, marker?: string): ProcessInfo[] {
  const root = path.resolve(dir);
  const exclude = selfAndAncestors();
  return listProcesses().filter(
    (p) => !exclude.has(p.pid) && (inside(p.cwd, root) || p.command.includes(root) || (marker !== undefined && p.environ.includes(marker))),
  );
}

const alive = (pid: number) => {
  const p = processInfo(pid);
  return p !== null && p.state !== 'Z' && p.state !== 'X';
};

/**
 * Whether `pid` is a live process with `argument` on its command line (its own data directory or config file):
 * a pid file can outlive its process, and the number be another process's by now.
 */
export function runsWith(pid: number, argument: string): boolean {
  if (!Number.isInteger(pid) || pid <= 1 || !alive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(argument);
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

async function waitGone(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(50);
  }
  return check();
}

/** The live members of process group `pgid`. */
export const groupMembers = (pgid: number): ProcessInfo[] => listProcesses().filter((p) => p.pgid === pgid);

/**
 * Stops a whole process group: SIGTERM to every member, SIGKILL to what is left after `graceMs`;
 * resolves once no member is alive (or 5 s after the KILL, for a process stuck in the kernel).
 */
export async function stopGroup(pgid: number, graceMs = 10_000): Promise<void> {
  if (!(pgid > 1)) return;
  signal(-pgid, 'SIGTERM');
  if (await waitGone(() => groupMembers(pgid).length === 0, graceMs)) return;
  signal(-pgid, 'SIGKILL');
  await waitGone(() => groupMembers(pgid).length === 0, 5_000);
}

/**
 * Stops processes, each with its group when it leads one (a detached child and what it started):
 * SIGTERM, then SIGKILL after `graceMs`. Resolves once they are gone.
 */
export async function terminate(processes: ProcessInfo[], graceMs = 10_000): Promise<void> {
  const leaders = processes.filter((p) => p.pgid === p.pid && p.pgid > 1);
  const pids = processes.map((p) => p.pid);
  for (const p of leaders) signal(-p.pgid, 'SIGTERM');
  for (const pid of pids) signal(pid, 'SIGTERM');
  const gone = () => pids.every((pid) => !alive(pid)) && leaders.every((p) => groupMembers(p.pgid).length === 0);
  if (await waitGone(gone, graceMs)) return;
  for (const p of leaders) signal(-p.pgid, 'SIGKILL');
  for (const pid of pids) signal(pid, 'SIGKILL');
  await waitGone(gone, 5_000);
}

/** One line per process, for a message naming what was left running. */
export const describeProcesses = (processes: ProcessInfo[]): string =>
  processes
    .map((p) => `  pid ${p.pid} (parent ${p.ppid}, group ${p.pgid}) ${p.command.slice(0, 200)}${p.cwd ? ` [in ${p.cwd}]` : ''}`)
    .join('\n');
