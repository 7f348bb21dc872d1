// A page per route; each role's navigation lists only what the API lets it do (the API stays the judge). Pages load
// on first visit, so the login page ships only what it needs.
import { Text } from '@mantine/core';
import { lazy, Suspense, type ComponentType, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { createBrowserRouter, Navigate, Outlet, useLocation } from 'react-router';
import { useSession } from './auth/session';
import { Shell } from './layout/Shell';
import { ChangePasswordPage } from './pages/ChangePasswordPage';
import { HomePage } from './pages/HomePage';
import { LoginPage } from './pages/LoginPage';
import { NotFoundPage } from './pages/NotFoundPage';

/** Pages for logged-in accounts: the login page otherwise, the password change until it is done. */
function RequireSession() {
  const { user } = useSession();
  const location = useLocation();
  if (!user) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  if (user.mustChangePassword && location.pathname !== '/change-password') return <Navigate to="/change-password" replace />;
  return <Outlet />;
}

function Loading() {
  const { t } = useTranslation();
  return <Text>{t('common.loading')}</Text>;
}

/** A page loaded on first visit. */
function page<P extends object>(load: () => Promise<ComponentType<P>>, props?: P): ReactNode {
  const Page = lazy(async () => ({ default: await load() }));
  return (
    <Suspense fallback={<Loading />}>
      <Page {...(props as P & React.JSX.IntrinsicAttributes)} />
    </Suspense>
  );
}

export const router = createBrowserRouter([
  { path: '/login', element: <LoginPage /> },
  {
    element: <RequireSession />,
    children: [
      { path: '/change-password', element: <ChangePasswordPage /> },
      {
        element: <Shell />,
        children: [
          { path: '/', element: <HomePage /> },
          { path: '/hospitals', element: page(() => import('./pages/admin/HospitalsPage').then((m) => m.HospitalsPage)) },
          { path: '/hospitals/:id', element: page(() => import('./pages/admin/HospitalPage').then((m) => m.HospitalPage)) },
          {
            path: '/doctors',
            element: page(() => import('./pages/admin/StaffPage').then((m) => m.StaffPage), { role: 'doctor' as const }),
          },
          {
            path: '/secretaries',
            element: page(() => import('./pages/admin/StaffPage').then((m) => m.StaffPage), { role: 'secretary' as const }),
          },
          { path: '/devices', element: page(() => import('./pages/admin/DevicesPage').then((m) => m.DevicesPage)) },
          { path: '/patients', element: page(() => import('./pages/care/PatientsPage').then((m) => m.PatientsPage)) },
          { path: '/patients/:id', element: page(() => import('./pages/care/PatientPage').then((m) => m.PatientPage)) },
          { path: '/appointments', element: page(() => import('./pages/care/AppointmentsPage').then((m) => m.AppointmentsPage)) },
          { path: '/calendar', element: page(() => import('./pages/care/CalendarPage').then((m) => m.CalendarPage)) },
          { path: '/availability', element: page(() => import('./pages/care/AvailabilityPage').then((m) => m.AvailabilityPage)) },
          { path: '/record', element: page(() => import('./pages/care/RecordPage').then((m) => m.RecordPage)) },
          { path: '/images', element: page(() => import('./pages/care/RecordPage').then((m) => m.ImagesPage)) },
          { path: '/quarantine', element: page(() => import('./pages/care/QuarantinePage').then((m) => m.QuarantinePage)) },
          { path: '*', element: <NotFoundPage /> },
        ],
      },
    ],
  },
]);
