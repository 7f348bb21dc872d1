import { closeTestDb } from './helpers/db.js';
import { runAfterTest, stopAllStarted } from './helpers/processes.js';
import { stopSharedApi } from './helpers/server.js';

/** Root hooks: stop what each test registered, what the helpers started lazily, and any process group left running. */
export const mochaHooks = {
  async afterEach(): Promise<void> {
    await runAfterTest();
  },
  async afterAll(): Promise<void> {
    try {
      await stopAllStarted();
    } finally {
      await stopSharedApi();
      await closeTestDb();
    }
  },
};
