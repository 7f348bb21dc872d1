import { z } from 'zod';

/** Accepts the spellings hospitals use in their .env files (True/False, 1/0, yes/no). */
const booleanFromEnv = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off', '']))
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  DEBUG: booleanFromEnv.default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  SECRET_KEY: z.string().min(32, 'SECRET_KEY must be at least 32 characters'),

  DB_NAME: z.string().min(1).default('mediconnect'),
  DB_USER: z.string().min(1).default('mediconnect'),
  DB_PASSWORD: z.string().default(''),
  DB_HOST: z.string().min(1).default('127.0.0.1'),
  DB_PORT: port.default(5432),
  DB_POOL_MAX: positiveInt.default(10),

  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port.default(8000),
  API_PUBLIC_URL: z.url().optional(),
  TRUST_PROXY: booleanFromEnv.default(false),

  SUPERADMIN_EMAIL: z.email().default('admin@mediconnect.local'),
  ACCESS_TOKEN_TTL_SECONDS: positiveInt.default(900),
  REFRESH_TOKEN_TTL_SECONDS: positiveInt.default(14 * 24 * 3600),
  BCRYPT_ROUNDS: z.coerce.number().int().min(4).max(15).default(12),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: positiveInt.default(5),
  LOGIN_MAX_FAILURES_PER_IP: positiveInt.default(50),
  LOGIN_THROTTLE_WINDOW_SECONDS: positiveInt.default(900),
  PRINCIPAL_CACHE_SECONDS: z.coerce.number().int().min(0).max(60).default(5),

  SCHEDULER_ENABLED: booleanFromEnv.default(true),
  SCHEDULER_INTERVAL_SECONDS: positiveInt.default(30),
  INDEXER_INTERVAL_SECONDS: positiveInt.default(5),
  UPLOAD_MAX_FILE_MB: positiveInt.max(1024 * 1024).default(2048),
  UPLOAD_MAX_ZIP_RATIO: positiveInt.max(100_000).default(100),
  REMINDER_HOURS_BEFORE: z.coerce
    .number()
    .positive()
    .max(24 * 14)
    .default(24),
  APPOINTMENT_HORIZON_DAYS: positiveInt.max(3660).default(730),

  ENCRYPTION_KEYS: z
    .string()
    .min(1, 'ENCRYPTION_KEYS is required: "keyId:base64-of-32-bytes[,keyId:…]"')
    .transform((v, ctx) => {
      const keys = new Map<string, Buffer>();
      for (const part of v
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        const [id, b64] = part.split(':');
        const key = b64 ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
        if (!id || !/^[A-Za-z0-9_-]{1,32}$/.test(id) || key.length !== 32) {
          ctx.addIssue({ code: 'custom', message: `each entry must be keyId:base64 of exactly 32 bytes (bad entry for "${id ?? ''}")` });
          return z.NEVER;
        }
        keys.set(id, key);
      }
      return keys;
    }),
  ENCRYPTION_ACTIVE_KEY_ID: z.string().min(1).optional(),

  ORTHANC_URL: z.url().default('http://127.0.0.1:8042'),
  // How long Orthanc may keep a call waiting before it is answered 503 (a frozen or overloaded Orthanc).
  ORTHANC_TIMEOUT_SECONDS: positiveInt.max(3600).default(30),
  ORTHANC_USERNAME: z.string().min(1).default('mediconnect'),
  ORTHANC_PASSWORD: z.string().default(''),
  DICOM_HOST: z.string().min(1).default('0.0.0.0'),
  DICOM_PORT: port.default(4242),
  DICOM_AET: z
    .string()
    .trim()
    .min(1)
    .max(16)
    .regex(/^[\x20-\x5b\x5d-\x7e]+$/, 'Printable ASCII without backslash')
    .default('MEDICONNECT'),
  DICOM_GATE_METRICS_PORT: port.optional(),
  DICOM_MAX_ASSOCIATIONS: positiveInt.max(10_000).default(64),
  MINIO_ENDPOINT: z.string().min(1).optional(),
  MINIO_ACCESS_KEY: z.string().min(1).optional(),
  MINIO_SECRET_KEY: z.string().min(1).optional(),
  MINIO_BUCKET_NAME: z.string().min(3).default('medical-images'),
  MINIO_SECURE: booleanFromEnv.default(false),
  MINIO_REGION: z.string().min(1).default('us-east-1'),
  OHIF_VIEWER_URL: z.url().default('http://localhost:3000/viewer'),
  VIEWER_SESSION_TTL_SECONDS: positiveInt.max(24 * 3600).default(3600),
  VIEWER_MAX_SESSIONS: positiveInt.max(100).default(3),
  DICOM_WEB_URL: z.url().default('http://127.0.0.1:8080/dicom-web'),
  DICOM_PROXY_HOST: z.string().min(1).default('127.0.0.1'),
  DICOM_PROXY_PORT: port.default(8080),
  DICOM_PROXY_FRAME_CACHE_MB: z.coerce.number().int().min(0).max(65_536).default(256),
  DICOM_PROXY_FRAME_CACHE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(3600),
  DICOM_PROXY_CORS_ORIGINS: z.string().default('*'),
  API_CORS_ORIGINS: z.string().default(''),
  /** The web console's built files (web/dist), served by the API at `/`; unset: no console. */
  WEB_DIST_DIR: z.string().min(1).optional(),
  METRICS_HOST: z.string().default('127.0.0.1'),
  METRICS_PORT: port.optional(),
  DICOM_PROXY_METRICS_PORT: port.optional(),
  METRICS_ALLOW: z.string().default('127.0.0.1,::1'),
  DICOM_PROXY_INTERNAL_URL: z.url().optional(),
  PRESIGNED_URL_TTL_SECONDS: positiveInt.max(7 * 24 * 3600).default(300),

  SMTP_HOST: z.string().min(1).optional(),
  SMTP_PORT: port.default(587),
  SMTP_SECURE: booleanFromEnv.default(false),
  SMTP_USER: z.string().min(1).optional(),
  SMTP_PASSWORD: z.string().min(1).optional(),
  SMTP_FROM: z.string().min(3).default('MediConnect <no-reply@mediconnect.local>'),
});

