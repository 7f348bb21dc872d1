import {
  Badge,
  Button,
  Card,
  CopyButton,
  Group,
  List,
  Modal,
  Progress,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
} from '@mantine/core';
import { Dropzone } from '@mantine/dropzone';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api, must, type ApiError } from '../../api/client';
import { keys } from '../../api/queries';
import type { Study, UploadResult } from '../../api/types';
import { saveBlob, uploadStudies, type UploadProgress } from '../../api/upload';
import { DataTable } from '../../components/DataTable';
import { ErrorAlert } from '../../components/ErrorAlert';

/** A patient's studies: upload (linked doctor), open in OHIF, share, reports, ZIP download. */
export function Studies({ patientId, canWrite }: { patientId: string; canWrite: boolean }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState<{ study: Study; panel: 'share' | 'reports' } | null>(null);
  const list = useQuery({
    queryKey: keys.studies(patientId),
    queryFn: () => must(api.GET('/api/dicom/studies', { params: { query: { patientId, page: 1, pageSize: 100, sort: '-studyDate' } } })),
  });
  return (
    <Card withBorder component="section" aria-labelledby="studies-title">
      <Stack>
        <Title order={2} size="h4" id="studies-title">
          {t('studies.title')}
        </Title>
        {canWrite && <Upload patientId={patientId} />}
        <ErrorAlert error={list.error} />
        {list.data?.items.length === 0 && <Text c="dimmed">{t('studies.empty')}</Text>}
        {(list.data?.items.length ?? 0) > 0 && (
          <DataTable
            headers={[t('studies.date'), t('studies.description'), t('studies.modalities'), t('studies.instances'), t('common.actions')]}
          >
            {list.data?.items.map((s) => (
              <Table.Tr key={s.id}>
                <Table.Td>{s.studyDate ?? '—'}</Table.Td>
                <Table.Td>{s.description ?? '—'}</Table.Td>
                <Table.Td>
                  {s.modalities.map((m) => (
                    <Badge key={m} variant="light" mr={4}>
                      {m}
                    </Badge>
                  ))}
                </Table.Td>
                <Table.Td>{s.numberOfInstances}</Table.Td>
                <Table.Td>
                  <StudyActions study={s} onPanel={(panel) => setOpen({ study: s, panel })} />
                </Table.Td>
              </Table.Tr>
            ))}
          </DataTable>
        )}
      </Stack>
      <Modal
        opened={open !== null}
        onClose={() => setOpen(null)}
        size="lg"
        title={open ? t(open.panel === 'share' ? 'studies.shareTitle' : 'studies.reportsTitle') : ''}
        closeButtonProps={{ 'aria-label': t('common.close') }}
      >
        {open?.panel === 'share' && <Shares study={open.study} />}
        {open?.panel === 'reports' && <Reports study={open.study} canWrite={canWrite} />}
      </Modal>
    </Card>
  );
}

function StudyActions({ study, onPanel }: { study: Study; onPanel: (panel: 'share' | 'reports') => void }) {
  const { t } = useTranslation();
  const name = study.description ?? study.studyDate ?? study.studyInstanceUid;
  const view = useMutation<unknown, ApiError>({
    mutationFn: async () => {
      // Opened at the click (a popup blocker allows it), pointed at OHIF once the viewer session exists.
      const tab = window.open('', '_blank');
      try {
        const session = await must(api.POST('/api/dicom/studies/{id}/viewer-sessions', { params: { path: { id: study.id } } }));
        if (tab) {
          tab.opener = null;
          tab.location.href = session.viewerUrl;
        }
      } catch (err) {
        tab?.close();
        throw err;
      }
    },
  });
  const download = useMutation<unknown, ApiError>({
    mutationFn: async () => {
      const blob = await must(api.GET('/api/dicom/studies/{id}/download', { params: { path: { id: study.id } }, parseAs: 'blob' }));
      await saveBlob(blob as Blob, `study-${study.studyInstanceUid}.zip`);
    },
  });
  return (
    <Stack gap={4}>
      <Group gap={4}>
        <Button size="compact-sm" onClick={() => view.mutate()} loading={view.isPending} aria-label={`${t('studies.view')} — ${name}`}>
          {t('studies.view')}
        </Button>
        <Button size="compact-sm" variant="default" onClick={() => onPanel('share')} aria-label={`${t('studies.share')} — ${name}`}>
          {t('studies.share')}
        </Button>
        <Button size="compact-sm" variant="default" onClick={() => onPanel('reports')} aria-label={`${t('studies.reports')} — ${name}`}>
          {t('studies.reports')}
        </Button>
        <Button
          size="compact-sm"
          variant="default"
          onClick={() => download.mutate()}
          loading={download.isPending}
          aria-label={`${t('studies.download')} — ${name}`}
        >
          {t('studies.download')}
        </Button>
      </Group>
      <ErrorAlert error={view.error ?? download.error} />
    </Stack>
  );
}

