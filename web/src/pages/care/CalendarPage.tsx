import { Badge, Button, Card, Group, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, must } from '../../api/client';
import { keys } from '../../api/queries';
import { useSession } from '../../auth/session';
import { ErrorAlert } from '../../components/ErrorAlert';
import { DoctorPicker } from '../../components/DoctorPicker';

const DAY = 86_400_000;

/** Monday 00:00 (local time) of the week holding `date`. */
function weekStart(date: Date): Date {
  const d = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  return new Date(d.getTime() - ((d.getDay() + 6) % 7) * DAY);
}

/** A doctor's week (or day): the secretary picks the doctor, a doctor sees its own. */
export function CalendarPage() {
  const { t, i18n } = useTranslation();
  const { user } = useSession();
  const [doctorId, setDoctorId] = useState<string | null>(user?.role === 'doctor' ? user.id : null);
  const [start, setStart] = useState(() => weekStart(new Date()));
  const [span, setSpan] = useState<1 | 7>(7);
  const from = start;
  const to = new Date(start.getTime() + span * DAY);
  const list = useQuery({
    queryKey: [...keys.appointments, 'calendar', doctorId, from.toISOString(), span],
    enabled: Boolean(doctorId),
    queryFn: () =>
      must(
        api.GET('/api/appointments', {
          params: {
            query: { doctorId: doctorId!, from: from.toISOString(), to: to.toISOString(), pageSize: 100, page: 1, sort: 'startsAt' },
          },
        }),
      ),
  });
  const days = Array.from({ length: span }, (_, i) => new Date(start.getTime() + i * DAY));
  const fmt = new Intl.DateTimeFormat(i18n.language, { weekday: 'long', day: 'numeric', month: 'short' });
  return (
    <Stack>
      <Title order={1}>{t('calendar.title')}</Title>
      <Group align="flex-end">
        {user?.role === 'secretary' && <DoctorPicker label={t('appointments.doctor')} value={doctorId} onChange={setDoctorId} />}
        <Button.Group>
          <Button variant="default" onClick={() => setStart(new Date(start.getTime() - span * DAY))}>
            {t('calendar.previous')}
          </Button>
          <Button
            variant="default"
            onClick={() => setStart(span === 7 ? weekStart(new Date()) : new Date(new Date().setHours(0, 0, 0, 0)))}
          >
            {t('calendar.today')}
          </Button>
          <Button variant="default" onClick={() => setStart(new Date(start.getTime() + span * DAY))}>
            {t('calendar.next')}
          </Button>
        </Button.Group>
        <Button.Group>
          <Button variant={span === 1 ? 'filled' : 'default'} onClick={() => setSpan(1)} aria-pressed={span === 1}>
            {t('calendar.day')}
          </Button>
          <Button
            variant={span === 7 ? 'filled' : 'default'}
            onClick={() => {
              setSpan(7);
              setStart(weekStart(start));
            }}
            aria-pressed={span === 7}
          >
            {t('calendar.week')}
          </Button>
        </Button.Group>
      </Group>
      <ErrorAlert error={list.error} />
      {!doctorId && <Text c="dimmed">{t('calendar.pickDoctor')}</Text>}
      {doctorId && (
        <SimpleGrid cols={{ base: 1, md: span === 7 ? 7 : 1 }} spacing="xs">
          {days.map((day) => {
            const items = (list.data?.items ?? []).filter((a) => new Date(a.startsAt).toDateString() === day.toDateString());
            return (
              <Card key={day.toISOString()} withBorder padding="xs" component="section" aria-label={fmt.format(day)}>
                <Text fw={600} size="sm" mb={4}>
                  {fmt.format(day)}
                </Text>
                <Stack gap={4}>
                  {items.length === 0 && (
                    <Text size="xs" c="dimmed">
                      {t('calendar.free')}
                    </Text>
                  )}
                  {items.map((a) => (
                    <Card key={a.id} padding={4} withBorder>
                      <Text size="xs" fw={600}>
                        {new Date(a.startsAt).toLocaleTimeString(i18n.language, { hour: '2-digit', minute: '2-digit' })} –{' '}
                        {new Date(a.endsAt).toLocaleTimeString(i18n.language, { hour: '2-digit', minute: '2-digit' })}
                      </Text>
                      <Text size="xs">
                        {a.patient.firstName} {a.patient.lastName}
                      </Text>
                      <Badge size="xs" variant="dot">
                        {t(`appointments.statuses.${a.status}`)}
                      </Badge>
                    </Card>
                  ))}
                </Stack>
              </Card>
            );
          })}
        </SimpleGrid>
      )}
    </Stack>
  );
}