export type Env = z.input<typeof envSchema>;

/** Parsed, immutable configuration; built once at process start. */
export interface Config {
  env: 'development' | 'test' | 'production';
  debug: boolean;
  logLevel: string;
  secretKey: string;
  db: { name: string; user: string; password: string; host: string; port: number; poolMax: number };
  /** `/metrics` of the API and the proxy, each on its own port (unset: not served), answered to `allow` only. */
  metrics: { host: string; apiPort: number | null; proxyPort: number | null; allow: string[] };
  /**
   * `corsOrigins`: the browser origins allowed to call the API (empty: same-origin only; never `*` in production).
   * `publicUrl`: the API's address as clients reach it (API_PUBLIC_URL); `dicomWebWadoRoot`: the WADO root
   * written into the DICOMweb answers of the API origin — from configuration, never from a request's Host.
   */
  api: { host: string; port: number; trustProxy: boolean; corsOrigins: string[]; publicUrl: string; dicomWebWadoRoot: string };
  /** The web console the API serves at `/` (its built `dist/`), if any. */
  web: { distDir: string | null };
  superAdminEmail: string;
  auth: {
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    bcryptRounds: number;
    maxFailuresPerAccount: number;
    maxFailuresPerIp: number;
    throttleWindowSeconds: number;
    /** How long a checked principal is reused (0: never); changes drop it at once through NOTIFY. */
    principalCacheSeconds: number;
  };
  scheduler: { enabled: boolean; intervalSeconds: number; indexerIntervalSeconds: number; reminderHoursBefore: number };
  /** How far ahead an appointment may be booked, in days. */
  appointments: { horizonDays: number };
  /** Caps of the DICOM upload: one file (or ZIP entry, uncompressed), and a ZIP entry's compression ratio. */
  upload: { maxFileBytes: number; maxZipRatio: number };
  /** Keys for clinical data at rest; new data uses `activeKeyId`, old data keeps the key it names. */
  encryption: { keys: ReadonlyMap<string, Buffer>; activeKeyId: string };
  orthanc: { url: string; username: string; password: string; timeoutMs: number };
  /** The device gate: the DICOM port devices push to (its AE title), its `/metrics` port (unset: not served), and how many connections it holds at once. */
  gate: { host: string; port: number; aeTitle: string; metricsPort: number | null; maxAssociations: number };
  /** The authorizing DICOMweb proxy: where it listens, and the public base URL clients (OHIF) use. */
  proxy: {
    host: string;
    port: number;
    /** DICOM_WEB_URL as given: the proxy's `/dicom-web`, or the API's `/api/dicom`. */
    publicUrl: string;
    /** The roots clients use for QIDO and WADO under that URL (split under the API's `/api/dicom`). */
    qidoRoot: string;
    wadoRoot: string;
    corsOrigins: string[];
    /** Where the API reaches the proxy to serve `/api/dicom/qido` and `/api/dicom/wado`. */
    internalUrl: string;
    /** Frames, rendered images and thumbnails of recently read instances kept in memory: bytes (0: none) and longest stay. */
    frameCache: { maxBytes: number; ttlSeconds: number };
  };
  /** Viewer sessions: where OHIF lives, how long a session lasts, how many one user may hold at once. */
  viewer: { url: string; ttlSeconds: number; maxSessions: number };
  /** Null when images are stored in a local directory rather than S3/MinIO. */
  s3: {
    endpoint: string;
    accessKey: string;
    secretKey: string;
    bucket: string;
    secure: boolean;
    region: string;
    presignTtlSeconds: number;
  } | null;
  /** Null when no SMTP server is configured: notifications then stay in the API only. */
  smtp: { host: string; port: number; secure: boolean; user: string | null; password: string | null; from: string } | null;
}