function Upload({ patientId }: { patientId: string }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [files, setFiles] = useState<File[]>([]);
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const upload = useMutation<UploadResult, ApiError, File[]>({
    mutationFn: (chosen) => uploadStudies(patientId, chosen, setProgress),
    onSettled: () => client.invalidateQueries({ queryKey: keys.studies(patientId) }),
  });
  const start = (chosen: File[]) => {
    if (chosen.length === 0) return;
    setFiles(chosen);
    setProgress({ sent: 0, total: chosen.reduce((a, f) => a + f.size, 0), perFile: chosen.map(() => 0) });
    upload.mutate(chosen);
  };
  const refused = upload.data?.refused ?? (upload.error?.body.error.details as { refused?: UploadResult['refused'] } | null)?.refused ?? [];
  return (
    <Stack gap="xs">
      <Dropzone onDrop={start} loading={upload.isPending} multiple>
        <Stack align="center" gap={2} py="md">
          <Text fw={600}>{t('studies.drop')}</Text>
          <Text size="sm" c="dimmed">
            {t('studies.dropHint')}
          </Text>
        </Stack>
      </Dropzone>
      <Group>
        <Button component="label" variant="default" size="xs">
          {t('studies.chooseFolder')}
          <input
            type="file"
            hidden
            multiple
            {...({ webkitdirectory: '' } as object)}
            onChange={(e) => start(Array.from(e.currentTarget.files ?? []))}
          />
        </Button>
      </Group>
      {progress && files.length > 0 && (
        <Stack gap={4} aria-live="polite">
          <Text size="sm">{t('studies.progress', { sent: Math.round((progress.sent / Math.max(progress.total, 1)) * 100) })}</Text>
          <Progress value={(progress.sent / Math.max(progress.total, 1)) * 100} aria-label={t('studies.totalProgress')} />
          {files.slice(0, 50).map((f, i) => (
            <Group key={`${f.name}-${i}`} gap="xs" wrap="nowrap">
              <Text size="xs" w={220} truncate>
                {f.name}
              </Text>
              <Progress value={(progress.perFile[i] ?? 0) * 100} size="sm" style={{ flex: 1 }} aria-label={f.name} />
            </Group>
          ))}
        </Stack>
      )}
      {upload.data && <Text size="sm">{t('studies.stored', { count: upload.data.stored.length })}</Text>}
      {upload.error && refused.length === 0 && <ErrorAlert error={upload.error} />}
      {refused.length > 0 && (
        <Stack gap={2} role="alert">
          <Text size="sm" fw={600} c="red.8">
            {t('studies.refused', { count: refused.length })}
          </Text>
          <List size="sm">
            {refused.map((r, i) => (
              <List.Item key={`${r.file}-${i}`}>
                {r.file}: {r.reason} ({r.code})
              </List.Item>
            ))}
          </List>
        </Stack>
      )}
    </Stack>
  );
}

