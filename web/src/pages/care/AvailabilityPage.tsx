import { ActionIcon, Button, Card, Group, NativeSelect, Stack, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, must, type ApiError } from '../../api/client';
import { useSession } from '../../auth/session';
import { ErrorAlert } from '../../components/ErrorAlert';
import { notify } from '../../layout/notify';
import { DoctorPicker } from '../../components/DoctorPicker';

interface Hours {
  weekday: number;
  start: string;
  end: string;
}

/** A doctor's weekly hours: the doctor its own, a secretary those of its hospital's doctors. */
export function AvailabilityPage() {
  const { t } = useTranslation();
  const { user } = useSession();
  const [doctorId, setDoctorId] = useState<string | null>(user?.role === 'doctor' ? user.id : null);
  return (
    <Stack>
      <Title order={1}>{t('availability.title')}</Title>
      {user?.role === 'secretary' && <DoctorPicker label={t('appointments.doctor')} value={doctorId} onChange={setDoctorId} />}
      {doctorId && <WeeklyHours key={doctorId} doctorId={doctorId} />}
    </Stack>
  );
}

function WeeklyHours({ doctorId }: { doctorId: string }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const current = useQuery({
    queryKey: ['availability', doctorId],
    queryFn: () => must(api.GET('/api/doctors/{id}/availability', { params: { path: { id: doctorId } } })),
  });
  const [timezone, setTimezone] = useState('');
  const [weekly, setWeekly] = useState<Hours[] | null>(null);
  useEffect(() => {
    if (current.data && weekly === null) {
      setWeekly(current.data.weekly);
      setTimezone(current.data.configured ? current.data.timezone : Intl.DateTimeFormat().resolvedOptions().timeZone);
    }
  }, [current.data, weekly]);
  const save = useMutation<unknown, ApiError>({
    mutationFn: async () => {
      await must(
        api.PUT('/api/doctors/{id}/availability', {
          params: { path: { id: doctorId } },
          body: {
            timezone,
            weekly: weekly ?? [],
            exceptions: (current.data?.exceptions ?? []).map((e) => ({ ...e, reason: e.reason ?? undefined })),
          },
        }),
      );
      notify(t('common.saved'));
      await client.invalidateQueries({ queryKey: ['availability', doctorId] });
    },
  });
  if (current.error) return <ErrorAlert error={current.error} />;
  if (!weekly) return <Text>{t('common.loading')}</Text>;
  const days = [1, 2, 3, 4, 5, 6, 7].map((d) => ({ value: String(d), label: t(`availability.days.${d}` as 'availability.days.1') }));
  const update = (i: number, change: Partial<Hours>) => setWeekly(weekly.map((h, j) => (j === i ? { ...h, ...change } : h)));
  return (
    <Card withBorder component="section" aria-labelledby="hours-title">
      <Stack>
        <Title order={2} size="h4" id="hours-title">
          {t('availability.weekly')}
        </Title>
        <ErrorAlert error={save.error} />
        <TextInput label={t('availability.timezone')} value={timezone} onChange={(e) => setTimezone(e.currentTarget.value)} w={260} />
        {weekly.map((h, i) => (
          <Group key={i} align="flex-end" gap="xs">
            <NativeSelect
              label={t('availability.day')}
              data={days}
              value={String(h.weekday)}
              onChange={(e) => update(i, { weekday: Number(e.currentTarget.value) })}
            />
            <TextInput
              type="time"
              label={t('availability.start')}
              value={h.start}
              onChange={(e) => update(i, { start: e.currentTarget.value })}
            />
            <TextInput
              type="time"
              label={t('availability.end')}
              value={h.end}
              onChange={(e) => update(i, { end: e.currentTarget.value })}
            />
            <ActionIcon
              variant="default"
              size="lg"
              aria-label={t('availability.remove')}
              onClick={() => setWeekly(weekly.filter((_, j) => j !== i))}
            >
              <span aria-hidden>×</span>
            </ActionIcon>
          </Group>
        ))}
        <Group>
          <Button variant="default" onClick={() => setWeekly([...weekly, { weekday: 1, start: '09:00', end: '17:00' }])}>
            {t('availability.add')}
          </Button>
          <Button onClick={() => save.mutate()} loading={save.isPending}>
            {t('common.save')}
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}
