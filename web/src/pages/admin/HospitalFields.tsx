import { SimpleGrid, TextInput } from '@mantine/core';
import type { ChangeEvent } from 'react';
import { useTranslation } from 'react-i18next';

/** A hospital's editable details, as text. */
export type HospitalValues = { name: string; city: string; address: string; phone: string; email: string };
export const EMPTY_HOSPITAL: HospitalValues = { name: '', city: '', address: '', phone: '', email: '' };

/** The fields of a hospital, for its creation and its edition. */
export function HospitalFields({
  values,
  set,
  errors,
}: {
  values: HospitalValues;
  set: (key: keyof HospitalValues) => (e: ChangeEvent<HTMLInputElement>) => void;
  errors: Record<string, string>;
}) {
  const { t } = useTranslation();
  return (
    <SimpleGrid cols={{ base: 1, sm: 2 }}>
      <TextInput label={t('hospitals.name')} required value={values.name} onChange={set('name')} error={errors.name} />
      <TextInput label={t('hospitals.city')} value={values.city} onChange={set('city')} error={errors.city} />
      <TextInput label={t('hospitals.address')} value={values.address} onChange={set('address')} error={errors.address} />
      <TextInput label={t('hospitals.phone')} value={values.phone} onChange={set('phone')} error={errors.phone} />
      <TextInput label={t('hospitals.email')} type="email" value={values.email} onChange={set('email')} error={errors.email} />
    </SimpleGrid>
  );
}
