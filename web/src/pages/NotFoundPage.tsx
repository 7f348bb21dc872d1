import { Anchor, Stack, Text, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';

/** A path the console does not have. */
export function NotFoundPage() {
  const { t } = useTranslation();
  return (
    <Stack>
      <Title order={1}>404</Title>
      <Text>{t('common.notFound')}</Text>
      <Anchor component={Link} to="/">
        {t('common.backHome')}
      </Anchor>
    </Stack>
  );
}
