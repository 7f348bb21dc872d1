import type { ChildProcess } from 'node:child_process';

/** Stops a child: SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
export function stopProcess(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** How a supervised process is doing. */
export type ChildState = 'starting' | 'up' | 'restarting' | 'stopped';

/** One supervised child: how to (re)start it, and how long it must live to count as healthy again. */
export interface ChildSpec {
  name: string;
  /** Spawns the process; called again after each unexpected exit. */
  spawn: () => ChildProcess;
  /** Resolves once the new process serves (optional): until then it is `starting`. */
  ready?: () => Promise<void>;
}

/** A running child under supervision. */
export interface Supervised {
  name: string;
  state: () => ChildState;
  restarts: () => number;
  /** Stops it for good (SIGTERM, SIGKILL after the grace period). */
  stop: (graceMs?: number) => Promise<void>;
}

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/** A process that lived this long had recovered: its next failure starts the backoff again. */
const HEALTHY_AFTER_MS = 60_000;

/**
 * Keeps a child process running: an unexpected exit is logged and the process started again after a
 * backoff that doubles on each quick failure (0.5 s … 30 s), so one bad request cannot take a service
 * down for good and a crash loop cannot spin.
 */
export function supervise(spec: ChildSpec, log: (message: string) => void = (m) => console.error(m)): Supervised {
  let child: ChildProcess | null = null;
  let state: ChildState = 'starting';
  let stopping = false;
  let restarts = 0;
  let backoff = MIN_BACKOFF_MS;
  let timer: NodeJS.Timeout | null = null;

  const start = () => {
    timer = null;
    if (stopping) return;
    const startedAt = Date.now();
    const current = spec.spawn();
    child = current;
    state = 'starting';
    if (spec.ready) {
      spec.ready().then(
        () => {
          if (child === current && state === 'starting') state = 'up';
        },
        () => undefined,
      );
    } else state = 'up';
    current.once('exit', (code, signal) => {
      if (child !== current) return;
      child = null;
      if (stopping) {
        state = 'stopped';
        return;
      }
      if (Date.now() - startedAt > HEALTHY_AFTER_MS) backoff = MIN_BACKOFF_MS;
      restarts++;
      state = 'restarting';
      log(
        `[supervisor] ${spec.name} exited unexpectedly (${signal ?? `code ${code}`}); restarting in ${backoff} ms (restart #${restarts})`,
      );
      timer = setTimeout(start, backoff);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    });
  };
  start();

  return {
    name: spec.name,
    state: () => state,
    restarts: () => restarts,
    stop: async (graceMs = 15_000) => {
      stopping = true;
      if (timer) clearTimeout(timer);
      if (child) await stopProcess(child, graceMs);
      state = 'stopped';
    },
  };
}
