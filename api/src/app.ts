import Koa from 'koa';
import Router from '@koa/router';
import { koaBody } from 'koa-body';
import { hospitalAdminRoutes } from './hospital-admins/routes.js';
import { authRoutes } from './auth/routes.js';
import { createAuthenticator } from './auth/authenticate.js';
import type { Deps } from './deps.js';
import { openApiRoutes, swaggerUiRouter } from './docs/routes.js';
import { doctorRoutes } from './doctors/routes.js';
import { healthRoutes, type Lifecycle } from './health/routes.js';
import { hospitalRoutes } from './hospitals/routes.js';
import { errorMiddleware } from '../../common/http/error-middleware.js';
import { refuseNul } from '../../common/http/refuse-nul.js';
import { httpMetrics } from '../../common/metrics.js';
import { buildOpenApi } from './openapi/document.js';
import { requestContext } from '../../common/http/request-context.js';
import { liveness } from '../../common/http/liveness.js';
import { securityHeaders } from '../../common/http/security-headers.js';
import { apiCors } from '../../common/http/cors.js';
import { mountRoutes, type AnyRoute } from './http/route.js';
import { patientRoutes } from './patients/routes.js';
import { appointmentRoutes } from './appointments/routes.js';
import { availabilityRoutes } from './availability/routes.js';
import { notificationRoutes } from './notifications/routes.js';
import { medicalRecordRoutes } from './medical-records/routes.js';
import { dicomRoutes } from './dicom/routes.js';
import { intakeRoutes } from './intake/routes.js';
import { reportRoutes } from './reports/routes.js';
import { objectLinkRoutes } from './object-links/routes.js';
import { viewerSessionRoutes } from './viewer-sessions/routes.js';
import { shareRoutes } from './shares/routes.js';
import { keyImageRoutes } from './key-images/routes.js';
import { dicomWebGateway } from './dicomweb/gateway.js';
import { principalBarrier } from '../../common/principal-cache.js';
import { dicomWebDocs } from './dicomweb/routes.js';
import { secretaryRoutes } from './secretaries/routes.js';
import { modalityRoutes } from './modalities/routes.js';
import { webConsole } from './web/console.js';

/** Every route of the API, in the order they are matched and documented; `openapi` is read lazily by its own route. */
export function apiRoutes(deps: Deps, lifecycle: Lifecycle, openapi: () => object): AnyRoute[] {
  return [
    ...healthRoutes(deps, lifecycle),
    ...authRoutes(deps),
    ...hospitalRoutes(deps),
    ...hospitalAdminRoutes(deps),
    ...doctorRoutes(deps),
    ...secretaryRoutes(deps),
    ...patientRoutes(deps),
    ...availabilityRoutes(deps),
    ...appointmentRoutes(deps),
    ...notificationRoutes(deps),
    ...medicalRecordRoutes(deps),
    // Before the study routes: `/api/dicom/studies/upload_dicom` is listed ahead of `/api/dicom/studies/{id}`.
    ...intakeRoutes(deps),
    ...dicomRoutes(deps),
    ...reportRoutes(deps),
    ...objectLinkRoutes(deps),
    ...viewerSessionRoutes(deps),
    ...shareRoutes(deps),
    ...keyImageRoutes(deps),
    ...modalityRoutes(deps),
    ...openApiRoutes(openapi),
  ];
}

/** The OpenAPI document of the API's routes (and the DICOMweb paths it forwards). */
export function apiDocument(routes: AnyRoute[]): object {
  return buildOpenApi([...routes, ...dicomWebDocs()], {
    title: 'MediConnect clinical API',
    version: '0.1.0',
    description: 'Hospitals, accounts and roles, patients, appointments, medical records and the DICOM study index.',
  });
}

/** Builds the Koa application: error handling first, then request context, body parsing and the resource routers. */
export function createApp(deps: Deps, lifecycle: Lifecycle = { shuttingDown: false }): Koa {
  const app = new Koa({ proxy: deps.config.api.trustProxy });
  const routes = apiRoutes(deps, lifecycle, () => openapi);
  const router = new Router();
  mountRoutes(router, routes, createAuthenticator(deps.principals, deps.config.secretKey));
  const openapi = apiDocument(routes);

  // Errors Koa sees outside the middleware chain (client aborts, socket errors): log, never print.
  app.on('error', (err: Error) => deps.logger.warn({ err: err.message }, 'request stream error'));
  app.use(liveness());
  // Outermost (after liveness): it sees the status the error middleware answered.
  app.use(
    httpMetrics(
      deps.metrics,
      'api',
      (ctx) =>
        (ctx as { _matchedRoute?: string })._matchedRoute ?? (ctx.path.startsWith('/api/dicom/') ? '/api/dicom/{dicomweb}' : 'unmatched'),
    ),
  );
  app.use(async (_ctx, next) => {
    lifecycle.inFlight = (lifecycle.inFlight ?? 0) + 1;
    try {
      await next();
    } finally {
      lifecycle.inFlight--;
    }
  });
  // The access log sits outside the error middleware, so that its line records the status the client got.
  app.use(requestContext(deps.logger));
  app.use(errorMiddleware());
  app.use(securityHeaders());
  // A request that ends a session or changes an account answers only once this process's cache heard of it.
  app.use(principalBarrier(deps.principals));
  // The DICOMweb gateway answers its own CORS (DICOM_PROXY_CORS_ORIGINS, as the proxy); the API after it, API_CORS_ORIGINS.
  app.use(dicomWebGateway(deps));
  app.use(apiCors(deps.config.api.corsOrigins));
  app.use(koaBody({ json: true, urlencoded: false, text: false, multipart: false, jsonLimit: '1mb', jsonStrict: true }));
  app.use(refuseNul());
  // Outside the routers: it answers only what they left unanswered (GET/HEAD outside /api and the health endpoints).
  if (deps.config.web.distDir) app.use(webConsole(deps.config.web.distDir));
  app.use(swaggerUiRouter().routes());
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: false }));
  return app;
}
