import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run dev:web` serves the console with hot reload and sends /api and the health endpoints to the running API
// (MEDICONNECT_API_URL, default npm start's http://127.0.0.1:8000): the console is same-origin in both modes.
const api = process.env.MEDICONNECT_API_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1500 },
  server: { proxy: { '/api': api, '/healthz': api, '/readyz': api } },
});
