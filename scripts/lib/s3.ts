import { mkdirSync } from 'node:fs';
import S3rver from 's3rver';
import type { ServiceDefinition } from './stack.js';

/**
 * An S3-protocol server from npm (s3rver) for tests. It does not check signatures: never rely on it
 * for authentication behaviour. Production uses MinIO or S3 (docker-compose.yml).
 */
export function s3Service(o: { directory: string; port: number; bucket: string }): ServiceDefinition {
  return {
    name: 's3',
    requirements: [],
    async start() {
      mkdirSync(o.directory, { recursive: true });
      const server = new S3rver({
        address: '127.0.0.1',
        port: o.port,
        directory: o.directory,
        silent: true,
        configureBuckets: [{ name: o.bucket }],
      });
      await server.run();
      return {
        name: 's3',
        env: {
          MINIO_ENDPOINT: `127.0.0.1:${o.port}`,
          MINIO_ACCESS_KEY: 'S3RVER',
          MINIO_SECRET_KEY: 'S3RVER',
          MINIO_BUCKET_NAME: o.bucket,
          MINIO_SECURE: 'false',
        },
        stop: () => server.close(),
      };
    },
  };
}
