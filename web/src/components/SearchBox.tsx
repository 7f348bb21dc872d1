import { TextInput } from '@mantine/core';
import { useDebouncedCallback } from '@mantine/hooks';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';

/** A search field that asks the server (after a short pause in typing), never filters in the browser. */
export function SearchBox({ onSearch, label }: { onSearch: (q: string) => void; label?: string }) {
  const { t } = useTranslation();
  const [value, setValue] = useState('');
  const send = useDebouncedCallback((q: string) => onSearch(q.trim()), 300);
  return (
    <TextInput
      label={label ?? t('common.search')}
      type="search"
      value={value}
      onChange={(e) => {
        setValue(e.currentTarget.value);
        send(e.currentTarget.value);
      }}
      w={320}
      maw="100%"
    />
  );
}
