import { Alert, Button, Group, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';

/**
 * An error as a person reads it: the API's message (already in the account's language) and, for a resource changed
 * meanwhile (412), the offer to reload it — what was typed stays in the form.
 */
export function ErrorAlert({ error, onReload }: { error: unknown; onReload?: () => void }) {
  const { t } = useTranslation();
  if (!error) return null;
  const api = error instanceof ApiError ? error : null;
  if (api?.status === 412) {
    return (
      <Alert color="yellow" role="alert">
        <Group justify="space-between">
          <Text size="sm">{t('common.changedMeanwhile')}</Text>
          {onReload && (
            <Button size="xs" variant="white" onClick={onReload}>
              {t('common.reload')}
            </Button>
          )}
        </Group>
      </Alert>
    );
  }
  return (
    <Alert color="red" role="alert" title={api ? undefined : t('common.error')}>
      {api ? api.message : String((error as Error)?.message ?? error)}
    </Alert>
  );
}
