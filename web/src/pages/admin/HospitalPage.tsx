import { Button, Card, Group, Modal, Stack, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate, useParams } from 'react-router';
import { api, must, type ApiError } from '../../api/client';
import { keys } from '../../api/queries';
import { ErrorAlert } from '../../components/ErrorAlert';
import { FormSection } from '../../components/FormSection';
import { notify } from '../../layout/notify';
import { StaffSection } from './StaffSection';
import { useFields } from '../../components/forms';
import { StatusBadge } from '../../components/StatusBadge';
import { EMPTY_HOSPITAL, HospitalFields, type HospitalValues } from './HospitalFields';

/** One hospital for the super admin: its details (If-Match on save), deactivation, deletion and its admins. */
export function HospitalPage() {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const client = useQueryClient();
  const hospital = useQuery({
    queryKey: [...keys.hospitals, id],
    queryFn: async () => {
      const res = await api.GET('/api/hospitals/{id}', { params: { path: { id } } });
      return { data: await must(Promise.resolve(res)), etag: res.response.headers.get('ETag') ?? '' };
    },
  });
  const { values: form, set, setValues: setForm } = useFields(EMPTY_HOSPITAL);
  const [filled, setFilled] = useState(false);
  // The form starts from what was read; a reload after a 412 refreshes the version, never what was typed.
  useEffect(() => {
    if (hospital.data && !filled) {
      const h = hospital.data.data;
      setForm({ name: h.name, city: h.city ?? '', address: h.address ?? '', phone: h.phone ?? '', email: h.email ?? '' });
      setFilled(true);
    }
  }, [hospital.data, filled, setForm]);
  const refresh = () => client.invalidateQueries({ queryKey: keys.hospitals });
  const save = useMutation<unknown, ApiError>({
    mutationFn: async () => {
      const body = Object.fromEntries(Object.entries(form).map(([k, v]) => [k, v.trim() || null])) as HospitalValues;
      await must(api.PATCH('/api/hospitals/{id}', { params: { path: { id } }, body, headers: { 'If-Match': hospital.data?.etag ?? '*' } }));
      notify(t('common.saved'));
      await refresh();
    },
  });
  const setActive = useMutation<unknown, ApiError, boolean>({
    mutationFn: async (isActive) => {
      await must(api.PATCH('/api/hospitals/{id}', { params: { path: { id } }, body: { isActive } }));
      await refresh();
    },
  });
  const [confirming, confirm] = useDisclosure(false);
  const remove = useMutation<unknown, ApiError>({
    mutationFn: async () => {
      await must(api.DELETE('/api/hospitals/{id}', { params: { path: { id } } }));
      await refresh();
      void navigate('/hospitals');
    },
  });
  if (hospital.error) return <ErrorAlert error={hospital.error} />;
  if (!hospital.data || !filled) return <Text>{t('common.loading')}</Text>;
  const h = hospital.data.data;
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1}>{h.name}</Title>
        <StatusBadge active={h.isActive} size="lg" />
      </Group>
      <FormSection title={t('hospitals.details')} mutation={save} submitLabel={t('common.save')} onReload={() => void hospital.refetch()}>
        <HospitalFields values={form} set={set} errors={save.error?.fieldErrors() ?? {}} />
      </FormSection>
      <Card withBorder component="section" aria-labelledby="hospital-status">
        <Stack>
          <Title order={2} size="h4" id="hospital-status">
            {t('hospitals.statusTitle')}
          </Title>
          <ErrorAlert error={setActive.error ?? remove.error} />
          <Group>
            <Button variant="default" loading={setActive.isPending} onClick={() => setActive.mutate(!h.isActive)}>
              {t(h.isActive ? 'hospitals.deactivate' : 'hospitals.reactivate')}
            </Button>
            <Button color="red" variant="outline" onClick={confirm.open}>
              {t('hospitals.delete')}
            </Button>
          </Group>
        </Stack>
      </Card>
      <Modal
        opened={confirming}
        onClose={confirm.close}
        title={t('hospitals.deleteTitle', { name: h.name })}
        closeButtonProps={{ 'aria-label': t('common.close') }}
      >
        <Stack>
          <Text size="sm">{t('hospitals.deleteText')}</Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={confirm.close}>
              {t('common.cancel')}
            </Button>
            <Button
              color="red"
              loading={remove.isPending}
              onClick={() => {
                confirm.close();
                remove.mutate();
              }}
            >
              {t('hospitals.delete')}
            </Button>
          </Group>
        </Stack>
      </Modal>
      <StaffSection role="hospital_admin" hospitalId={id} />
    </Stack>
  );
}
