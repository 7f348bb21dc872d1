import type { Knex } from 'knex';
import type { Config } from '../../../common/config.js';
import type { Auth } from '../auth/types.js';
import { notFound } from '../../../common/http/errors.js';
import type { Page } from '../http/pagination.js';
import { fetchPage } from '../db/paging.js';
import type { Locale } from '../../../common/http/messages.js';

/** What a notification says; `data` carries ids for the client, never clinical content. */
export interface NotificationInput {
  type: string;
  title: string;
  body: string;
  data: Record<string, unknown>;
}

/**
 * Notifies users inside the caller's transaction; when SMTP is configured the e-mails are queued in the
 * outbox of the same transaction, so a notification and its e-mail exist together or not at all. A
 * notification written per language (a function of the locale) reaches each user in its own (default English).
 */
export async function notify(
  trx: Knex.Transaction,
  config: Pick<Config, 'smtp'>,
  userIds: string[],
  n: NotificationInput | ((locale: Locale) => NotificationInput),
): Promise<void> {
  const recipients = [...new Set(userIds)];
  if (recipients.length === 0) return;
  const users: { id: string; email: string | null; locale: Locale | null; live: boolean }[] = await trx('users')
    .whereIn('id', recipients)
    .select('id', 'email', 'locale', trx.raw('(is_active and deleted_at is null) as live'));
  const localeOf = new Map(users.map((u) => [u.id, u.locale ?? 'en']));
  const message = (userId: string) => (typeof n === 'function' ? n(localeOf.get(userId) ?? 'en') : n);
  const rows: { id: string; user_id: string }[] = await trx('notifications')
    .insert(
      recipients.map((userId) => ({
        user_id: userId,
        type: message(userId).type,
        title: message(userId).title,
        body: message(userId).body,
        data: JSON.stringify(message(userId).data),
      })),
    )
    .returning(['id', 'user_id']);
  if (!config.smtp) return;
  // A patient may have no e-mail address: it is told in the application only.
  const emailOf = new Map(users.filter((u) => u.live && u.email).map((u) => [u.id, u.email]));
  const mails = rows
    .filter((r) => emailOf.has(r.user_id))
    .map((r) => {
      const m = message(r.user_id);
      const footer = localeOf.get(r.user_id) === 'fr' ? 'Ouvrez MediConnect pour le détail.' : 'Open MediConnect for details.';
      return {
        notification_id: r.id,
        to_address: emailOf.get(r.user_id),
        subject: `MediConnect: ${m.title}`,
        body: `${m.body}\n\n${footer}`,
      };
    });
  if (mails.length > 0) await trx('email_outbox').insert(mails);
}

interface NotificationRow {
  id: string;
  type: string;
  title: string;
  body: string;
  data: Record<string, unknown>;
  read_at: Date | null;
  created_at: Date;
}

function toDto(r: NotificationRow) {
  return {
    id: r.id,
    type: r.type,
    title: r.title,
    body: r.body,
    data: r.data,
    read: r.read_at !== null,
    readAt: r.read_at?.toISOString() ?? null,
    createdAt: r.created_at.toISOString(),
  };
}

export type NotificationDto = ReturnType<typeof toDto>;

/** The caller's own notifications: always scoped to `auth.userId`. */
export function createNotificationService(db: Knex) {
  const own = (auth: Auth) => db('notifications').where('user_id', auth.userId);
  return {
    async list(
      auth: Auth,
      q: { page: number; pageSize: number; unread?: boolean },
    ): Promise<Page<NotificationDto> & { unreadCount: number }> {
      const query = own(auth);
      if (q.unread !== undefined) query.where((w) => (q.unread ? w.whereNull('read_at') : w.whereNotNull('read_at')));
      const [{ unread }] = (await own(auth).whereNull('read_at').count({ unread: '*' })) as [{ unread: number }];
      const page = await fetchPage<NotificationRow>(query, {
        columns: ['*'],
        orderBy: { column: 'created_at', direction: 'desc' },
        tieBreaker: 'id',
        page: q.page,
        pageSize: q.pageSize,
      });
      return { ...page, items: page.items.map(toDto), unreadCount: Number(unread) };
    },

    async markRead(auth: Auth, id: string): Promise<NotificationDto> {
      const [row] = await own(auth)
        .where('id', id)
        .update({ read_at: db.raw('coalesce(read_at, now())') })
        .returning('*');
      if (!row) throw notFound('Notification');
      return toDto(row);
    },

    async markAllRead(auth: Auth): Promise<number> {
      return own(auth).whereNull('read_at').update({ read_at: db.fn.now() });
    },
  };
}
