import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { groupMembers, processesOf, stopGroup, terminate } from '../../scripts/lib/processes.js';
import { stopAfterTest } from '../helpers/processes.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` holds (or 5 s): processes take a moment to start. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await sleep(50);
}

describe('process table: what a run left, and stopping it for good (scripts/lib/processes.ts)', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'procs-'));
    stopAfterTest(() => rmSync(dir, { recursive: true, force: true }));
  });

  /** A shell in its own group, in `cwd`, running `script`; killed after the test whatever happens. */
  function group(script: string, options: { cwd?: string; env?: Record<string, string> } = {}) {
    const child = spawn('sh', ['-c', script], {
      cwd: options.cwd ?? os.tmpdir(),
      env: { ...process.env, ...options.env },
      detached: true,
      stdio: 'ignore',
    });
    stopAfterTest(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    });
    return child;
  }

  it('finds a run’s processes by working directory, by command line and by environment marker — and nothing else', async () => {
    const byCwd = group('sleep 30 & wait', { cwd: dir });
    const byArgs = group(`sleep 30 & wait # ${dir}/config.json`);
    const byMarker = group('sleep 30 & wait', { env: { MEDICONNECT_TEST_TMP: dir } });
    const unrelated = group('sleep 30 & wait');
    await until(() => [byCwd, byArgs, byMarker, unrelated].every((c) => groupMembers(c.pid!).length === 2));
    const found = new Set(processesOf(dir, `MEDICONNECT_TEST_TMP=${dir}`).map((p) => p.pgid));
    expect(found.has(byCwd.pid!), 'working directory').to.equal(true);
    expect(found.has(byArgs.pid!), 'command line').to.equal(true);
    expect(found.has(byMarker.pid!), 'environment marker').to.equal(true);
    expect(found.has(unrelated.pid!), 'an unrelated process').to.equal(false);
    // The caller itself is never counted, even working there.
    expect(processesOf(dir).some((p) => p.pid === process.pid)).to.equal(false);
  });

  it('stopGroup ends a whole group with SIGTERM, and one that ignores it with SIGKILL after the grace period', async () => {
    const polite = group('sleep 30 & sleep 30 & wait');
    const stubborn = group(`trap '' TERM; sleep 30 & wait; sleep 30`);
    await until(() => groupMembers(polite.pid!).length === 3 && groupMembers(stubborn.pid!).length === 2);
    await stopGroup(polite.pid!, 5_000);
    expect(groupMembers(polite.pid!)).to.deep.equal([]);
    await stopGroup(stubborn.pid!, 300);
    expect(groupMembers(stubborn.pid!)).to.deep.equal([]);
  });

  it('terminate stops single processes and the groups they lead', async () => {
    const leader = group('sleep 30 & sleep 30 & wait', { cwd: dir });
    await until(() => groupMembers(leader.pid!).length === 3);
    const left = processesOf(dir);
    expect(left.length).to.be.at.least(1);
    await terminate(left, 2_000);
    expect(groupMembers(leader.pid!)).to.deep.equal([]);
    expect(processesOf(dir)).to.deep.equal([]);
  });
});
