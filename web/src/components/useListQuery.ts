import { useState } from 'react';

/** A server-side list's search and page: a new search (or filter) starts again at page 1. */
export function useListQuery() {
  const [q, setQ] = useState('');
  const [page, setPage] = useState(1);
  return {
    q,
    page,
    setPage,
    search: (value: string) => {
      setQ(value);
      setPage(1);
    },
  };
}
