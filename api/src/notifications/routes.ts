import { z } from 'zod';
import { idParams, timestamp } from '../http/fields.js';
import type { Deps } from '../deps.js';
import { pageQuerySchema, pageSchema } from '../http/pagination.js';
import { route, type AnyRoute } from '../http/route.js';
import { createNotificationService } from './service.js';

const tag = 'Notifications';

const notificationSchema = z.object({
  id: z.uuid(),
  type: z.string(),
  title: z.string(),
  body: z.string(),
  data: z.record(z.string(), z.unknown()),
  read: z.boolean(),
  readAt: timestamp.nullable(),
  createdAt: timestamp,
});

/** The caller's notifications (appointment status changes, reminders). */
export function notificationRoutes({ db }: Deps): AnyRoute[] {
  const service = createNotificationService(db);
  return [
    route({
      method: 'get',
      path: '/api/notifications',
      operationId: 'listNotifications',
      summary: 'The caller’s notifications, newest first',
      tag,
      auth: 'user',
      query: pageQuerySchema().extend({
        unread: z
          .enum(['true', 'false'])
          .transform((v) => v === 'true')
          .optional()
          .describe('true: unread only; false: read only'),
      }),
      responses: {
        200: { description: 'A page of notifications', schema: pageSchema(notificationSchema).extend({ unreadCount: z.number().int() }) },
      },
      handler: async ({ auth, query }) => ({ body: await service.list(auth, query) }),
    }),
    route({
      method: 'post',
      path: '/api/notifications/{id}/read',
      operationId: 'markNotificationRead',
      summary: 'Mark one notification as read',
      tag,
      auth: 'user',
      params: idParams,
      responses: { 200: { description: 'The notification', schema: notificationSchema } },
      handler: async ({ auth, params }) => ({ body: await service.markRead(auth, params.id) }),
    }),
    route({
      method: 'post',
      path: '/api/notifications/read-all',
      operationId: 'markAllNotificationsRead',
      summary: 'Mark all the caller’s notifications as read',
      tag,
      auth: 'user',
      responses: { 200: { description: 'How many were marked', schema: z.object({ updated: z.number().int() }) } },
      handler: async ({ auth }) => ({ body: { updated: await service.markAllRead(auth) } }),
    }),
  ];
}
