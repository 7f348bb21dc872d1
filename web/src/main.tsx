import '@mantine/core/styles.css';
import '@mantine/notifications/styles.css';
import '@mantine/dropzone/styles.css';
import './app.css';
import { createTheme, MantineProvider, type CSSVariablesResolver } from '@mantine/core';
import { Notifications } from '@mantine/notifications';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { RouterProvider } from 'react-router';
import { ApiError } from './api/client';
import { session } from './auth/session';
import './i18n';
import { router } from './routes';

// The default shade of blue under white text is below WCAG AA (3.6:1): one shade darker is 4.9:1.
const theme = createTheme({ primaryColor: 'blue', primaryShade: { light: 8, dark: 8 } });

// Dimmed text (descriptions, secondary lines) in gray 6 is 3.3:1 on white; gray 7 reads at 7:1.
const contrast: CSSVariablesResolver = () => ({
  variables: {},
  light: { '--mantine-color-dimmed': 'var(--mantine-color-gray-7)' },
  dark: {},
});

const queries = new QueryClient({
  defaultOptions: {
    // A refusal (4xx) is an answer, not a glitch: only network failures and 5xx are retried.
    queries: { retry: (count, err) => count < 2 && !(err instanceof ApiError && err.status < 500), refetchOnWindowFocus: true },
    mutations: { retry: false },
  },
});
// A new session (or none) must not show what the previous one fetched.
session.subscribe(() => {
  if (!session.snapshot().user) queries.clear();
});

await session.restore();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme} cssVariablesResolver={contrast} defaultColorScheme="light">
      <Notifications />
      <QueryClientProvider client={queries}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
