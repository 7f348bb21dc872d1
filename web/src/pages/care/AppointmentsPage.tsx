import { Badge, Button, Chip, Group, SegmentedControl, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, must, type ApiError } from '../../api/client';
import { keys } from '../../api/queries';
import type { Appointment } from '../../api/types';
import { useSession } from '../../auth/session';
import { DoctorPicker } from '../../components/DoctorPicker';
import { DataTable } from '../../components/DataTable';
import { ErrorAlert } from '../../components/ErrorAlert';
import { FormSection } from '../../components/FormSection';
import { Pager } from '../../components/Pager';

const PAGE_SIZE = 20;
type Status = Appointment['status'];
const STATUS_COLOR: Record<Status, string> = {
  requested: 'yellow',
  validated: 'green',
  cancelled: 'gray',
  completed: 'blue',
  no_show: 'red',
};

const dayBounds = (date: string) => ({ from: new Date(`${date}T00:00:00`).toISOString(), to: new Date(`${date}T23:59:59`).toISOString() });
const today = () => new Date().toLocaleDateString('sv-SE');

/** Appointments as each role handles them: a patient requests and cancels, a secretary validates, a doctor sees its day. */
export function AppointmentsPage() {
  const { t } = useTranslation();
  const { user } = useSession();
  const role = user?.role;
  const [status, setStatus] = useState<Status | 'all'>(role === 'secretary' ? 'requested' : 'all');
  const [day, setDay] = useState(role === 'doctor' ? today() : '');
  const [page, setPage] = useState(1);
  const list = useQuery({
    queryKey: [...keys.appointments, status, day, page],
    queryFn: () =>
      must(
        api.GET('/api/appointments', {
          params: {
            query: {
              page,
              pageSize: PAGE_SIZE,
              status: status === 'all' ? undefined : status,
              sort: 'startsAt',
              ...(day ? dayBounds(day) : {}),
            },
          },
        }),
      ),
  });
  return (
    <Stack>
      <Title order={1}>{t('appointments.title')}</Title>
      {role === 'patient' && <RequestAppointment />}
      <Group align="flex-end">
        <SegmentedControl
          aria-label={t('common.status')}
          value={status}
          onChange={(v) => {
            setStatus(v as Status | 'all');
            setPage(1);
          }}
          data={[
            { value: 'all', label: t('appointments.all') },
            ...(['requested', 'validated', 'cancelled', 'completed'] as const).map((s) => ({
              value: s,
              label: t(`appointments.statuses.${s}`),
            })),
          ]}
        />
        <TextInput
          type="date"
          label={t('appointments.day')}
          value={day}
          onChange={(e) => {
            setDay(e.currentTarget.value);
            setPage(1);
          }}
        />
      </Group>
      <ErrorAlert error={list.error} />
      {list.data?.items.length === 0 && <Text c="dimmed">{t('appointments.empty')}</Text>}
      {(list.data?.items.length ?? 0) > 0 && (
        <DataTable
          headers={[
            t('appointments.when'),
            role === 'patient' ? t('appointments.doctor') : t('appointments.patient'),
            role === 'secretary' && t('appointments.doctor'),
            t('appointments.reason'),
            t('common.status'),
            t('common.actions'),
          ]}
        >
          {list.data?.items.map((a) => (
            <Table.Tr key={a.id}>
              <Table.Td>{new Date(a.startsAt).toLocaleString()}</Table.Td>
              <Table.Td>
                {role === 'patient' ? `${a.doctor.firstName} ${a.doctor.lastName}` : `${a.patient.firstName} ${a.patient.lastName}`}
              </Table.Td>
              {role === 'secretary' && (
                <Table.Td>
                  {a.doctor.firstName} {a.doctor.lastName}
                </Table.Td>
              )}
              <Table.Td>{a.reason}</Table.Td>
              <Table.Td>
                <Badge color={STATUS_COLOR[a.status]} variant="dot">
                  {t(`appointments.statuses.${a.status}`)}
                </Badge>
              </Table.Td>
              <Table.Td>
                <Actions appointment={a} />
              </Table.Td>
            </Table.Tr>
          ))}
        </DataTable>
      )}
      {list.data && <Pager page={page} pageSize={PAGE_SIZE} total={list.data.total} onChange={setPage} />}
    </Stack>
  );
}

