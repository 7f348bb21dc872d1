import { Badge } from '@mantine/core';
import { useTranslation } from 'react-i18next';

/** Active or inactive, in words next to a coloured dot (dark text on white: readable whatever the colour). */
export function StatusBadge({ active, size }: { active: boolean; size?: 'sm' | 'lg' }) {
  const { t } = useTranslation();
  return (
    <Badge color={active ? 'green' : 'gray'} variant="dot" size={size}>
      {t(active ? 'common.active' : 'common.inactive')}
    </Badge>
  );
}
