// The device gate: MediConnect's DICOM port. Devices (modalities) push by C-STORE here, never to Orthanc,
// whose own DICOM server is off: every association is checked against the registry, every instance
// goes through the same intake as an upload (intake.ts) before Orthanc sees a byte.
import { randomUUID } from 'node:crypto';
import net, { type Server } from 'node:net';
import { Counter } from 'prom-client';
import { recordAudit } from '../../common/audit.js';
import { loadConfig, type Config } from '../../common/config.js';
import { createKnex } from '../../common/db.js';
import { IMPLEMENTATION_CLASS_UID } from '../../common/dicom/part10.js';
import { createLogger, type Logger } from '../../common/logger.js';
import { createMetrics, startMetricsServer } from '../../common/metrics.js';
import { OrthancClient } from '../../common/orthanc.js';
import { isMain, runService } from '../../common/service-main.js';
import { serveAssociation } from './association.js';
import { findDevice, type Device } from './devices.js';
import { createIntake } from './intake.js';

/** A running gate and the function that stops it. */
export interface RunningGate {
  server: Server;
  port: number;
  stop: () => Promise<void>;
}

/** Limits of every association: PDUs up to 256 KB (fewer, larger reads), 60 s of silence, 30 s to ask. */
const ASSOCIATION = {
  maxPduLength: 256 * 1024,
  implementationClassUid: IMPLEMENTATION_CLASS_UID,
  implementationVersionName: 'MEDICONNECT_GATE',
  idleMs: 60_000,
  artimMs: 30_000,
};

/** Starts the gate on the configured DICOM port (or `options.port`, 0 for any free one). */
export async function startGate(config: Config, options: { port?: number; host?: string; logger?: Logger } = {}): Promise<RunningGate> {
  const logger = options.logger ?? createLogger(config.logLevel, 'dicom-gate');
  const db = createKnex(config, { pool: { min: 0, max: Math.max(2, Math.floor(config.db.poolMax / 2)) } }, logger);
  const orthanc = new OrthancClient(config.orthanc);
  const metrics = createMetrics('dicom-gate');
  const registers = [metrics.registry];
  const associations = new Counter({
    name: 'mediconnect_gate_associations_total',
    help: 'DICOM associations, accepted or refused (and why)',
    labelNames: ['result'],
    registers,
  });
  const instances = new Counter({
    name: 'mediconnect_gate_instances_total',
    help: 'Instances pushed, stored or refused (by code)',
    labelNames: ['result', 'code'],
    registers,
  });
  const bytesIn = new Counter({ name: 'mediconnect_gate_bytes_total', help: 'Dataset bytes received from devices', registers });
  orthanc.observe = (operation, seconds, outcome) => metrics.orthancDuration.observe({ operation, outcome }, seconds);
  const open = new Set<net.Socket>();

  const server = net.createServer((socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    const association = randomUUID();
    const meta = { requestId: association, ip: socket.remoteAddress ?? '', userAgent: null };
    const log = logger.child({ association });
    let device: Device | null = null;
    let intake: ReturnType<typeof createIntake> | null = null;
    const counts = { stored: 0, refused: 0 };
    // An audit entry must never stop the association: a failing write is logged.
    const audit = (event: Parameters<typeof recordAudit>[2]) =>
      recordAudit(db, meta, event).catch((err: Error) => log.error({ err: err.message }, 'audit write failed'));
    socket.on('close', () => {
      if (device && counts.stored + counts.refused > 0) {
        void audit({
          actor: null,
          action: 'dicom.association_ended',
          targetType: 'modality',
          targetId: device.id,
          hospitalId: device.hospitalId,
          details: { aeTitle: device.aeTitle, ...counts },
        });
      }
    });
    serveAssociation(
      socket,
      {
        async accept(rq, peer) {
          const found = await findDevice(db, rq.callingAe, peer.address);
          if (typeof found === 'string') {
            associations.inc({ result: `refused_${found}` });
            log.warn({ callingAe: rq.callingAe, peer: peer.address, why: found }, 'association refused');
            // Written before the device hears the refusal: what it was told is on record.
            await audit({
              actor: null,
              action: 'dicom.association_refused',
              targetType: 'modality',
              details: { callingAe: rq.callingAe, why: found },
            });
            return false;
          }
          associations.inc({ result: 'accepted' });
          device = found;
          intake = createIntake({ db, orthanc, maxFileBytes: config.upload.maxFileBytes }, found);
          return true;
        },
        async store(instance) {
          const outcome = await intake!(instance);
          bytesIn.inc(outcome.bytes);
          if (outcome.code) {
            counts.refused++;
            instances.inc({ result: 'refused', code: outcome.code });
            // The reason, never the identifiers: they may name a patient.
            log.warn({ callingAe: device!.aeTitle, code: outcome.code, reason: outcome.comment }, 'instance refused');
            await audit({
              actor: null,
              action: 'dicom.push_refused',
              targetType: 'modality',
              targetId: device!.id,
              hospitalId: device!.hospitalId,
              details: { aeTitle: device!.aeTitle, code: outcome.code, reason: outcome.comment },
            });
          } else {
            counts.stored++;
            instances.inc({ result: 'stored', code: '' });
          }
          return { status: outcome.status, comment: outcome.comment };
        },
        log: (event, details) => log.info(details, event),
      },
      ASSOCIATION,
    );
  });
  // Connections past the cap are closed at once by Node (counted, logged): a flood of peers cannot hold
  // every socket and buffer of the process.
  server.maxConnections = config.gate.maxAssociations;
  server.on('drop', (peer) => {
    associations.inc({ result: 'refused_too_many' });
    logger.warn({ peer: peer?.remoteAddress, max: config.gate.maxAssociations }, 'association refused: too many at once');
  });
  server.on('error', (err) => logger.error({ err: err.message }, 'gate server error'));
  const host = options.host ?? config.gate.host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? config.gate.port, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.gate.port;
  logger.info({ host, port, aeTitle: config.gate.aeTitle }, 'dicom-gate listening');
  const metricsServer = config.gate.metricsPort
    ? await startMetricsServer(metrics, { host: config.metrics.host, port: config.gate.metricsPort, allow: config.metrics.allow, logger })
    : null;
  return {
    server,
    port,
    stop: async () => {
      await metricsServer?.stop();
      // Associations in progress get 10 s to finish their current instance, then are cut (the devices retry).
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const cut = setTimeout(() => open.forEach((s) => s.destroy()), 10_000);
      await closed;
      clearTimeout(cut);
      await db.destroy();
    },
  };
}

if (isMain(import.meta.url)) runService(() => startGate(loadConfig()));
