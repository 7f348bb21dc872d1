import {
  Badge,
  Button,
  Card,
  Group,
  Modal,
  SegmentedControl,
  Select,
  SimpleGrid,
  Stack,
  Text,
  Textarea,
  TextInput,
  Timeline,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api, must, type ApiError } from '../../api/client';
import { keys } from '../../api/queries';
import type { Entry } from '../../api/types';
import { ErrorAlert } from '../../components/ErrorAlert';
import { Pager } from '../../components/Pager';

const TYPES = ['consultation', 'antecedent', 'treatment', 'prescription', 'allergy', 'note'] as const;
type EntryType = (typeof TYPES)[number];
const PRESCRIPTION = ['medication', 'dosage', 'route', 'frequency', 'duration'] as const;
const PAGE_SIZE = 20;

/** A patient's medical record: entries by type, each with its version history; linked doctors write, the patient reads. */
export function Chart({ patientId, canWrite }: { patientId: string; canWrite: boolean }) {
  const { t } = useTranslation();
  const [type, setType] = useState<EntryType | 'all'>('all');
  const [page, setPage] = useState(1);
  const [editing, setEditing] = useState<Entry | null>(null);
  const [history, setHistory] = useState<Entry | null>(null);
  const list = useQuery({
    queryKey: [...keys.entries(patientId), type, page],
    queryFn: () =>
      must(
        api.GET('/api/medical-records', {
          params: { query: { patientId, page, pageSize: PAGE_SIZE, type: type === 'all' ? undefined : type, sort: '-recordedAt' } },
        }),
      ),
  });
  return (
    <Card withBorder component="section" aria-labelledby="chart-title">
      <Stack>
        <Title order={2} size="h4" id="chart-title">
          {t('chart.title')}
        </Title>
        {canWrite && <EntryForm patientId={patientId} />}
        <SegmentedControl
          aria-label={t('chart.type')}
          value={type}
          onChange={(v) => {
            setType(v as EntryType | 'all');
            setPage(1);
          }}
          data={[{ value: 'all', label: t('chart.all') }, ...TYPES.map((v) => ({ value: v, label: t(`chart.types.${v}`) }))]}
        />
        <ErrorAlert error={list.error} />
        {list.data?.items.length === 0 && <Text c="dimmed">{t('chart.empty')}</Text>}
        {list.data?.items.map((e) => (
          <Card key={e.id} withBorder padding="sm" component="article" aria-label={e.title}>
            <Group justify="space-between" wrap="nowrap">
              <Group>
                <Badge>{t(`chart.types.${e.type}`)}</Badge>
                <Text fw={600}>{e.title}</Text>
              </Group>
              <Text size="sm" c="dimmed">
                {new Date(e.recordedAt).toLocaleString()} · {e.author.firstName} {e.author.lastName} · v{e.version}
              </Text>
            </Group>
            <Text size="sm" style={{ whiteSpace: 'pre-wrap' }}>
              {e.content}
            </Text>
            {e.medication && <Text size="sm">{PRESCRIPTION.map((k) => `${t(`chart.${k}`)}: ${e[k] ?? ''}`).join(' · ')}</Text>}
            <Group mt="xs">
              <Button size="compact-sm" variant="subtle" onClick={() => setHistory(e)} aria-label={`${t('chart.history')} — ${e.title}`}>
                {t('chart.history')}
              </Button>
              {canWrite && (
                <Button size="compact-sm" variant="subtle" onClick={() => setEditing(e)} aria-label={`${t('chart.edit')} — ${e.title}`}>
                  {t('chart.edit')}
                </Button>
              )}
            </Group>
          </Card>
        ))}
        {list.data && <Pager page={page} pageSize={PAGE_SIZE} total={list.data.total} onChange={setPage} />}
      </Stack>
      <Modal
        opened={editing !== null}
        onClose={() => setEditing(null)}
        title={t('chart.edit')}
        size="lg"
        closeButtonProps={{ 'aria-label': t('common.close') }}
      >
        {editing && <EntryForm patientId={patientId} entry={editing} onDone={() => setEditing(null)} />}
      </Modal>
      <Modal
        opened={history !== null}
        onClose={() => setHistory(null)}
        title={t('chart.history')}
        size="lg"
        closeButtonProps={{ 'aria-label': t('common.close') }}
      >
        {history && <History entryId={history.id} />}
      </Modal>
    </Card>
  );
}

