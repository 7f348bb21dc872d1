import { Button, NumberInput, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, must, type ApiError } from '../../api/client';
import { keys } from '../../api/queries';
import { DataTable } from '../../components/DataTable';
import { ErrorAlert } from '../../components/ErrorAlert';
import { FormSection } from '../../components/FormSection';
import { StatusBadge } from '../../components/StatusBadge';

/** A hospital admin's DICOM devices: what may push to the device gate, from where. */
export function DevicesPage() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const list = useQuery({
    queryKey: keys.devices,
    queryFn: () => must(api.GET('/api/modalities')),
  });
  const remove = useMutation<unknown, ApiError, string>({
    mutationFn: (id) => must(api.DELETE('/api/modalities/{id}', { params: { path: { id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.devices }),
  });
  return (
    <Stack>
      <Title order={1}>{t('devices.title')}</Title>
      <NewDevice />
      <ErrorAlert error={list.error ?? remove.error} />
      <DataTable
        headers={[
          t('devices.aeTitle'),
          t('devices.host'),
          t('devices.port'),
          t('devices.description'),
          t('common.status'),
          t('common.actions'),
        ]}
      >
        {(list.data?.items ?? []).map((d) => (
          <Table.Tr key={d.id}>
            <Table.Td>{d.aeTitle}</Table.Td>
            <Table.Td>{d.host}</Table.Td>
            <Table.Td>{d.port}</Table.Td>
            <Table.Td>{d.description}</Table.Td>
            <Table.Td>
              <StatusBadge active={d.isActive} />
            </Table.Td>
            <Table.Td>
              <Button
                size="compact-sm"
                color="red"
                variant="outline"
                onClick={() => remove.mutate(d.id)}
                aria-label={`${t('common.delete')} ${d.aeTitle}`}
              >
                {t('common.delete')}
              </Button>
            </Table.Td>
          </Table.Tr>
        ))}
      </DataTable>
      {list.isSuccess && list.data.items.length === 0 && <Text c="dimmed">{t('common.none')}</Text>}
    </Stack>
  );
}

function NewDevice() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [form, setForm] = useState({ aeTitle: '', host: '', port: 104 as number | string, description: '' });
  const create = useMutation<unknown, ApiError>({
    mutationFn: async () => {
      await must(
        api.POST('/api/modalities', {
          body: {
            aeTitle: form.aeTitle.trim(),
            host: form.host.trim(),
            port: Number(form.port),
            description: form.description.trim() || null,
          },
        }),
      );
      setForm({ aeTitle: '', host: '', port: 104, description: '' });
      await client.invalidateQueries({ queryKey: keys.devices });
    },
  });
  const fields = create.error?.fieldErrors() ?? {};
  return (
    <FormSection title={t('devices.new')} mutation={create} submitLabel={t('devices.create')}>
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <TextInput
          label={t('devices.aeTitle')}
          required
          value={form.aeTitle}
          onChange={(e) => setForm({ ...form, aeTitle: e.currentTarget.value })}
          error={fields.aeTitle}
        />
        <TextInput
          label={t('devices.host')}
          required
          value={form.host}
          onChange={(e) => setForm({ ...form, host: e.currentTarget.value })}
          error={fields.host}
        />
        <NumberInput
          label={t('devices.port')}
          required
          min={1}
          max={65535}
          value={form.port}
          onChange={(v) => setForm({ ...form, port: v })}
          error={fields.port}
        />
        <TextInput
          label={t('devices.description')}
          value={form.description}
          onChange={(e) => setForm({ ...form, description: e.currentTarget.value })}
          error={fields.description}
        />
      </SimpleGrid>
    </FormSection>
  );
}
