import { ActionIcon, Badge, Button, Group, Indicator, Popover, ScrollArea, Stack, Text } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, must } from '../api/client';

/** The unread count in the header, and the latest notifications with "mark read". */
export function NotificationsMenu() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const list = useQuery({
    queryKey: ['notifications'],
    queryFn: () => must(api.GET('/api/notifications', { params: { query: { page: 1, pageSize: 20 } } })),
    refetchInterval: 60_000,
  });
  const done = () => client.invalidateQueries({ queryKey: ['notifications'] });
  const readOne = useMutation({
    mutationFn: (id: string) => must(api.POST('/api/notifications/{id}/read', { params: { path: { id } } })),
    onSuccess: done,
  });
  const readAll = useMutation({ mutationFn: () => must(api.POST('/api/notifications/read-all')), onSuccess: done });
  const unread = list.data?.unreadCount ?? 0;
  return (
    <Indicator label={unread} size={18} disabled={unread === 0}>
      <Popover position="bottom-end" width={360} shadow="md">
        <Popover.Target>
          <ActionIcon variant="default" size="lg" aria-label={`${t('header.notifications')} — ${t('header.unread', { count: unread })}`}>
            <svg
              aria-hidden
              width="18"
              height="18"
              viewBox="0 0 24 24"
              fill="none"
              stroke="currentColor"
              strokeWidth="2"
              strokeLinecap="round"
              strokeLinejoin="round"
            >
              <path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9" />
              <path d="M13.73 21a2 2 0 0 1-3.46 0" />
            </svg>
          </ActionIcon>
        </Popover.Target>
        <Popover.Dropdown>
          <Group justify="space-between" mb="xs">
            <Text fw={600}>{t('header.notifications')}</Text>
            <Button size="compact-xs" variant="subtle" disabled={unread === 0} onClick={() => readAll.mutate()}>
              {t('header.markAllRead')}
            </Button>
          </Group>
          <ScrollArea.Autosize mah={360}>
            <Stack gap="xs">
              {(list.data?.items ?? []).length === 0 && <Text c="dimmed">{t('header.noNotifications')}</Text>}
              {(list.data?.items ?? []).map((n) => (
                <Stack key={n.id} gap={2}>
                  <Group justify="space-between" wrap="nowrap">
                    <Text size="sm" fw={n.read ? 400 : 700}>
                      {n.title}
                    </Text>
                    {!n.read && (
                      <Button size="compact-xs" variant="light" onClick={() => readOne.mutate(n.id)}>
                        {t('header.markRead')}
                      </Button>
                    )}
                  </Group>
                  <Text size="xs">{n.body}</Text>
                  <Badge variant="outline" size="xs">
                    {new Date(n.createdAt).toLocaleString()}
                  </Badge>
                </Stack>
              ))}
            </Stack>
          </ScrollArea.Autosize>
        </Popover.Dropdown>
      </Popover>
    </Indicator>
  );
}
