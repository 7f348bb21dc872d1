import { Table } from '@mantine/core';
import type { ReactNode } from 'react';

/** A table of a list's rows under one header row; a header given as `false` (a column a role does not see) is left out. */
export function DataTable({
  headers,
  children,
  highlightOnHover = false,
}: {
  headers: (ReactNode | false)[];
  children: ReactNode;
  highlightOnHover?: boolean;
}) {
  return (
    <Table striped highlightOnHover={highlightOnHover}>
      <Table.Thead>
        <Table.Tr>
          {headers
            .filter((h) => h !== false)
            .map((h, i) => (
              <Table.Th key={i}>{h}</Table.Th>
            ))}
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>{children}</Table.Tbody>
    </Table>
  );
}