/** Thrown when the environment does not describe a valid configuration. */
export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** What migrations and the seed need: the database, the super admin's e-mail, the hashing cost. */
export interface DatabaseConfig {
  db: Config['db'];
  superAdminEmail: string;
  bcryptRounds: number;
}

const dbEnvSchema = envSchema.pick({
  DB_NAME: true,
  DB_USER: true,
  DB_PASSWORD: true,
  DB_HOST: true,
  DB_PORT: true,
  DB_POOL_MAX: true,
  SUPERADMIN_EMAIL: true,
  BCRYPT_ROUNDS: true,
});

/** Parses only the database part of the environment, for `npm run db:migrate` / `db:seed` (no secrets needed). */
export function loadDatabaseConfig(env: Record<string, string | undefined> = process.env): DatabaseConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = dbEnvSchema.safeParse(cleaned);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const e = parsed.data;
  return {
    db: { name: e.DB_NAME, user: e.DB_USER, password: e.DB_PASSWORD, host: e.DB_HOST, port: e.DB_PORT, poolMax: e.DB_POOL_MAX },
    superAdminEmail: e.SUPERADMIN_EMAIL.toLowerCase(),
    bcryptRounds: e.BCRYPT_ROUNDS,
  };
}

/**
 * The QIDO and WADO roots under a public DICOMweb URL: one root for the proxy's `/dicom-web`, and
 * `…/qido` and `…/wado` when the URL is the API's `/api/dicom`.
 */
export function dicomWebRoots(url: string): { qidoRoot: string; wadoRoot: string } {
  const base = url.replace(/\/$/, '');
  return /\/api\/dicom$/.test(base) ? { qidoRoot: `${base}/qido`, wadoRoot: `${base}/wado` } : { qidoRoot: base, wadoRoot: base };
}

/**
 * The API's public address (API_PUBLIC_URL, else its own host and port, a wildcard host read as loopback)
 * and the WADO root of its DICOMweb endpoints: DICOM_WEB_URL's when that names the API's `/api/dicom`.
 */
function apiUrls(
  host: string,
  port: number,
  publicUrl: string | undefined,
  dicomWebUrl: string,
  rest: { trustProxy: boolean; corsOrigins: string[] },
): Config['api'] {
  const own = `http://${['0.0.0.0', '::'].includes(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${port}`;
  const base = (publicUrl ?? own).replace(/\/$/, '');
  const dicomWeb = dicomWebUrl.replace(/\/$/, '');
  return {
    host,
    port,
    ...rest,
    publicUrl: base,
    dicomWebWadoRoot: /\/api\/dicom$/.test(dicomWeb) ? dicomWebRoots(dicomWeb).wadoRoot : `${base}/api/dicom/wado`,
  };
}

/** A comma-separated list of origins, trimmed, without trailing slashes. */
const origins = (list: string) =>
  list
    .split(',')
    .map((o) => o.trim().replace(/\/$/, ''))
    .filter(Boolean);

/** Parses an `ENCRYPTION_KEYS` value on its own (the restore command checks a backup's keys with it). */
export function parseEncryptionKeys(value: string): ReadonlyMap<string, Buffer> {
  const parsed = envSchema.shape.ENCRYPTION_KEYS.safeParse(value);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `ENCRYPTION_KEYS: ${i.message}`));
  return parsed.data;
}

