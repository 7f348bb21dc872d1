import { Anchor, Stack, Table, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { api, must, type ApiError } from '../../api/client';
import { keys } from '../../api/queries';
import { DataTable } from '../../components/DataTable';
import { ErrorAlert } from '../../components/ErrorAlert';
import { FormSection } from '../../components/FormSection';
import { Pager } from '../../components/Pager';
import { SearchBox } from '../../components/SearchBox';
import { useListQuery } from '../../components/useListQuery';
import { useFields } from '../../components/forms';
import { StatusBadge } from '../../components/StatusBadge';
import { EMPTY_HOSPITAL, HospitalFields } from './HospitalFields';

const PAGE_SIZE = 20;

/** The super admin's hospitals: search, open one, create one. */
export function HospitalsPage() {
  const { t } = useTranslation();
  const { q, page, setPage, search } = useListQuery();
  const list = useQuery({
    queryKey: [...keys.hospitals, q, page],
    queryFn: () => must(api.GET('/api/hospitals', { params: { query: { page, pageSize: PAGE_SIZE, q: q || undefined, sort: 'name' } } })),
  });
  return (
    <Stack>
      <Title order={1}>{t('hospitals.title')}</Title>
      <NewHospital />
      <SearchBox onSearch={search} />
      <ErrorAlert error={list.error} />
      <DataTable highlightOnHover headers={[t('hospitals.name'), t('hospitals.city'), t('common.status')]}>
        {list.data?.items.map((h) => (
          <Table.Tr key={h.id}>
            <Table.Td>
              <Anchor component={Link} to={`/hospitals/${h.id}`}>
                {h.name}
              </Anchor>
            </Table.Td>
            <Table.Td>{h.city}</Table.Td>
            <Table.Td>
              <StatusBadge active={h.isActive} />
            </Table.Td>
          </Table.Tr>
        ))}
      </DataTable>
      {list.data && <Pager page={page} pageSize={PAGE_SIZE} total={list.data.total} onChange={setPage} />}
    </Stack>
  );
}

function NewHospital() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const client = useQueryClient();
  const { values, set } = useFields(EMPTY_HOSPITAL);
  const create = useMutation<unknown, ApiError>({
    mutationFn: async () => {
      const body = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v.trim() || undefined])) as { name: string };
      const created = await must(api.POST('/api/hospitals', { body }));
      await client.invalidateQueries({ queryKey: keys.hospitals });
      void navigate(`/hospitals/${created.id}`);
    },
  });
  return (
    <FormSection title={t('hospitals.new')} mutation={create} submitLabel={t('hospitals.create')}>
      <HospitalFields values={values} set={set} errors={create.error?.fieldErrors() ?? {}} />
    </FormSection>
  );
}
