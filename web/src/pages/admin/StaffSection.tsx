import { Badge, Button, Card, Group, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api, must, type ApiError } from '../../api/client';
import { keys } from '../../api/queries';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Pager } from '../../components/Pager';
import { SearchBox } from '../../components/SearchBox';
import { notify } from '../../layout/notify';

export type StaffRole = 'hospital_admin' | 'doctor' | 'secretary';
const PAGE_SIZE = 20;

interface Row {
  id: string;
  email?: string;
  firstName: string;
  lastName: string;
  isActive?: boolean;
  specialty?: string | null;
}

interface NewAccount {
  email: string;
  firstName: string;
  lastName: string;
  phone?: string;
  specialty?: string;
  hospitalId?: string;
}

// One typed call per collection: the paths differ, the screens do not.
const calls = {
  list: (
    role: StaffRole,
    query: { page: number; pageSize: number; q?: string; hospitalId?: string },
  ): Promise<{ items: Row[]; total: number }> => {
    if (role === 'hospital_admin') return must(api.GET('/api/hospital-admins', { params: { query } }));
    if (role === 'doctor') return must(api.GET('/api/doctors', { params: { query } }));
    return must(api.GET('/api/secretaries', { params: { query } }));
  },
  create: (role: StaffRole, body: NewAccount) => {
    if (role === 'hospital_admin') return must(api.POST('/api/hospital-admins', { body: { ...body, hospitalId: body.hospitalId! } }));
    if (role === 'doctor') return must(api.POST('/api/doctors', { body: { ...body, specialty: body.specialty ?? '' } }));
    return must(api.POST('/api/secretaries', { body }));
  },
  setActive: (role: StaffRole, id: string, isActive: boolean) => {
    const params = { path: { id } };
    if (role === 'hospital_admin') return must(api.PATCH('/api/hospital-admins/{id}', { params, body: { isActive } }));
    if (role === 'doctor') return must(api.PATCH('/api/doctors/{id}', { params, body: { isActive } }));
    return must(api.PATCH('/api/secretaries/{id}', { params, body: { isActive } }));
  },
};

/** A staff collection (a hospital's admins, doctors or secretaries): search, create, deactivate or reactivate. */
export function StaffSection({ role, hospitalId }: { role: StaffRole; hospitalId?: string }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [q, setQ] = useState('');
  const [page, setPage] = useState(1);
  const list = useQuery({
    queryKey: [...keys.accounts(role), hospitalId, q, page],
    queryFn: () => calls.list(role, { page, pageSize: PAGE_SIZE, q: q || undefined, hospitalId }),
  });
  const setActive = useMutation<unknown, ApiError, { id: string; isActive: boolean }>({
    mutationFn: ({ id, isActive }) => calls.setActive(role, id, isActive),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.accounts(role) }),
  });
  const items = list.data?.items ?? [];
  return (
    <Card withBorder component="section" aria-labelledby={`staff-${role}`}>
      <Stack>
        <Title order={2} size="h4" id={`staff-${role}`}>
          {t(`staff.${role}.title`)}
        </Title>
        <NewStaff role={role} hospitalId={hospitalId} />
        <SearchBox
          onSearch={(v) => {
            setQ(v);
            setPage(1);
          }}
        />
        <ErrorAlert error={list.error ?? setActive.error} />
        <Table striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('staff.name')}</Table.Th>
              <Table.Th>{t('staff.email')}</Table.Th>
              {role === 'doctor' && <Table.Th>{t('staff.specialty')}</Table.Th>}
              <Table.Th>{t('common.status')}</Table.Th>
              <Table.Th>{t('common.actions')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((a) => (
              <Table.Tr key={a.id}>
                <Table.Td>
                  {a.firstName} {a.lastName}
                </Table.Td>
                <Table.Td>{a.email}</Table.Td>
                {role === 'doctor' && <Table.Td>{a.specialty}</Table.Td>}
                <Table.Td>
                  <Badge color={a.isActive ? 'green' : 'gray'} variant="dot">
                    {t(a.isActive ? 'common.active' : 'common.inactive')}
                  </Badge>
                </Table.Td>
                <Table.Td>
                  <Button
                    size="compact-sm"
                    variant="default"
                    onClick={() => setActive.mutate({ id: a.id, isActive: !a.isActive })}
                    aria-label={`${t(a.isActive ? 'staff.deactivate' : 'staff.reactivate')} ${a.firstName} ${a.lastName}`}
                  >
                    {t(a.isActive ? 'staff.deactivate' : 'staff.reactivate')}
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        {items.length === 0 && list.isSuccess && <Text c="dimmed">{t('common.none')}</Text>}
        {list.data && <Pager page={page} pageSize={PAGE_SIZE} total={list.data.total} onChange={setPage} />}
      </Stack>
    </Card>
  );
}

function NewStaff({ role, hospitalId }: { role: StaffRole; hospitalId?: string }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const empty = { email: '', firstName: '', lastName: '', phone: '', specialty: '' };
  const [form, setForm] = useState(empty);
  const create = useMutation<unknown, ApiError>({
    mutationFn: async () => {
      await calls.create(role, {
        email: form.email.trim(),
        firstName: form.firstName.trim(),
        lastName: form.lastName.trim(),
        phone: form.phone.trim() || undefined,
        specialty: role === 'doctor' ? form.specialty.trim() : undefined,
        hospitalId,
      });
      notify(t('staff.created', { email: form.email.trim() }));
      setForm(empty);
      await client.invalidateQueries({ queryKey: keys.accounts(role) });
    },
  });
  const fields = create.error?.fieldErrors() ?? {};
  const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement>) => setForm({ ...form, [k]: e.currentTarget.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <form onSubmit={submit} noValidate aria-label={t(`staff.${role}.new`)}>
      <Stack gap="xs">
        <Text fw={600}>{t(`staff.${role}.new`)}</Text>
        <ErrorAlert error={create.error} />
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <TextInput label={t('staff.email')} type="email" required value={form.email} onChange={set('email')} error={fields.email} />
          <TextInput label={t('staff.phone')} value={form.phone} onChange={set('phone')} error={fields.phone} />
          <TextInput label={t('staff.firstName')} required value={form.firstName} onChange={set('firstName')} error={fields.firstName} />
          <TextInput label={t('staff.lastName')} required value={form.lastName} onChange={set('lastName')} error={fields.lastName} />
          {role === 'doctor' && (
            <TextInput label={t('staff.specialty')} required value={form.specialty} onChange={set('specialty')} error={fields.specialty} />
          )}
        </SimpleGrid>
        <Group>
          <Button type="submit" loading={create.isPending}>
            {t('staff.create')}
          </Button>
        </Group>
        <Text size="xs" c="dimmed">
          {t('staff.defaultPassword')}
        </Text>
      </Stack>
    </form>
  );
}
