import { Alert, Button, Center, Paper, PasswordInput, Stack, TextInput, Title } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, useLocation } from 'react-router';
import { api, must, type ApiError } from '../api/client';
import { session, useSession } from '../auth/session';
import { LanguagePicker } from '../layout/LanguagePicker';

/** Log in; the forced password change follows when the account still has the one it was given. */
export function LoginPage() {
  const { t } = useTranslation();
  const { user, ended } = useSession();
  const location = useLocation();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const login = useMutation<unknown, ApiError>({
    mutationFn: async () => session.start(await must(api.POST('/api/auth/login', { body: { email, password } }))),
  });
  if (user) return <Navigate to={(location.state as { from?: string } | null)?.from ?? '/'} replace />;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    login.mutate();
  };
  const fields = login.error?.fieldErrors() ?? {};
  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" w={400} maw="100%">
        <form onSubmit={submit} noValidate aria-labelledby="login-title">
          <Stack>
            <Title order={1} size="h2" id="login-title">
              {t('login.title')}
            </Title>
            {ended && !login.error && (
              <Alert color={ended === 'expired' ? 'yellow' : 'blue'} role="status">
                {t(ended === 'expired' ? 'login.expired' : 'login.loggedOut')}
              </Alert>
            )}
            {login.error && (
              <Alert color="red" role="alert">
                {login.error.message}
              </Alert>
            )}
            <TextInput
              label={t('login.email')}
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.currentTarget.value)}
              error={fields.email}
            />
            <PasswordInput
              label={t('login.password')}
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.currentTarget.value)}
              error={fields.password}
            />
            <Button type="submit" loading={login.isPending}>
              {t('login.submit')}
            </Button>
            <LanguagePicker />
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
