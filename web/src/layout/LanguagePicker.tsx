import { NativeSelect } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { api, must } from '../api/client';
import { session, useSession, type Language } from '../auth/session';

/** The interface language; for a logged-in account it is saved as its `locale` (messages and e-mails follow). */
export function LanguagePicker() {
  const { t } = useTranslation();
  const { user, language } = useSession();
  const choose = async (next: Language) => {
    session.setLanguage(next);
    if (user) session.updateUser((await must(api.PATCH('/api/auth/me', { body: { locale: next } }))).user);
  };
  return (
    <NativeSelect
      label={t('header.language')}
      value={language}
      onChange={(e) => void choose(e.currentTarget.value as Language)}
      data={[
        { value: 'en', label: 'English' },
        { value: 'fr', label: 'Français' },
      ]}
      size="xs"
      w={140}
    />
  );
}
