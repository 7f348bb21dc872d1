import { Stack, Text, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { useSession } from '../auth/session';

/** Where every role lands: who is logged in, and the menu of its work beside. */
export function HomePage() {
  const { t } = useTranslation();
  const { user } = useSession();
  if (!user) return null;
  return (
    <Stack>
      <Title order={1}>{t('home.welcome', { name: `${user.firstName} ${user.lastName}` })}</Title>
      <Text>{t('home.signedInAs', { role: t(`roles.${user.role}`) })}</Text>
    </Stack>
  );
}
