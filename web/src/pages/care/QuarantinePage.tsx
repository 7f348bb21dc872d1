import { Button, Group, Select, Stack, Table, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, must, type ApiError } from '../../api/client';
import { keys } from '../../api/queries';
import { ErrorAlert } from '../../components/ErrorAlert';

/** Studies the hospital's devices pushed that could not be filed: a doctor assigns one to its patient, or discards it. */
export function QuarantinePage() {
  const { t } = useTranslation();
  const list = useQuery({
    queryKey: keys.quarantine,
    queryFn: () => must(api.GET('/api/dicom/unmatched', { params: { query: { page: 1, pageSize: 50 } } })),
  });
  return (
    <Stack>
      <Title order={1}>{t('quarantine.title')}</Title>
      <Text size="sm">{t('quarantine.intro')}</Text>
      <ErrorAlert error={list.error} />
      {list.data?.items.length === 0 && <Text c="dimmed">{t('quarantine.empty')}</Text>}
      <Table striped>
        <Table.Tbody>
          {list.data?.items.map((s) => (
            <Table.Tr key={s.id}>
              <Table.Td>{new Date(s.receivedAt).toLocaleString()}</Table.Td>
              <Table.Td>{s.sourceAeTitle ?? '—'}</Table.Td>
              <Table.Td>{s.dicomPatientId ?? '—'}</Table.Td>
              <Table.Td>{t('quarantine.instances', { count: s.numberOfInstances })}</Table.Td>
              <Table.Td>
                <Resolve id={s.id} />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

function Resolve({ id }: { id: string }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [patientId, setPatientId] = useState<string | null>(null);
  const patients = useQuery({
    queryKey: [...keys.patients, 'options'],
    queryFn: async () =>
      (await must(api.GET('/api/patients', { params: { query: { page: 1, pageSize: 100, sort: 'lastName' } } }))).items.map((p) => ({
        value: p.id,
        label: `${p.lastName} ${p.firstName} (${p.identifier})`,
      })),
  });
  const done = () => client.invalidateQueries({ queryKey: keys.quarantine });
  const assign = useMutation<unknown, ApiError>({
    mutationFn: () => must(api.POST('/api/dicom/unmatched/{id}/assign', { params: { path: { id } }, body: { patientId: patientId! } })),
    onSuccess: done,
  });
  const discard = useMutation<unknown, ApiError>({
    mutationFn: () => must(api.DELETE('/api/dicom/unmatched/{id}', { params: { path: { id } } })),
    onSuccess: done,
  });
  return (
    <Stack gap={4}>
      <Group gap={4} align="flex-end">
        <Select
          label={t('quarantine.patient')}
          data={patients.data ?? []}
          value={patientId}
          onChange={setPatientId}
          searchable
          size="xs"
          w={260}
        />
        <Button size="compact-sm" disabled={!patientId} onClick={() => assign.mutate()} loading={assign.isPending}>
          {t('quarantine.assign')}
        </Button>
        <Button size="compact-sm" color="red" variant="outline" onClick={() => discard.mutate()} loading={discard.isPending}>
          {t('quarantine.discard')}
        </Button>
      </Group>
      <ErrorAlert error={assign.error ?? discard.error} />
    </Stack>
  );
}