/** Parses the environment once; throws ConfigError listing every invalid variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings in .env files mean "not set", so the defaults apply.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const activeKeyId = e.ENCRYPTION_ACTIVE_KEY_ID ?? [...e.ENCRYPTION_KEYS.keys()].at(-1)!;
  if (e.MINIO_ENDPOINT && (!e.MINIO_ACCESS_KEY || !e.MINIO_SECRET_KEY)) {
    throw new ConfigError(['MINIO_ACCESS_KEY, MINIO_SECRET_KEY: required when MINIO_ENDPOINT is set']);
  }
  if (!e.ENCRYPTION_KEYS.has(activeKeyId)) throw new ConfigError([`ENCRYPTION_ACTIVE_KEY_ID: no key "${activeKeyId}" in ENCRYPTION_KEYS`]);
  // The API answers with patient data to whoever holds a token: any origin may not script it in production.
  if (e.NODE_ENV === 'production' && origins(e.API_CORS_ORIGINS).includes('*')) {
    throw new ConfigError(['API_CORS_ORIGINS: `*` is refused in production; list the frontend origins']);
  }
  return Object.freeze({
    env: e.NODE_ENV,
    debug: e.DEBUG,
    logLevel: e.LOG_LEVEL ?? (e.DEBUG ? 'debug' : 'info'),
    secretKey: e.SECRET_KEY,
    db: { name: e.DB_NAME, user: e.DB_USER, password: e.DB_PASSWORD, host: e.DB_HOST, port: e.DB_PORT, poolMax: e.DB_POOL_MAX },
    api: apiUrls(e.API_HOST, e.API_PORT, e.API_PUBLIC_URL, e.DICOM_WEB_URL, {
      trustProxy: e.TRUST_PROXY,
      corsOrigins: origins(e.API_CORS_ORIGINS),
    }),
    web: { distDir: e.WEB_DIST_DIR ?? null },
    metrics: {
      host: e.METRICS_HOST,
      apiPort: e.METRICS_PORT ?? null,
      proxyPort: e.DICOM_PROXY_METRICS_PORT ?? null,
      allow: origins(e.METRICS_ALLOW),
    },
    superAdminEmail: e.SUPERADMIN_EMAIL.toLowerCase(),
    auth: {
      accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
      bcryptRounds: e.BCRYPT_ROUNDS,
      maxFailuresPerAccount: e.LOGIN_MAX_FAILURES_PER_ACCOUNT,
      maxFailuresPerIp: e.LOGIN_MAX_FAILURES_PER_IP,
      throttleWindowSeconds: e.LOGIN_THROTTLE_WINDOW_SECONDS,
      principalCacheSeconds: e.PRINCIPAL_CACHE_SECONDS,
    },
    scheduler: {
      enabled: e.SCHEDULER_ENABLED,
      intervalSeconds: e.SCHEDULER_INTERVAL_SECONDS,
      indexerIntervalSeconds: e.INDEXER_INTERVAL_SECONDS,
      reminderHoursBefore: e.REMINDER_HOURS_BEFORE,
    },
    appointments: { horizonDays: e.APPOINTMENT_HORIZON_DAYS },
    encryption: { keys: e.ENCRYPTION_KEYS, activeKeyId },
    upload: { maxFileBytes: e.UPLOAD_MAX_FILE_MB * 1024 * 1024, maxZipRatio: e.UPLOAD_MAX_ZIP_RATIO },
    proxy: {
      host: e.DICOM_PROXY_HOST,
      port: e.DICOM_PROXY_PORT,
      publicUrl: e.DICOM_WEB_URL.replace(/\/$/, ''),
      ...dicomWebRoots(e.DICOM_WEB_URL),
      internalUrl: (
        e.DICOM_PROXY_INTERNAL_URL ??
        `http://${['0.0.0.0', '::'].includes(e.DICOM_PROXY_HOST) ? '127.0.0.1' : e.DICOM_PROXY_HOST}:${e.DICOM_PROXY_PORT}`
      ).replace(/\/$/, ''),
      corsOrigins: origins(e.DICOM_PROXY_CORS_ORIGINS),
      frameCache: { maxBytes: e.DICOM_PROXY_FRAME_CACHE_MB * 1024 * 1024, ttlSeconds: e.DICOM_PROXY_FRAME_CACHE_SECONDS },
    },
    viewer: { url: e.OHIF_VIEWER_URL, ttlSeconds: e.VIEWER_SESSION_TTL_SECONDS, maxSessions: e.VIEWER_MAX_SESSIONS },
    orthanc: {
      url: e.ORTHANC_URL.replace(/\/$/, ''),
      username: e.ORTHANC_USERNAME,
      password: e.ORTHANC_PASSWORD,
      timeoutMs: e.ORTHANC_TIMEOUT_SECONDS * 1000,
    },
    gate: {
      host: e.DICOM_HOST,
      port: e.DICOM_PORT,
      aeTitle: e.DICOM_AET,
      metricsPort: e.DICOM_GATE_METRICS_PORT ?? null,
      maxAssociations: e.DICOM_MAX_ASSOCIATIONS,
    },
    s3: e.MINIO_ENDPOINT
      ? {
          endpoint: e.MINIO_ENDPOINT,
          accessKey: e.MINIO_ACCESS_KEY ?? '',
          secretKey: e.MINIO_SECRET_KEY ?? '',
          bucket: e.MINIO_BUCKET_NAME,
          secure: e.MINIO_SECURE,
          region: e.MINIO_REGION,
          presignTtlSeconds: e.PRESIGNED_URL_TTL_SECONDS,
        }
      : null,
    smtp: e.SMTP_HOST
      ? {
          host: e.SMTP_HOST,
          port: e.SMTP_PORT,
          secure: e.SMTP_SECURE,
          user: e.SMTP_USER ?? null,
          password: e.SMTP_PASSWORD ?? null,
          from: e.SMTP_FROM,
        }
      : null,
  });
}
