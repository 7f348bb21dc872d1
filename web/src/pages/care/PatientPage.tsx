import { Badge, Button, Card, Group, Select, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useParams } from 'react-router';
import { api, must, type ApiError } from '../../api/client';
import { keys } from '../../api/queries';
import type { PatientDetail } from '../../api/types';
import { useSession } from '../../auth/session';
import { ErrorAlert } from '../../components/ErrorAlert';
import { FormSection } from '../../components/FormSection';
import { notify } from '../../layout/notify';
import { Chart } from './Chart';
import { useFields } from '../../components/forms';
import { PatientFields } from './PatientFields';
import { useDoctorOptions } from './PatientsPage';
import { Studies } from './Studies';

/** One patient: a secretary manages its details and doctors; a doctor opens its chart and its images. */
export function PatientPage() {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const { user } = useSession();
  const patient = useQuery({
    queryKey: keys.patient(id),
    queryFn: async () => {
      const res = await api.GET('/api/patients/{id}', { params: { path: { id } } });
      return { data: await must(Promise.resolve(res)), etag: res.response.headers.get('ETag') ?? '' };
    },
  });
  if (patient.error) return <ErrorAlert error={patient.error} />;
  if (!patient.data) return <Text>{t('common.loading')}</Text>;
  const p = patient.data.data;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1}>
          {p.firstName} {p.lastName}
        </Title>
        <Group>
          <Badge variant="outline">{p.identifier}</Badge>
          <Badge variant="light">{p.birthDate}</Badge>
        </Group>
      </Group>
      {user?.role === 'secretary' && (
        <>
          <Details patient={p} etag={patient.data.etag} onReload={() => void patient.refetch()} />
          <Doctors patient={p} />
        </>
      )}
      {user?.role === 'doctor' && (
        <>
          <Chart patientId={p.id} canWrite />
          <Studies patientId={p.id} canWrite />
        </>
      )}
    </Stack>
  );
}

function Details({ patient, etag, onReload }: { patient: PatientDetail; etag: string; onReload: () => void }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const initial = {
    firstName: patient.firstName,
    lastName: patient.lastName,
    birthDate: patient.birthDate,
    email: patient.email ?? '',
    phone: patient.phone ?? '',
  };
  const { values: form, set } = useFields(initial);
  // What was typed is kept across a reload of the version (a 412): only the first read fills the form.
  const save = useMutation<unknown, ApiError>({
    mutationFn: async () => {
      await must(
        api.PATCH('/api/patients/{id}', {
          params: { path: { id: patient.id } },
          headers: { 'If-Match': etag },
          body: {
            firstName: form.firstName.trim(),
            lastName: form.lastName.trim(),
            birthDate: form.birthDate,
            email: form.email.trim() || null,
            phone: form.phone.trim() || null,
          },
        }),
      );
      notify(t('common.saved'));
      await client.invalidateQueries({ queryKey: keys.patient(patient.id) });
    },
  });
  return (
    <FormSection title={t('patients.details')} mutation={save} submitLabel={t('common.save')} onReload={onReload}>
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <PatientFields values={form} set={set} errors={save.error?.fieldErrors() ?? {}} />
      </SimpleGrid>
    </FormSection>
  );
}

function Doctors({ patient }: { patient: PatientDetail }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const options = useDoctorOptions();
  const [doctorId, setDoctorId] = useState<string | null>(null);
  const done = () => client.invalidateQueries({ queryKey: keys.patient(patient.id) });
  const link = useMutation<unknown, ApiError>({
    mutationFn: () => must(api.POST('/api/patients/{id}/doctors', { params: { path: { id: patient.id } }, body: { doctorId: doctorId! } })),
    onSuccess: done,
  });
  const unlink = useMutation<unknown, ApiError, string>({
    mutationFn: (doctor) =>
      must(api.DELETE('/api/patients/{id}/doctors/{doctorId}', { params: { path: { id: patient.id, doctorId: doctor } } })),
    onSuccess: done,
  });
  const linked = new Set(patient.doctors.map((d) => d.doctorId));
  return (
    <Card withBorder component="section" aria-labelledby="patient-doctors">
      <Stack>
        <Title order={2} size="h4" id="patient-doctors">
          {t('patients.doctors')}
        </Title>
        <ErrorAlert error={link.error ?? unlink.error} />
        <Table>
          <Table.Tbody>
            {patient.doctors.map((d) => (
              <Table.Tr key={d.doctorId}>
                <Table.Td>
                  {d.firstName} {d.lastName}
                </Table.Td>
                <Table.Td>{d.specialty}</Table.Td>
                <Table.Td>{d.hospitalName}</Table.Td>
                <Table.Td>
                  <Button
                    size="compact-sm"
                    variant="outline"
                    color="red"
                    onClick={() => unlink.mutate(d.doctorId)}
                    aria-label={`${t('patients.unlink')} ${d.firstName} ${d.lastName}`}
                  >
                    {t('patients.unlink')}
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        <Group align="flex-end">
          <Select
            label={t('patients.linkDoctor')}
            data={(options.data ?? []).filter((o) => !linked.has(o.value))}
            value={doctorId}
            onChange={setDoctorId}
            searchable
            w={320}
          />
          <Button disabled={!doctorId} loading={link.isPending} onClick={() => link.mutate()}>
            {t('patients.link')}
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}
