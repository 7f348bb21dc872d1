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

/** A day off or an absence, as the form edits it (local date and time of this browser). */
interface Absence {
  from: string;
  to: string;
  reason: string;
}

/** An instant as a datetime-local field shows it (this browser's time zone). */
const toLocalInput = (iso: string) => {
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};

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
  const [absences, setAbsences] = useState<Absence[]>([]);
  useEffect(() => {
    if (current.data && weekly === null) {
      setWeekly(current.data.weekly);
      setAbsences(current.data.exceptions.map((e) => ({ from: toLocalInput(e.from), to: toLocalInput(e.to), reason: e.reason ?? '' })));
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
            exceptions: absences.map((a) => ({
              from: new Date(a.from).toISOString(),
              to: new Date(a.to).toISOString(),
              reason: a.reason.trim() || undefined,
            })),
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
        </Group>
        <Title order={3} size="h5">
          {t('availability.exceptions')}
        </Title>
        {absences.map((a, i) => (
          <Group key={i} align="flex-end" gap="xs">
            <TextInput
              type="datetime-local"
              label={t('availability.from')}
              value={a.from}
              onChange={(e) => setAbsences(absences.map((x, j) => (j === i ? { ...x, from: e.currentTarget.value } : x)))}
            />
            <TextInput
              type="datetime-local"
              label={t('availability.to')}
              value={a.to}
              onChange={(e) => setAbsences(absences.map((x, j) => (j === i ? { ...x, to: e.currentTarget.value } : x)))}
            />
            <TextInput
              label={t('availability.reason')}
              value={a.reason}
              onChange={(e) => setAbsences(absences.map((x, j) => (j === i ? { ...x, reason: e.currentTarget.value } : x)))}
            />
            <ActionIcon
              variant="default"
              size="lg"
              aria-label={t('availability.removeAbsence')}
              onClick={() => setAbsences(absences.filter((_, j) => j !== i))}
            >
              <span aria-hidden>×</span>
            </ActionIcon>
          </Group>
        ))}
        <Group>
          <Button
            variant="default"
            onClick={() => {
              const day = toLocalInput(new Date(Date.now() + 86_400_000).toISOString()).slice(0, 10);
              setAbsences([...absences, { from: `${day}T00:00`, to: `${day}T23:59`, reason: '' }]);
            }}
          >
            {t('availability.addAbsence')}
          </Button>
          <Button onClick={() => save.mutate()} loading={save.isPending}>
            {t('common.save')}
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}
