import { Select } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, must } from '../api/client';

/**
 * A doctor, searched on the server as the person types (the directory can hold thousands): a patient sees every
 * active doctor, a secretary its hospital's (the API scopes the list).
 */
export function DoctorPicker({
  label,
  value,
  onChange,
  required,
  error,
}: {
  label: string;
  value: string | null;
  onChange: (id: string | null) => void;
  required?: boolean;
  error?: string;
}) {
  const [search, setSearch] = useState('');
  const [q] = useDebouncedValue(search, 250);
  // The chosen doctor's label is kept, so the field still shows it when a new search no longer lists it.
  const [chosen, setChosen] = useState<{ value: string; label: string } | null>(null);
  const found = useQuery({
    queryKey: ['doctors', 'search', q],
    queryFn: async () =>
      (
        await must(
          api.GET('/api/doctors', {
            params: { query: { page: 1, pageSize: 20, sort: 'lastName', isActive: 'true', q: q.trim() || undefined } },
          }),
        )
      ).items.map((d) => ({ value: d.id, label: `${d.firstName} ${d.lastName} — ${d.specialty} (${d.hospitalName})` })),
  });
  const options = [...(chosen && !found.data?.some((o) => o.value === chosen.value) ? [chosen] : []), ...(found.data ?? [])];
  return (
    <Select
      label={label}
      required={required}
      searchable
      searchValue={search}
      onSearchChange={setSearch}
      // The server finds the candidates; the list also narrows at once on what is typed, so it never shows an
      // earlier search's answer as if it matched.
      data={options}
      value={value}
      onChange={(id) => {
        setChosen(options.find((o) => o.value === id) ?? null);
        onChange(id);
      }}
      w={380}
      maw="100%"
      error={error}
      nothingFoundMessage="—"
    />
  );
}
