import { Anchor, Checkbox, MultiSelect, Select, SimpleGrid, Stack, Table, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { api, must, type ApiError } from '../../api/client';
import { keys } from '../../api/queries';
import { useSession } from '../../auth/session';
import { DataTable } from '../../components/DataTable';
import { ErrorAlert } from '../../components/ErrorAlert';
import { FormSection } from '../../components/FormSection';
import { useFields } from '../../components/forms';
import { PatientFields } from './PatientFields';
import { StatusBadge } from '../../components/StatusBadge';
import { Pager } from '../../components/Pager';
import { SearchBox } from '../../components/SearchBox';
import { useListQuery } from '../../components/useListQuery';

const PAGE_SIZE = 20;

/** The patients in the caller's scope (a doctor's linked patients, a secretary's hospital's): search, open, create. */
export function PatientsPage() {
  const { t } = useTranslation();
  const { user } = useSession();
  const { q, page, setPage, search } = useListQuery();
  const list = useQuery({
    queryKey: [...keys.patients, q, page],
    queryFn: () =>
      must(api.GET('/api/patients', { params: { query: { page, pageSize: PAGE_SIZE, q: q || undefined, sort: 'lastName' } } })),
  });
  return (
    <Stack>
      <Title order={1}>{t('patients.title')}</Title>
      {user?.role === 'secretary' && <NewPatient />}
      <SearchBox label={t('patients.search')} onSearch={search} />
      <ErrorAlert error={list.error} />
      <DataTable highlightOnHover headers={[t('patients.name'), t('patients.identifier'), t('patients.birthDate'), t('common.status')]}>
        {list.data?.items.map((p) => (
          <Table.Tr key={p.id}>
            <Table.Td>
              <Anchor component={Link} to={`/patients/${p.id}`}>
                {p.lastName} {p.firstName}
              </Anchor>
            </Table.Td>
            <Table.Td>{p.identifier}</Table.Td>
            <Table.Td>{p.birthDate}</Table.Td>
            <Table.Td>
              <StatusBadge active={p.isActive} />
            </Table.Td>
          </Table.Tr>
        ))}
      </DataTable>
      {list.data && <Pager page={page} pageSize={PAGE_SIZE} total={list.data.total} onChange={setPage} />}
    </Stack>
  );
}

/** The active doctors a secretary may link patients to (its hospital's: the API scopes the list). */
export function useDoctorOptions() {
  return useQuery({
    queryKey: ['doctors', 'options'],
    queryFn: async () =>
      (
        await must(api.GET('/api/doctors', { params: { query: { page: 1, pageSize: 100, isActive: 'true', sort: 'lastName' } } }))
      ).items.map((d) => ({ value: d.id, label: `${d.firstName} ${d.lastName} — ${d.specialty}` })),
  });
}

function NewPatient() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const client = useQueryClient();
  const doctors = useDoctorOptions();
  const { values: form, set } = useFields({ firstName: '', lastName: '', birthDate: '', email: '', phone: '' });
  const [sex, setSex] = useState('');
  const [doctorIds, setDoctorIds] = useState<string[]>([]);
  const [confirmNotDuplicate, setConfirm] = useState(false);
  const create = useMutation<unknown, ApiError>({
    mutationFn: async () => {
      const created = await must(
        api.POST('/api/patients', {
          body: {
            firstName: form.firstName.trim(),
            lastName: form.lastName.trim(),
            birthDate: form.birthDate,
            sex: sex as 'female',
            email: form.email.trim() || undefined,
            phone: form.phone.trim() || undefined,
            doctorIds,
            confirmNotDuplicate: confirmNotDuplicate || undefined,
          },
        }),
      );
      await client.invalidateQueries({ queryKey: keys.patients });
      void navigate(`/patients/${created.id}`);
    },
  });
  const fields = create.error?.fieldErrors() ?? {};
  return (
    <FormSection title={t('patients.new')} mutation={create} submitLabel={t('patients.create')}>
      {create.error?.code === 'POSSIBLE_DUPLICATE' && (
        <Checkbox
          label={t('patients.confirmNotDuplicate')}
          checked={confirmNotDuplicate}
          onChange={(e) => setConfirm(e.currentTarget.checked)}
        />
      )}
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <PatientFields values={form} set={set} errors={fields} />
        <Select
          label={t('patients.sex')}
          required
          value={sex || null}
          onChange={(v) => setSex(v ?? '')}
          data={(['female', 'male', 'other', 'unknown'] as const).map((v) => ({ value: v, label: t(`patients.sexes.${v}`) }))}
          error={fields.sex}
        />
      </SimpleGrid>
      <MultiSelect
        label={t('patients.doctors')}
        required
        data={doctors.data ?? []}
        value={doctorIds}
        onChange={setDoctorIds}
        searchable
        error={fields.doctorIds}
      />
    </FormSection>
  );
}
