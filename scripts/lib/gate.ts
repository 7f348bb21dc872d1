// The device gate as a service of the stack (tests, benchmarks): a child process on the DICOM port, in
// front of the Orthanc started before it. `npm start` runs it supervised with the API and the proxy.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from './stack.js';
import { stopProcess } from './supervisor.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Resolves once something accepts TCP connections on host:port; rejects after `timeoutMs`. */
export async function waitForTcp(host: string, port: number, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`the process meant to listen on ${host}:${port} exited`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, host, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs / 1000} s`);
}

/** The command that runs the gate (tsx, as the other services of the local stack). */
export const GATE_SCRIPT = path.join(repoRoot, 'dicom-gate', 'src', 'server.ts');

/**
 * The gate on 127.0.0.1:`port`, configured from `baseEnv` (secrets, limits) and the services before it
 * (database, Orthanc); its log goes to `logFile`.
 */
export function gateService(o: { port: number; baseEnv: Record<string, string>; logFile: string }): ServiceDefinition {
  return {
    name: 'dicom-gate',
    requirements: [],
    async start(env) {
      const log = createWriteStream(o.logFile, { flags: 'a' });
      const child = spawn(process.execPath, ['--import', 'tsx', GATE_SCRIPT], {
        cwd: repoRoot,
        env: { ...o.baseEnv, ...env, DICOM_HOST: '127.0.0.1', DICOM_PORT: String(o.port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.pipe(log, { end: false });
      child.stderr!.pipe(log, { end: false });
      try {
        await waitForTcp('127.0.0.1', o.port, 60_000, () => child.exitCode === null);
      } catch (err) {
        child.kill('SIGKILL');
        throw new Error(`the DICOM gate did not start (${(err as Error).message}); see ${o.logFile}`);
      }
      return {
        name: 'dicom-gate',
        env: { DICOM_PORT: String(o.port) },
        stop: async () => {
          await stopProcess(child, 10_000);
          log.end();
        },
      };
    },
  };
}