function EntryForm({ patientId, entry, onDone }: { patientId: string; entry?: Entry; onDone?: () => void }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const empty = {
    type: 'consultation' as EntryType,
    title: '',
    content: '',
    medication: '',
    dosage: '',
    route: '',
    frequency: '',
    duration: '',
  };
  const [form, setForm] = useState(
    entry
      ? {
          type: entry.type,
          title: entry.title,
          content: entry.content,
          ...Object.fromEntries(PRESCRIPTION.map((k) => [k, entry[k] ?? ''])),
        }
      : empty,
  );
  const save = useMutation<unknown, ApiError>({
    mutationFn: async () => {
      const prescription =
        form.type === 'prescription' ? Object.fromEntries(PRESCRIPTION.map((k) => [k, (form as Record<string, string>)[k]!.trim()])) : null;
      const body = { type: form.type, title: form.title.trim(), content: form.content.trim() };
      if (entry) {
        await must(
          api.PATCH('/api/medical-records/{id}', {
            params: { path: { id: entry.id } },
            body: { ...body, prescription: prescription as never },
          }),
        );
      } else {
        await must(
          api.POST('/api/medical-records', {
            body: { ...body, patientId, ...(prescription ? { prescription: prescription as never } : {}) },
          }),
        );
        setForm(empty);
      }
      await client.invalidateQueries({ queryKey: keys.entries(patientId) });
      onDone?.();
    },
  });
  const fields = save.error?.fieldErrors() ?? {};
  const set = (k: string) => (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) =>
    setForm({ ...form, [k]: e.currentTarget.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <form onSubmit={submit} noValidate aria-label={entry ? t('chart.edit') : t('chart.new')}>
      <Stack gap="xs">
        {!entry && <Text fw={600}>{t('chart.new')}</Text>}
        <ErrorAlert error={save.error} />
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <Select
            label={t('chart.type')}
            required
            value={form.type}
            onChange={(v) => setForm({ ...form, type: (v ?? 'note') as EntryType })}
            data={TYPES.map((v) => ({ value: v, label: t(`chart.types.${v}`) }))}
            error={fields.type}
          />
          <TextInput label={t('chart.entryTitle')} required value={form.title} onChange={set('title')} error={fields.title} />
        </SimpleGrid>
        <Textarea
          label={t('chart.content')}
          required
          autosize
          minRows={3}
          value={form.content}
          onChange={set('content')}
          error={fields.content}
        />
        {form.type === 'prescription' && (
          <SimpleGrid cols={{ base: 1, sm: 3 }}>
            {PRESCRIPTION.map((k) => (
              <TextInput
                key={k}
                label={t(`chart.${k}`)}
                required
                value={(form as Record<string, string>)[k]}
                onChange={set(k)}
                error={fields[`prescription.${k}`] ?? fields[k]}
              />
            ))}
          </SimpleGrid>
        )}
        <Group>
          <Button type="submit" loading={save.isPending}>
            {entry ? t('common.save') : t('chart.add')}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

function History({ entryId }: { entryId: string }) {
  const { t } = useTranslation();
  const history = useQuery({
    queryKey: ['history', entryId],
    queryFn: () => must(api.GET('/api/medical-records/{id}/history', { params: { path: { id: entryId } } })),
  });
  if (history.error) return <ErrorAlert error={history.error} />;
  return (
    <Timeline active={history.data?.items.length ?? 0} bulletSize={18}>
      {history.data?.items.map((v) => (
        <Timeline.Item key={v.version} title={`v${v.version} — ${t(`chart.changes.${v.change}`)}`}>
          <Text size="sm" c="dimmed">
            {new Date(v.changedAt).toLocaleString()} · {v.changedBy.firstName} {v.changedBy.lastName}
            {v.changedFields.length > 0 ? ` · ${v.changedFields.join(', ')}` : ''}
          </Text>
          <Text size="sm" fw={600}>
            {t(`chart.types.${v.entry.type}`)} — {v.entry.title}
          </Text>
          <Text size="sm" style={{ whiteSpace: 'pre-wrap' }}>
            {v.entry.content}
          </Text>
        </Timeline.Item>
      ))}
    </Timeline>
  );
}
