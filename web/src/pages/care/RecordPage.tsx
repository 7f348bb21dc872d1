import { Card, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, must } from '../../api/client';
import { useSession } from '../../auth/session';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Pager } from '../../components/Pager';
import { Chart } from './Chart';
import { Studies } from './Studies';

/** The patient's own record, read only, and who accessed it. */
export function RecordPage() {
  const { t } = useTranslation();
  const { user } = useSession();
  if (!user) return null;
  return (
    <Stack>
      <Title order={1}>{t('record.title')}</Title>
      <Chart patientId={user.id} canWrite={false} />
      <AccessLog patientId={user.id} />
    </Stack>
  );
}

/** The patient's own images: view, share, download. */
export function ImagesPage() {
  const { t } = useTranslation();
  const { user } = useSession();
  if (!user) return null;
  return (
    <Stack>
      <Title order={1}>{t('nav.images')}</Title>
      <Studies patientId={user.id} canWrite={false} />
    </Stack>
  );
}

function AccessLog({ patientId }: { patientId: string }) {
  const { t } = useTranslation();
  const [page, setPage] = useState(1);
  const log = useQuery({
    queryKey: ['access-log', patientId, page],
    queryFn: () => must(api.GET('/api/patients/{id}/access-log', { params: { path: { id: patientId }, query: { page, pageSize: 20 } } })),
  });
  return (
    <Card withBorder component="section" aria-labelledby="access-title">
      <Stack>
        <Title order={2} size="h4" id="access-title">
          {t('record.accessLog')}
        </Title>
        <ErrorAlert error={log.error} />
        {log.data?.items.length === 0 && <Text c="dimmed">{t('common.none')}</Text>}
        <Table>
          <Table.Tbody>
            {log.data?.items.map((a, i) => (
              <Table.Tr key={`${a.at}-${i}`}>
                <Table.Td>{new Date(a.at).toLocaleString()}</Table.Td>
                <Table.Td>{a.actor ? `${a.actor.firstName} ${a.actor.lastName}` : t('record.system')}</Table.Td>
                <Table.Td>{a.action}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        {log.data && <Pager page={page} pageSize={20} total={log.data.total} onChange={setPage} />}
      </Stack>
    </Card>
  );
}