/** What the caller may do with one appointment; the API refuses anything else (409 explained in the alert). */
function Actions({ appointment: a }: { appointment: Appointment }) {
  const { t } = useTranslation();
  const { user } = useSession();
  const client = useQueryClient();
  const [moving, setMoving] = useState(false);
  const [startsAt, setStartsAt] = useState('');
  const done = () => client.invalidateQueries({ queryKey: keys.appointments });
  const params = { path: { id: a.id } };
  const validate = useMutation<unknown, ApiError>({
    mutationFn: () => must(api.POST('/api/appointments/{id}/validate', { params })),
    onSuccess: done,
  });
  const cancel = useMutation<unknown, ApiError>({
    mutationFn: () => must(api.POST('/api/appointments/{id}/cancel', { params, body: {} })),
    onSuccess: done,
  });
  const move = useMutation<unknown, ApiError>({
    mutationFn: () => must(api.POST('/api/appointments/{id}/reschedule', { params, body: { startsAt: new Date(startsAt).toISOString() } })),
    onSuccess: () => {
      setMoving(false);
      return done();
    },
  });
  const open = a.status === 'requested' || a.status === 'validated';
  const who = `${new Date(a.startsAt).toLocaleString()}`;
  return (
    <Stack gap={4}>
      <Group gap={4}>
        {user?.role === 'secretary' && a.status === 'requested' && (
          <Button
            size="compact-sm"
            onClick={() => validate.mutate()}
            loading={validate.isPending}
            aria-label={`${t('appointments.validate')} — ${who}`}
          >
            {t('appointments.validate')}
          </Button>
        )}
        {open && user?.role !== 'doctor' && (
          <Button
            size="compact-sm"
            variant="default"
            onClick={() => setMoving((m) => !m)}
            aria-label={`${t('appointments.reschedule')} — ${who}`}
          >
            {t('appointments.reschedule')}
          </Button>
        )}
        {open && user?.role !== 'doctor' && (
          <Button
            size="compact-sm"
            color="red"
            variant="outline"
            onClick={() => cancel.mutate()}
            loading={cancel.isPending}
            aria-label={`${t('appointments.cancel')} — ${who}`}
          >
            {t('appointments.cancel')}
          </Button>
        )}
      </Group>
      {moving && (
        <Group gap={4} align="flex-end">
          <TextInput
            type="datetime-local"
            label={t('appointments.newTime')}
            value={startsAt}
            onChange={(e) => setStartsAt(e.currentTarget.value)}
            size="xs"
          />
          <Button size="compact-sm" disabled={!startsAt} onClick={() => move.mutate()} loading={move.isPending}>
            {t('common.save')}
          </Button>
        </Group>
      )}
      <ErrorAlert error={validate.error ?? cancel.error ?? move.error} />
    </Stack>
  );
}

/** A patient asks for an appointment: any doctor of the directory, one of its free slots, a reason. */
function RequestAppointment() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [doctorId, setDoctorId] = useState<string | null>(null);
  const [date, setDate] = useState(today());
  const [slot, setSlot] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const slots = useQuery({
    queryKey: ['slots', doctorId, date],
    enabled: Boolean(doctorId && date),
    queryFn: () => must(api.GET('/api/doctors/{id}/availability', { params: { path: { id: doctorId! }, query: dayBounds(date) } })),
  });
  const request = useMutation<unknown, ApiError>({
    mutationFn: async () => {
      await must(api.POST('/api/appointments', { body: { doctorId: doctorId!, startsAt: slot!, reason: reason.trim() } }));
      setSlot(null);
      setReason('');
      await client.invalidateQueries({ queryKey: keys.appointments });
      await client.invalidateQueries({ queryKey: ['slots'] });
    },
  });
  const fields = request.error?.fieldErrors() ?? {};
  return (
    <FormSection title={t('appointments.request')} mutation={request} submitLabel={t('appointments.send')} disabled={!doctorId || !slot}>
      <Group align="flex-end">
        <DoctorPicker
          label={t('appointments.doctor')}
          required
          value={doctorId}
          onChange={(v) => {
            setDoctorId(v);
            setSlot(null);
          }}
          error={fields.doctorId}
        />
        <TextInput type="date" label={t('appointments.day')} required value={date} onChange={(e) => setDate(e.currentTarget.value)} />
      </Group>
      {doctorId && (
        <Stack gap={4}>
          <Text size="sm" fw={600} id="slots-label">
            {t('appointments.freeSlots')}
          </Text>
          <ErrorAlert error={slots.error} />
          {slots.data?.slots.length === 0 && <Text c="dimmed">{t('appointments.noSlot')}</Text>}
          <Chip.Group value={slot ?? ''} onChange={(v) => setSlot(v as string)}>
            <Group gap={6} role="radiogroup" aria-labelledby="slots-label">
              {slots.data?.slots.slice(0, 48).map((s) => (
                <Chip key={s.startsAt} value={s.startsAt} type="radio" name="slot">
                  {new Date(s.startsAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}
                </Chip>
              ))}
            </Group>
          </Chip.Group>
        </Stack>
      )}
      <TextInput
        label={t('appointments.reason')}
        required
        value={reason}
        onChange={(e) => setReason(e.currentTarget.value)}
        error={fields.reason}
      />
    </FormSection>
  );
}
