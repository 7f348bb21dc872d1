import { Button, Card, Group, Stack, Title } from '@mantine/core';
import { useId, type ReactNode } from 'react';
import { ErrorAlert } from './ErrorAlert';
import { onSubmit } from './forms';

/** What a form section needs of its mutation (TanStack Query's). */
interface Submission {
  mutate: () => void;
  error: unknown;
  isPending: boolean;
}

/**
 * A titled section holding one form: the API's refusal above the fields (a 412 with `onReload`), the submit button
 * below — the frame every form of the console shares.
 */
export function FormSection({
  title,
  mutation,
  submitLabel,
  onReload,
  disabled,
  children,
}: {
  title: string;
  mutation: Submission;
  submitLabel: string;
  onReload?: () => void;
  disabled?: boolean;
  children: ReactNode;
}) {
  const id = useId();
  return (
    <Card withBorder component="section" aria-labelledby={id}>
      <form onSubmit={onSubmit(() => mutation.mutate())} noValidate>
        <Stack>
          <Title order={2} size="h4" id={id}>
            {title}
          </Title>
          <ErrorAlert error={mutation.error} onReload={onReload} />
          {children}
          <Group>
            <Button type="submit" loading={mutation.isPending} disabled={disabled}>
              {submitLabel}
            </Button>
          </Group>
        </Stack>
      </form>
    </Card>
  );
}
