import { expect } from 'chai';
import { ApiClient } from './helpers/client.js';
import { sharedApi, startTestApi } from './helpers/server.js';

describe('health, documentation and error shape', () => {
  let api: ApiClient;
  before(async () => {
    api = new ApiClient((await sharedApi()).url);
  });

  it('GET /healthz answers ok', async () => {
    const res = await api.get('/healthz');
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ status: 'ok' });
  });

  it('GET /readyz checks the database', async () => {
    const res = await api.get('/readyz');
    expect(res.status).to.equal(200);
    expect(res.body.checks).to.deep.equal({ database: 'ok', orthanc: 'ok', dicomProxy: 'ok' });
  });

  it('GET /readyz answers 503 when the database is unreachable', async () => {
    const broken = await startTestApi({ DB_PORT: '1', LOG_LEVEL: 'silent' });
    try {
      const res = await new ApiClient(broken.url).get('/readyz');
      expect(res.status).to.equal(503);
      expect(res.body.error.code).to.equal('SERVICE_UNAVAILABLE');
    } finally {
      await broken.stop();
    }
  });

  it('serves an OpenAPI 3.1 document listing every route', async () => {
    const res = await api.get('/api/openapi.json');
    expect(res.status).to.equal(200);
    expect(res.body.openapi).to.equal('3.1.0');
    for (const path of [
      '/api/auth/login',
      '/api/auth/refresh',
      '/api/auth/logout',
      '/api/auth/me',
      '/api/auth/change-password',
      '/api/hospitals',
      '/api/hospitals/{id}',
      '/api/hospital-admins',
      '/api/hospital-admins/{id}',
      '/api/doctors',
      '/api/doctors/{id}',
      '/api/secretaries',
      '/api/secretaries/{id}',
      '/healthz',
      '/readyz',
    ]) {
      expect(res.body.paths, path).to.have.property(path);
    }
    expect(res.body.paths['/api/hospitals'].post.requestBody.content['application/json'].schema.required).to.include('name');
    // Named resources a generated client turns into types, referenced where they are answered.
    const schemas = res.body.components.schemas as Record<string, unknown>;
    for (const name of [
      'Error',
      'Hospital',
      'Patient',
      'PatientDetail',
      'PatientDoctorLink',
      'Appointment',
      'MedicalRecordEntry',
      'Study',
      'Series',
      'Modality',
      'User',
      'Tokens',
    ]) {
      expect(schemas, name).to.have.property(name);
    }
    expect(res.body.paths['/api/patients/{id}'].get.responses['200'].content['application/json'].schema).to.deep.equal({
      $ref: '#/components/schemas/PatientDetail',
    });
    const text = JSON.stringify(res.body);
    expect(text).to.not.include('"#/$defs/');
    for (const [, ref] of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g))
      expect(schemas, `$ref ${ref}`).to.have.property(ref!);
    // Versions: ETag on reads, If-Match on writes.
    expect(res.body.paths['/api/patients/{id}'].get.responses['200'].headers).to.have.property('ETag');
    expect(res.body.paths['/api/patients/{id}'].patch.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).to.include(
      'header:If-Match',
    );
    expect(res.body.paths['/api/patients/{id}'].patch.responses).to.have.property('412');
  });

  it('serves Swagger UI with its assets', async () => {
    const page = await fetch(`${api.baseUrl}/api/docs`);
    expect(page.status).to.equal(200);
    expect(await page.text()).to.include('swagger-ui-bundle.js');
    const bundle = await fetch(`${api.baseUrl}/api/docs/swagger-ui-bundle.js`);
    expect(bundle.status).to.equal(200);
    expect(Number(bundle.headers.get('content-length') ?? (await bundle.arrayBuffer()).byteLength)).to.be.greaterThan(1000);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await api.get('/api/does-not-exist');
    expect(res.status).to.equal(404);
    expect(res.body.error).to.include({ code: 'NOT_FOUND' });
  });

  it('answers malformed JSON with 400 INVALID_JSON', async () => {
    const res = await api.post('/api/auth/login', { rawBody: '{"email": ' });
    expect(res.status).to.equal(400);
    expect(res.body.error.code).to.equal('INVALID_JSON');
  });

  it('echoes a sane X-Request-Id and generates one otherwise', async () => {
    const mine = await api.get('/readyz', { headers: { 'x-request-id': 'client-request-0001' } });
    expect(mine.headers.get('x-request-id')).to.equal('client-request-0001');
    const generated = await api.get('/readyz', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(generated.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
  });
});
