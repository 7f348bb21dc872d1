import {
  Anchor,
  Badge,
  Button,
  Card,
  Checkbox,
  Group,
  MultiSelect,
  Select,
  SimpleGrid,
  Stack,
  Table,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { api, must, type ApiError } from '../../api/client';
import { keys } from '../../api/queries';
import { useSession } from '../../auth/session';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Pager } from '../../components/Pager';
import { SearchBox } from '../../components/SearchBox';

const PAGE_SIZE = 20;

/** The patients in the caller's scope (a doctor's linked patients, a secretary's hospital's): search, open, create. */
export function PatientsPage() {
  const { t } = useTranslation();
  const { user } = useSession();
  const [q, setQ] = useState('');
  const [page, setPage] = useState(1);
  const list = useQuery({
    queryKey: [...keys.patients, q, page],
    queryFn: () =>
      must(api.GET('/api/patients', { params: { query: { page, pageSize: PAGE_SIZE, q: q || undefined, sort: 'lastName' } } })),
  });
  return (
    <Stack>
      <Title order={1}>{t('patients.title')}</Title>
      {user?.role === 'secretary' && <NewPatient />}
      <SearchBox
        label={t('patients.search')}
        onSearch={(v) => {
          setQ(v);
          setPage(1);
        }}
      />
      <ErrorAlert error={list.error} />
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('patients.name')}</Table.Th>
            <Table.Th>{t('patients.identifier')}</Table.Th>
            <Table.Th>{t('patients.birthDate')}</Table.Th>
            <Table.Th>{t('common.status')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
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
                <Badge color={p.isActive ? 'green' : 'gray'} variant="dot">
                  {t(p.isActive ? 'common.active' : 'common.inactive')}
                </Badge>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
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
  const [form, setForm] = useState({ firstName: '', lastName: '', birthDate: '', sex: '', email: '', phone: '' });
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
            sex: form.sex as 'female',
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
  const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement>) => setForm({ ...form, [k]: e.currentTarget.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <Card withBorder component="section" aria-labelledby="new-patient">
      <form onSubmit={submit} noValidate>
        <Stack>
          <Title order={2} size="h4" id="new-patient">
            {t('patients.new')}
          </Title>
          <ErrorAlert error={create.error} />
          {create.error?.code === 'POSSIBLE_DUPLICATE' && (
            <Checkbox
              label={t('patients.confirmNotDuplicate')}
              checked={confirmNotDuplicate}
              onChange={(e) => setConfirm(e.currentTarget.checked)}
            />
          )}
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput
              label={t('patients.firstName')}
              required
              value={form.firstName}
              onChange={set('firstName')}
              error={fields.firstName}
            />
            <TextInput label={t('patients.lastName')} required value={form.lastName} onChange={set('lastName')} error={fields.lastName} />
            <TextInput
              label={t('patients.birthDate')}
              type="date"
              required
              value={form.birthDate}
              onChange={set('birthDate')}
              error={fields.birthDate}
            />
            <Select
              label={t('patients.sex')}
              required
              value={form.sex || null}
              onChange={(v) => setForm({ ...form, sex: v ?? '' })}
              data={(['female', 'male', 'other', 'unknown'] as const).map((s) => ({ value: s, label: t(`patients.sexes.${s}`) }))}
              error={fields.sex}
            />
            <TextInput label={t('patients.email')} type="email" value={form.email} onChange={set('email')} error={fields.email} />
            <TextInput label={t('patients.phone')} value={form.phone} onChange={set('phone')} error={fields.phone} />
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
          <Group>
            <Button type="submit" loading={create.isPending}>
              {t('patients.create')}
            </Button>
          </Group>
        </Stack>
      </form>
    </Card>
  );
}
