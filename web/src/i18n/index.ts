import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import { en } from './en';
import { fr } from './fr';
import { session } from '../auth/session';

/** The console's texts; the language follows the session (the account's `locale`, else the browser's). */
void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, fr: { translation: fr } },
  lng: session.language(),
  fallbackLng: false,
  interpolation: { escapeValue: false },
  returnNull: false,
});

session.subscribe(() => {
  const language = session.language();
  if (i18n.language !== language) void i18n.changeLanguage(language);
  document.documentElement.lang = language;
});
document.documentElement.lang = session.language();

export default i18n;
