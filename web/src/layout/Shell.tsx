import { AppShell, Burger, Button, Group, NavLink, Text, VisuallyHidden } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useTranslation } from 'react-i18next';
import { Link, Outlet, useLocation } from 'react-router';
import { api } from '../api/client';
import { session, useSession } from '../auth/session';
import { LanguagePicker } from './LanguagePicker';
import { NotificationsMenu } from './NotificationsMenu';
import { menuFor } from './menu';

/** The frame of every page: the header (notifications, language, account) and the role's menu. */
export function Shell() {
  const { t } = useTranslation();
  const { user } = useSession();
  const location = useLocation();
  const [opened, { toggle }] = useDisclosure();
  if (!user) return null;
  const logout = async () => {
    await api.POST('/api/auth/logout').catch(() => undefined);
    session.end('logout');
  };
  return (
    <AppShell header={{ height: 60 }} navbar={{ width: 240, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <a href="#main" className="skip-link">
        {t('app.skipToContent')}
      </a>
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group>
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label={t('nav.mainMenu')} />
            <Text fw={700} size="lg">
              {t('app.name')}
            </Text>
          </Group>
          <Group wrap="nowrap">
            <NotificationsMenu />
            <LanguagePicker />
            <Text size="sm" visibleFrom="sm">
              {user.firstName} {user.lastName} · {t(`roles.${user.role}`)}
            </Text>
            <Button variant="default" size="xs" onClick={() => void logout()}>
              {t('header.logout')}
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" component="nav" aria-label={t('nav.mainMenu')}>
        <VisuallyHidden>{t('nav.mainMenu')}</VisuallyHidden>
        {menuFor(user.role).map((item) => (
          <NavLink
            key={item.to}
            component={Link}
            to={item.to}
            label={t(item.label)}
            active={item.to === '/' ? location.pathname === '/' : location.pathname.startsWith(item.to)}
          />
        ))}
      </AppShell.Navbar>
      <AppShell.Main id="main" tabIndex={-1}>
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
