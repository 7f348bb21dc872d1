import { idParams } from '../http/fields.js';
import type { Deps } from '../deps.js';
import { errorSchema } from '../http/error-schema.js';
import { pageSchema } from '../http/pagination.js';
import { route, type AnyRoute, type ResponseSpec } from '../http/route.js';
import { toAppointmentDto } from './repository.js';
import {
  appointmentCreateBody,
  appointmentListQuery,
  appointmentPutBody,
  appointmentSchema,
  cancelBody,
  rescheduleBody,
} from './schemas.js';
import { createAppointmentService } from './service.js';
import type { Representation } from '../http/representation.js';

const tag = 'Appointments';
const item = '/api/appointments/{id}';
const ok: Record<number, ResponseSpec> = {
  200: { description: 'The appointment', schema: appointmentSchema },
  409: { description: 'Not possible in the current status, outside availability, or the slot is taken', schema: errorSchema },
};

/** Appointment requests, validation (which links patient and doctor), cancellation, rescheduling and closing. */
export function appointmentRoutes(deps: Deps): AnyRoute[] {
  const service = createAppointmentService(deps);
  const appointment: Representation = {};
  return [
    route({
      method: 'get',
      path: '/api/appointments',
      operationId: 'listAppointments',
      summary: 'Appointments in scope (patient: own; doctor: own with linked patients; secretary: its hospital’s)',
      tag,
      auth: 'user',
      action: 'appointment.list',
      query: appointmentListQuery,
      responses: { 200: { description: 'A page of appointments', schema: pageSchema(appointmentSchema) } },
      handler: async ({ auth, query }) => {
        const page = await service.list(auth, query);
        return { body: { ...page, items: page.items.map(toAppointmentDto) } };
      },
    }),
    route({
      method: 'post',
      path: '/api/appointments',
      operationId: 'requestAppointment',
      summary: 'Request an appointment with any doctor (patient) → status `requested`',
      tag,
      auth: 'user',
      action: 'appointment.create',
      forbiddenFields: ['patientId', 'status'],
      body: appointmentCreateBody,
      responses: { 201: { description: 'Requested', schema: appointmentSchema }, 409: ok[409]! },
      handler: async ({ auth, body, meta }) => ({ status: 201, body: toAppointmentDto(await service.request(auth, body, meta)) }),
    }),
    route({
      method: 'get',
      path: item,
      operationId: 'getAppointment',
      summary: 'Read an appointment',
      tag,
      auth: 'user',
      action: 'appointment.read',
      params: idParams,
      responses: { 200: ok[200]! },
      representation: appointment,
      handler: async ({ auth, params }) => ({ body: toAppointmentDto(await service.get(auth, params.id)) }),
    }),
    route({
      method: 'put',
      path: item,
      operationId: 'updateAppointment',
      summary: 'Move an appointment and change its reason (rescheduling rules apply)',
      tag,
      auth: 'user',
      action: 'appointment.reschedule',
      forbiddenFields: ['doctorId', 'patientId', 'status'],
      params: idParams,
      representation: appointment,
      body: appointmentPutBody,
      responses: ok,
      handler: async ({ auth, params, write, meta }) => ({
        body: toAppointmentDto(await service.reschedule(auth, params.id, write, meta)),
      }),
    }),
    route({
      method: 'delete',
      path: item,
      operationId: 'cancelAppointmentByDelete',
      summary: 'Cancel an appointment (same rules as /cancel); it is kept with status `cancelled`',
      tag,
      auth: 'user',
      action: 'appointment.cancel',
      params: idParams,
      responses: { 204: { description: 'Cancelled' }, 409: ok[409]! },
      handler: async ({ auth, params, meta }) => {
        await service.cancel(auth, params.id, 'Cancelled', meta);
        return { status: 204 };
      },
    }),
    route({
      method: 'post',
      path: `${item}/validate`,
      operationId: 'validateAppointment',
      summary: 'Validate a requested appointment (secretary of the doctor’s hospital); links the patient to the doctor',
      tag,
      auth: 'user',
      action: 'appointment.validate',
      params: idParams,
      responses: ok,
      handler: async ({ auth, params, meta }) => ({ body: toAppointmentDto(await service.validate(auth, params.id, meta)) }),
    }),
    route({
      method: 'post',
      path: `${item}/cancel`,
      operationId: 'cancelAppointment',
      summary: 'Cancel, with an optional reason (secretary of the hospital, or the patient for its own)',
      tag,
      auth: 'user',
      action: 'appointment.cancel',
      params: idParams,
      body: cancelBody,
      responses: ok,
      handler: async ({ auth, params, body, meta }) => ({
        body: toAppointmentDto(await service.cancel(auth, params.id, body.reason ?? null, meta)),
      }),
    }),
    route({
      method: 'post',
      path: `${item}/reschedule`,
      operationId: 'rescheduleAppointment',
      summary: 'Move an appointment (patient while requested; secretary any time before it starts)',
      tag,
      auth: 'user',
      action: 'appointment.reschedule',
      params: idParams,
      body: rescheduleBody,
      responses: ok,
      handler: async ({ auth, params, write, meta }) => ({
        body: toAppointmentDto(await service.reschedule(auth, params.id, write, meta)),
      }),
    }),
    route({
      method: 'post',
      path: `${item}/complete`,
      operationId: 'completeAppointment',
      summary: 'Mark a started validated appointment as completed (doctor or secretary)',
      tag,
      auth: 'user',
      action: 'appointment.complete',
      params: idParams,
      responses: ok,
      handler: async ({ auth, params, meta }) => ({ body: toAppointmentDto(await service.close(auth, params.id, 'completed', meta)) }),
    }),
    route({
      method: 'post',
      path: `${item}/no-show`,
      operationId: 'markAppointmentNoShow',
      summary: 'Mark a started validated appointment as missed (doctor or secretary)',
      tag,
      auth: 'user',
      action: 'appointment.complete',
      params: idParams,
      responses: ok,
      handler: async ({ auth, params, meta }) => ({ body: toAppointmentDto(await service.close(auth, params.id, 'no_show', meta)) }),
    }),
  ];
}
