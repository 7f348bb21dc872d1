/**
 * V8 flags of the long-running services (API, DICOMweb proxy, viewer). A 4 MB young generation keeps a
 * streaming upload's API at about 145 MB peak RSS instead of 200 MB, at no measured throughput cost
 * (`npm run bench:upload`). The Dockerfile sets the same through NODE_OPTIONS (checked by a test).
 */
export const SERVICE_NODE_FLAGS = ['--max-semi-space-size=4'];
