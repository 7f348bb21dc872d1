import type { User } from '../api/client';

/** One entry of a role's menu: its page and the key of its label. */
export interface MenuItem {
  to: string;
  label: `nav.${string}`;
}

/**
 * What each role's menu lists: the pages of the work the API grants it (api/src/policy/policy.ts). Hiding is a
 * courtesy; the API refuses anything else whatever the screen shows.
 */
const MENUS: Record<User['role'], MenuItem[]> = {
  super_admin: [
    { to: '/', label: 'nav.home' },
    { to: '/hospitals', label: 'nav.hospitals' },
  ],
  hospital_admin: [
    { to: '/', label: 'nav.home' },
    { to: '/doctors', label: 'nav.doctors' },
    { to: '/secretaries', label: 'nav.secretaries' },
    { to: '/devices', label: 'nav.devices' },
  ],
  secretary: [
    { to: '/', label: 'nav.home' },
    { to: '/patients', label: 'nav.patients' },
    { to: '/appointments', label: 'nav.appointments' },
    { to: '/calendar', label: 'nav.calendar' },
    { to: '/availability', label: 'nav.availability' },
  ],
  doctor: [
    { to: '/', label: 'nav.home' },
    { to: '/patients', label: 'nav.patients' },
    { to: '/appointments', label: 'nav.appointments' },
    { to: '/calendar', label: 'nav.calendar' },
    { to: '/availability', label: 'nav.availability' },
    { to: '/quarantine', label: 'nav.quarantine' },
  ],
  patient: [
    { to: '/', label: 'nav.home' },
    { to: '/appointments', label: 'nav.appointments' },
    { to: '/record', label: 'nav.record' },
    { to: '/images', label: 'nav.images' },
  ],
};

/** The menu of a role. */
export function menuFor(role: User['role']): MenuItem[] {
  return MENUS[role];
}
