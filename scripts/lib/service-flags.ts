/**
 * V8 flags of the long-running services (API, DICOMweb proxy, viewer). The young generation's semi-space is the
 * trade-off between memory and garbage collection: V8's default (16 MB here) lets a streaming upload's API reach
 * 195–200 MB peak RSS (issue 8: < 200 MB), 12 MB 197 MB, 8 MB 149–164 MB, 4 MB 144 MB (`npm run bench:upload`);
 * the list reads of `npm run bench:api` spend 10–20% of their time collecting at 4 MB, and do 10–25% more
 * requests per second at 8 MB. The Dockerfile sets the same through NODE_OPTIONS (checked by a test).
 */
export const SERVICE_NODE_FLAGS = ['--max-semi-space-size=8'];
