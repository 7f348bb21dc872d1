import { closeTestDb } from './helpers/db.js';
import { stopSharedApi } from './helpers/server.js';

/** Root hooks: stop what the helpers started lazily. */
export const mochaHooks = {
  async afterAll(): Promise<void> {
    await stopSharedApi();
    await closeTestDb();
  },
};
