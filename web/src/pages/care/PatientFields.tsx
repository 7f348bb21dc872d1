import { TextInput } from '@mantine/core';
import type { ChangeEvent } from 'react';
import { useTranslation } from 'react-i18next';

/** A patient's names, birth date and contact, as text. */
export type PatientValues = { firstName: string; lastName: string; birthDate: string; email: string; phone: string };

/** The demographic fields of a patient, for its registration and its edition (inside the form's grid). */
export function PatientFields({
  values,
  set,
  errors,
}: {
  values: PatientValues;
  set: (key: keyof PatientValues) => (e: ChangeEvent<HTMLInputElement>) => void;
  errors: Record<string, string>;
}) {
  const { t } = useTranslation();
  return (
    <>
      <TextInput label={t('patients.firstName')} required value={values.firstName} onChange={set('firstName')} error={errors.firstName} />
      <TextInput label={t('patients.lastName')} required value={values.lastName} onChange={set('lastName')} error={errors.lastName} />
      <TextInput
        label={t('patients.birthDate')}
        type="date"
        required
        value={values.birthDate}
        onChange={set('birthDate')}
        error={errors.birthDate}
      />
      <TextInput label={t('patients.email')} type="email" value={values.email} onChange={set('email')} error={errors.email} />
      <TextInput label={t('patients.phone')} value={values.phone} onChange={set('phone')} error={errors.phone} />
    </>
  );
}
