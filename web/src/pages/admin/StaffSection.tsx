import { Button, Card, Group, Modal, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api, must, type ApiError } from '../../api/client';
import { keys } from '../../api/queries';
import { DataTable } from '../../components/DataTable';
import { ErrorAlert } from '../../components/ErrorAlert';
import { StatusBadge } from '../../components/StatusBadge';
import { Pager } from '../../components/Pager';
import { SearchBox } from '../../components/SearchBox';
import { useListQuery } from '../../components/useListQuery';
import { notify } from '../../layout/notify';
import { onSubmit, useFields } from '../../components/forms';

export type StaffRole = 'hospital_admin' | 'doctor' | 'secretary';
const PAGE_SIZE = 20;

interface Row {
  id: string;
  email?: string;
  firstName: string;
  lastName: string;
  phone?: string | null;
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
  update: (role: StaffRole, id: string, body: { firstName: string; lastName: string; phone: string | null; specialty?: string }) => {
    const params = { path: { id } };
    if (role === 'hospital_admin') return must(api.PATCH('/api/hospital-admins/{id}', { params, body }));
    if (role === 'doctor') return must(api.PATCH('/api/doctors/{id}', { params, body }));
    return must(api.PATCH('/api/secretaries/{id}', { params, body }));
  },
  remove: (role: StaffRole, id: string) => {
    const params = { path: { id } };
    if (role === 'hospital_admin') return must(api.DELETE('/api/hospital-admins/{id}', { params }));
    if (role === 'doctor') return must(api.DELETE('/api/doctors/{id}', { params }));
    return must(api.DELETE('/api/secretaries/{id}', { params }));
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
  const { q, page, setPage, search } = useListQuery();
  const list = useQuery({
    queryKey: [...keys.accounts(role), hospitalId, q, page],
    queryFn: () => calls.list(role, { page, pageSize: PAGE_SIZE, q: q || undefined, hospitalId }),
  });
  const setActive = useMutation<unknown, ApiError, { id: string; isActive: boolean }>({
    mutationFn: ({ id, isActive }) => calls.setActive(role, id, isActive),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.accounts(role) }),
  });
  const remove = useMutation<unknown, ApiError, string>({
    mutationFn: (id) => calls.remove(role, id),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.accounts(role) }),
  });
  const [editing, setEditing] = useState<Row | null>(null);
  const items = list.data?.items ?? [];
  return (
    <Card withBorder component="section" aria-labelledby={`staff-${role}`}>
      <Stack>
        <Title order={2} size="h4" id={`staff-${role}`}>
          {t(`staff.${role}.title`)}
        </Title>
        <NewStaff role={role} hospitalId={hospitalId} />
        <SearchBox onSearch={search} />
        <ErrorAlert error={list.error ?? setActive.error ?? remove.error} />
        <DataTable
          headers={[t('staff.name'), t('staff.email'), role === 'doctor' && t('staff.specialty'), t('common.status'), t('common.actions')]}
        >
          {items.map((a) => (
            <Table.Tr key={a.id}>
              <Table.Td>
                {a.firstName} {a.lastName}
              </Table.Td>
              <Table.Td>{a.email}</Table.Td>
              {role === 'doctor' && <Table.Td>{a.specialty}</Table.Td>}
              <Table.Td>
                <StatusBadge active={a.isActive ?? true} />
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
                <Button
                  size="compact-sm"
                  variant="subtle"
                  ml={4}
                  onClick={() => setEditing(a)}
                  aria-label={`${t('common.edit')} ${a.firstName} ${a.lastName}`}
                >
                  {t('common.edit')}
                </Button>
                <Button
                  size="compact-sm"
                  variant="subtle"
                  color="red"
                  ml={4}
                  onClick={() => window.confirm(t('staff.confirmDelete', { name: `${a.firstName} ${a.lastName}` })) && remove.mutate(a.id)}
                  aria-label={`${t('common.delete')} ${a.firstName} ${a.lastName}`}
                >
                  {t('common.delete')}
                </Button>
              </Table.Td>
            </Table.Tr>
          ))}
        </DataTable>
        {items.length === 0 && list.isSuccess && <Text c="dimmed">{t('common.none')}</Text>}
        {list.data && <Pager page={page} pageSize={PAGE_SIZE} total={list.data.total} onChange={setPage} />}
      </Stack>
      <Modal
        opened={editing !== null}
        onClose={() => setEditing(null)}
        title={t('common.edit')}
        closeButtonProps={{ 'aria-label': t('common.close') }}
      >
        {editing && <EditStaff role={role} account={editing} onDone={() => setEditing(null)} />}
      </Modal>
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

function EditStaff({ role, account, onDone }: { role: StaffRole; account: Row; onDone: () => void }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const { values, set } = useFields({
    firstName: account.firstName,
    lastName: account.lastName,
    phone: account.phone ?? '',
    specialty: account.specialty ?? '',
  });
  const save = useMutation<unknown, ApiError>({
    mutationFn: async () => {
      await calls.update(role, account.id, {
        firstName: values.firstName.trim(),
        lastName: values.lastName.trim(),
        phone: values.phone.trim() || null,
        ...(role === 'doctor' ? { specialty: values.specialty.trim() } : {}),
      });
      await client.invalidateQueries({ queryKey: keys.accounts(role) });
      onDone();
    },
  });
  const errors = save.error?.fieldErrors() ?? {};
  return (
    <form onSubmit={onSubmit(() => save.mutate())} noValidate>
      <Stack>
        <ErrorAlert error={save.error} />
        <TextInput label={t('staff.firstName')} required value={values.firstName} onChange={set('firstName')} error={errors.firstName} />
        <TextInput label={t('staff.lastName')} required value={values.lastName} onChange={set('lastName')} error={errors.lastName} />
        <TextInput label={t('staff.phone')} value={values.phone} onChange={set('phone')} error={errors.phone} />
        {role === 'doctor' && (
          <TextInput label={t('staff.specialty')} required value={values.specialty} onChange={set('specialty')} error={errors.specialty} />
        )}
        <Group justify="flex-end">
          <Button type="submit" loading={save.isPending}>
            {t('common.save')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
