import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ApiClient } from './helpers/client.js';
import { testDb } from './helpers/db.js';
import { fixtures, randomEmail, type Fixtures, type HospitalWithStaff } from './helpers/fixtures.js';
import { sharedDicomProxy } from './helpers/server.js';

describe('input at the edge: a NUL character is refused as 400 on every door, never a 500', () => {
  let f: Fixtures;
  let api: ApiClient;
  let h: HospitalWithStaff;
  before(async () => {
    f = await fixtures();
    api = f.api;
    h = await f.hospitalWithStaff();
  });

  it('in a JSON field, a query parameter or a path segment of the API: 400 INVALID_CHARACTER naming where, nothing written', async () => {
    const lastName = `Nul${randomUUID().slice(0, 6)}`;
    const created = await api.post('/api/patients', {
      token: h.secretary.token,
      body: { email: randomEmail('nul'), firstName: 'A\u0000B', lastName, birthDate: '1970-01-01', sex: 'female', doctorIds: [h.doctor.id] },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(400);
    expect(created.body.error.code).to.equal('INVALID_CHARACTER');
    expect(created.body.error.details.map((d: { field: string }) => d.field)).to.deep.equal(['firstName']);
    expect(await testDb()('users').where({ last_name: lastName }).first()).to.equal(undefined);
    for (const path of ['/api/patients?q=%00', '/api/patients?q=a%00b', '/api/patients/%00', '/api/appointments?status=%00']) {
      const res = await api.get(path, { token: h.secretary.token });
      expect(res.status, path).to.equal(400);
      expect(res.body.error.code, path).to.equal('INVALID_CHARACTER');
    }
    const nested = await api.put(`/api/doctors/${h.doctor.id}/availability`, { token: h.doctor.token, body: { timezone: 'Europe/Paris', weekly: [], exceptions: [{ date: '2030-01-01', reason: 'x\u0000' }] } });
    expect(nested.status).to.equal(400);
    expect(nested.body.error.details.map((d: { field: string }) => d.field)).to.deep.equal(['exceptions.0.reason']);
  });

  it('in a DICOMweb query of the proxy: 400', async () => {
    const proxy = await sharedDicomProxy();
    const res = await fetch(`${proxy.url}/dicom-web/studies?PatientName=%00`, { headers: { authorization: `Bearer ${h.doctor.token}` } });
    expect(res.status).to.equal(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).to.equal('INVALID_CHARACTER');
  });
});
