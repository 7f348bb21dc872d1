# Production image of the clinical API (Node 24 LTS). Built TypeScript only; no dev dependencies.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY api ./api
COPY common ./common
COPY db ./db
COPY dicom-proxy ./dicom-proxy
COPY dicom-gate ./dicom-gate
COPY scripts ./scripts
RUN npm run build
# The web console (web/ → web/dist), served by the API at /.
COPY web ./web
RUN npm run build:web
# The built OHIF Viewer (npm @ohif/app dist/), served by the viewer service.
RUN node --import tsx -e "import('./scripts/lib/ohif.ts').then((m) => m.ensureOhifDist())"

FROM node:24-slim
ENV NODE_ENV=production API_HOST=0.0.0.0
# The services' V8 flags (scripts/lib/service-flags.ts): a small young generation bounds memory while streaming.
ENV NODE_OPTIONS=--max-semi-space-size=8
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
COPY --from=build /app/node_modules/.cache/mediconnect-ohif ./ohif
COPY --from=build /app/web/dist ./web
ENV WEB_DIST_DIR=/app/web
USER node
EXPOSE 8000 4242
# Migrations take a lock, so several replicas starting together apply them once.
CMD ["sh", "-c", "node dist/scripts/db.js seed && exec node dist/api/src/server.js"]