function Shares({ study }: { study: Study }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [created, setCreated] = useState<string | null>(null);
  const list = useQuery({
    queryKey: keys.shares(study.id),
    queryFn: () => must(api.GET('/api/dicom/studies/{id}/shares', { params: { path: { id: study.id } } })),
  });
  const create = useMutation<unknown, ApiError>({
    mutationFn: async () => {
      const share = await must(
        api.POST('/api/dicom/studies/{id}/shares', { params: { path: { id: study.id } }, body: { expiresInHours: 72 } }),
      );
      setCreated(share.url);
      await client.invalidateQueries({ queryKey: keys.shares(study.id) });
    },
  });
  const revoke = useMutation<unknown, ApiError, string>({
    mutationFn: (id) => must(api.DELETE('/api/shares/{id}', { params: { path: { id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.shares(study.id) }),
  });
  return (
    <Stack>
      <Text size="sm">{t('studies.shareHint')}</Text>
      <ErrorAlert error={create.error ?? revoke.error ?? list.error} />
      <Group>
        <Button onClick={() => create.mutate()} loading={create.isPending}>
          {t('studies.createShare')}
        </Button>
      </Group>
      {created && (
        <Group wrap="nowrap" align="flex-end">
          <TextInput label={t('studies.shareUrl')} value={created} readOnly style={{ flex: 1 }} />
          <CopyButton value={created}>
            {({ copied, copy }) => (
              <Button variant="default" onClick={copy}>
                {copied ? t('studies.copied') : t('studies.copy')}
              </Button>
            )}
          </CopyButton>
        </Group>
      )}
      <Table>
        <Table.Tbody>
          {list.data?.items.map((s) => (
            <Table.Tr key={s.id}>
              <Table.Td>{t('studies.expires', { at: new Date(s.expiresAt).toLocaleString() })}</Table.Td>
              <Table.Td>
                {s.revokedAt ? (
                  <Badge color="gray" variant="dot">
                    {t('studies.revoked')}
                  </Badge>
                ) : (
                  <Badge color="green" variant="dot">
                    {t('common.active')}
                  </Badge>
                )}
              </Table.Td>
              <Table.Td>
                {!s.revokedAt && (
                  <Button size="compact-sm" color="red" variant="outline" onClick={() => revoke.mutate(s.id)}>
                    {t('studies.revoke')}
                  </Button>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

function Reports({ study, canWrite }: { study: Study; canWrite: boolean }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [form, setForm] = useState({ title: '', findings: '', conclusion: '' });
  const list = useQuery({
    queryKey: keys.reports(study.id),
    queryFn: () => must(api.GET('/api/dicom/studies/{id}/reports', { params: { path: { id: study.id } } })),
  });
  const create = useMutation<unknown, ApiError>({
    mutationFn: async () => {
      await must(api.POST('/api/dicom/studies/{id}/reports', { params: { path: { id: study.id } }, body: form }));
      setForm({ title: '', findings: '', conclusion: '' });
      await client.invalidateQueries({ queryKey: keys.reports(study.id) });
    },
  });
  const pdf = useMutation<unknown, ApiError, string>({
    mutationFn: async (reportId) => {
      const blob = await must(
        api.GET('/api/dicom/studies/{id}/reports/{reportId}/pdf', { params: { path: { id: study.id, reportId } }, parseAs: 'blob' }),
      );
      await saveBlob(blob as Blob, `report-${reportId}.pdf`);
    },
  });
  const fields = create.error?.fieldErrors() ?? {};
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <Stack>
      <ErrorAlert error={list.error ?? pdf.error} />
      {list.data?.items.length === 0 && <Text c="dimmed">{t('studies.noReports')}</Text>}
      {list.data?.items.map((r) => (
        <Card key={r.id} withBorder padding="sm">
          <Group justify="space-between">
            <Text fw={600}>{r.title}</Text>
            <Button size="compact-sm" variant="default" onClick={() => pdf.mutate(r.id)}>
              {t('studies.pdf')}
            </Button>
          </Group>
          <Text size="sm">{r.findings}</Text>
          <Text size="sm" fw={600}>
            {r.conclusion}
          </Text>
        </Card>
      ))}
      {canWrite && (
        <form onSubmit={submit} noValidate aria-label={t('studies.newReport')}>
          <Stack gap="xs">
            <Text fw={600}>{t('studies.newReport')}</Text>
            <ErrorAlert error={create.error} />
            <TextInput
              label={t('studies.reportTitle')}
              required
              value={form.title}
              onChange={(e) => setForm({ ...form, title: e.currentTarget.value })}
              error={fields.title}
            />
            <Textarea
              label={t('studies.findings')}
              required
              autosize
              minRows={3}
              value={form.findings}
              onChange={(e) => setForm({ ...form, findings: e.currentTarget.value })}
              error={fields.findings}
            />
            <Textarea
              label={t('studies.conclusion')}
              required
              autosize
              minRows={2}
              value={form.conclusion}
              onChange={(e) => setForm({ ...form, conclusion: e.currentTarget.value })}
              error={fields.conclusion}
            />
            <Group>
              <Button type="submit" loading={create.isPending}>
                {t('studies.writeReport')}
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Stack>
  );
}
