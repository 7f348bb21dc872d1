import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { describeProcesses, groupMembers, stopGroup } from '../../scripts/lib/processes.js';

const started = new Set<ChildProcess>();

/**
 * Spawns a process as the leader of its own process group, so that it and everything it starts can be
 * stopped together ({@link stopStarted}); the suite's root hook stops whatever a test left running.
 */
export function spawnGroup(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true });
  // Kept even once the leader exits: what it started may still run in its group.
  started.add(child);
  return child;
}

/** Stops `child`'s whole process group: SIGTERM, SIGKILL after `graceMs`; resolves once none is left. */
export async function stopStarted(child: ChildProcess | undefined, graceMs = 10_000): Promise<void> {
  if (!child) return;
  started.delete(child);
  if (child.pid !== undefined) await stopGroup(child.pid, graceMs);
}

/**
 * Stops every group spawned with {@link spawnGroup} that a test left running (root `afterAll` hook), and
 * fails naming them: each test stops what it starts.
 */
export async function stopAllStarted(): Promise<void> {
  const left = [...started].flatMap((child) => (child.pid === undefined ? [] : groupMembers(child.pid)));
  await Promise.all([...started].map((child) => stopStarted(child)));
  if (left.length > 0) throw new Error(`tests left these processes running:\n${describeProcesses(left)}`);
}

const afterTest: (() => Promise<void> | void)[] = [];

/**
 * Registers a stop to run once the current test ends — passed, failed or timed out, which a `finally`
 * inside the test does not cover (mocha moves on when a test times out). Run by the root `afterEach`
 * hook, last registered first. Only for what a test (`it`) starts; suites use their own `after` hooks.
 */
export function stopAfterTest(stop: () => Promise<void> | void): void {
  afterTest.push(stop);
}

/** Runs the stops registered by the test that just ended (root `afterEach` hook). */
export async function runAfterTest(): Promise<void> {
  const errors: unknown[] = [];
  for (let stop = afterTest.pop(); stop; stop = afterTest.pop()) {
    try {
      await stop();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) throw errors[0];
}
