import { z } from 'zod';
import { idParams } from '../http/fields.js';
import type { Deps } from '../deps.js';
import { errorSchema } from '../http/error-schema.js';
import { pageSchema } from '../http/pagination.js';
import { replaceAndUpdate, route, type AnyRoute } from '../http/route.js';
import { detail, toLinkDto, toPatientDto } from './presenter.js';
import {
  addLinkBody,
  linkSchema,
  patientCreateBody,
  patientDetailSchema,
  patientListQuery,
  patientPatchBody,
  patientPutBody,
  patientSchema,
} from './schemas.js';
import { createPatientService } from './service.js';
import type { Representation } from '../http/representation.js';

const tag = 'Patients';

/** Patients: created by secretaries, linked to doctors; each role sees the patients in its scope. */
export function patientRoutes(deps: Deps): AnyRoute[] {
  const service = createPatientService(deps);
  const patient: Representation = {};
  const item = '/api/patients/{id}';
  return [
    route({
      method: 'get',
      path: '/api/patients',
      operationId: 'listPatients',
      summary: 'List patients in scope (doctor: linked; secretary: linked to its hospital’s doctors; patient: itself)',
      tag,
      auth: 'user',
      action: 'patient.list',
      query: patientListQuery,
      responses: { 200: { description: 'A page of patients', schema: pageSchema(patientSchema) } },
      handler: async ({ auth, query }) => {
        const page = await service.list(auth, query);
        return { body: { ...page, items: page.items.map(toPatientDto) } };
      },
    }),
    route({
      method: 'post',
      path: '/api/patients',
      operationId: 'createPatient',
      summary: 'Create a patient linked to one or more doctors of your hospital (password: `mediconnect`)',
      tag,
      auth: 'user',
      action: 'patient.create',
      forbiddenFields: ['identifier', 'role', 'hospitalId'],
      body: patientCreateBody,
      responses: {
        201: { description: 'Created', schema: patientDetailSchema },
        409: {
          description: 'E-mail already used (`EMAIL_ALREADY_EXISTS`), or a probable duplicate (`POSSIBLE_DUPLICATE`, naming it)',
          schema: errorSchema,
        },
      },
      handler: async ({ auth, body, meta }) => ({ status: 201, body: detail(await service.create(auth, body, meta)) }),
    }),
    route({
      method: 'get',
      path: item,
      operationId: 'getPatient',
      summary: 'Read a patient with its doctor links',
      tag,
      auth: 'user',
      action: 'patient.read',
      params: idParams,
      responses: { 200: { description: 'The patient', schema: patientDetailSchema } },
      representation: patient,
      handler: async ({ auth, params }) => ({ body: detail(await service.get(auth, params.id)) }),
    }),
    ...replaceAndUpdate(
      {
        path: item,
        tag,
        auth: 'user',
        action: 'patient.update',
        forbiddenFields: ['identifier', 'role', 'hospitalId', 'doctorIds'],
        params: idParams,
        representation: patient,
        responses: {
          200: { description: 'Updated', schema: patientDetailSchema },
          409: { description: 'E-mail already used', schema: errorSchema },
        },
        handler: async ({ auth, params, write, meta }) => ({ body: detail(await service.update(auth, params.id, write, meta)) }),
      },
      { operationId: 'replacePatient', summary: 'Replace a patient’s demographics (secretary)', body: patientPutBody },
      {
        operationId: 'updatePatient',
        summary: 'Update a patient’s demographics; `{"isActive": false|true}` deactivates or reactivates it (secretary)',
        body: patientPatchBody,
      },
    ),
    route({
      method: 'delete',
      path: item,
      operationId: 'deactivatePatient',
      summary: 'Deactivate a patient’s account (secretary); its medical data is never destroyed',
      tag,
      auth: 'user',
      action: 'patient.delete',
      params: idParams,
      responses: { 204: { description: 'Deactivated' } },
      handler: async ({ auth, params, meta }) => {
        await service.deactivate(auth, params.id, meta);
        return { status: 204 };
      },
    }),
    route({
      method: 'get',
      path: `${item}/doctors`,
      operationId: 'listPatientDoctors',
      summary: 'The doctors linked to a patient',
      tag,
      auth: 'user',
      action: 'patient.read',
      params: idParams,
      responses: { 200: { description: 'Links', schema: z.object({ items: z.array(linkSchema) }) } },
      handler: async ({ auth, params }) => ({ body: { items: (await service.links(auth, params.id)).map(toLinkDto) } }),
    }),
    route({
      method: 'post',
      path: `${item}/doctors`,
      operationId: 'linkPatientDoctor',
      summary: 'Link a patient in scope to a doctor of your hospital (secretary); idempotent',
      tag,
      auth: 'user',
      action: 'patient.link',
      params: idParams,
      body: addLinkBody,
      responses: {
        201: { description: 'Linked', schema: z.object({ items: z.array(linkSchema) }) },
        200: { description: 'Already linked', schema: z.object({ items: z.array(linkSchema) }) },
      },
      handler: async ({ auth, params, body, meta }) => {
        const { created, links } = await service.addLink(auth, params.id, body.doctorId, meta);
        return { status: created ? 201 : 200, body: { items: links.map(toLinkDto) } };
      },
    }),
    route({
      method: 'delete',
      path: `${item}/doctors/{doctorId}`,
      operationId: 'unlinkPatientDoctor',
      summary: 'Remove a doctor’s link to a patient (secretary of that doctor’s hospital)',
      description:
        'Effective at once everywhere: the doctor’s next request for the patient’s record and images (API and DICOMweb proxy) answers 404, ' +
        'its viewer sessions and share links on the patient’s studies end. 409 `LAST_DOCTOR` when it would leave the patient without a doctor. ' +
        'Audited; the patient and the doctor are notified.',
      tag,
      auth: 'user',
      action: 'patient.link',
      params: z.object({ id: z.uuid(), doctorId: z.uuid() }),
      responses: {
        200: { description: 'The remaining links you may see', schema: z.object({ items: z.array(linkSchema) }) },
        409: { description: 'The patient’s last doctor', schema: errorSchema },
      },
      handler: async ({ auth, params, meta }) => ({
        body: { items: (await service.removeLink(auth, params.id, params.doctorId, meta)).map(toLinkDto) },
      }),
    }),
  ];
}
