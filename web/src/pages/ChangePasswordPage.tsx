import { Alert, Button, Center, Paper, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { api, must, type ApiError } from '../api/client';
import { session } from '../auth/session';
import { notify } from '../layout/notify';

/** The password change, forced at first login and available afterwards. */
export function ChangePasswordPage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [currentPassword, setCurrent] = useState('');
  const [newPassword, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const change = useMutation<unknown, ApiError>({
    mutationFn: async () => {
      const { user } = await must(api.POST('/api/auth/change-password', { body: { currentPassword, newPassword } }));
      session.updateUser(user);
      notify(t('changePassword.done'));
      void navigate('/', { replace: true });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setMismatch(newPassword !== confirm);
    if (newPassword === confirm) change.mutate();
  };
  const fields = change.error?.fieldErrors() ?? {};
  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" w={440} maw="100%">
        <form onSubmit={submit} noValidate aria-labelledby="change-title">
          <Stack>
            <Title order={1} size="h2" id="change-title">
              {t('changePassword.title')}
            </Title>
            <Text size="sm">{t('changePassword.intro')}</Text>
            {change.error && (
              <Alert color="red" role="alert">
                {change.error.message}
              </Alert>
            )}
            <PasswordInput
              label={t('changePassword.current')}
              autoComplete="current-password"
              required
              value={currentPassword}
              onChange={(e) => setCurrent(e.currentTarget.value)}
              error={fields.currentPassword}
            />
            <PasswordInput
              label={t('changePassword.next')}
              description={t('changePassword.rules')}
              autoComplete="new-password"
              required
              value={newPassword}
              onChange={(e) => setNext(e.currentTarget.value)}
              error={fields.newPassword}
            />
            <PasswordInput
              label={t('changePassword.confirm')}
              autoComplete="new-password"
              required
              value={confirm}
              onChange={(e) => setConfirm(e.currentTarget.value)}
              error={mismatch ? t('changePassword.mismatch') : undefined}
            />
            <Button type="submit" loading={change.isPending}>
              {t('changePassword.submit')}
            </Button>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
