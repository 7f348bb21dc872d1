import { Stack, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { StaffSection, type StaffRole } from './StaffSection';

/** A hospital admin's doctors or secretaries (its own hospital: the API scopes the list). */
export function StaffPage({ role }: { role: Exclude<StaffRole, 'hospital_admin'> }) {
  const { t } = useTranslation();
  return (
    <Stack>
      <Title order={1}>{t(`staff.${role}.title`)}</Title>
      <StaffSection role={role} />
    </Stack>
  );
}
