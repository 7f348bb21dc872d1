import { notifications } from '@mantine/notifications';
import i18n from '../i18n';

/** A short confirmation or warning in the corner, its close button named for screen readers. */
export function notify(message: string, color: 'green' | 'red' | 'yellow' | 'blue' = 'green'): void {
  notifications.show({ message, color, closeButtonProps: { 'aria-label': i18n.t('common.close') } });
}
