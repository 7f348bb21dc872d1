import { useState, type ChangeEvent, type FormEvent } from 'react';

/** The text fields of a form: their values, and an onChange for each (what every form of the console repeats). */
export function useFields<T extends Record<string, string>>(initial: T) {
  const [values, setValues] = useState(initial);
  const set = (key: keyof T) => (e: ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => {
    const value = e.currentTarget.value;
    setValues((current) => ({ ...current, [key]: value }));
  };
  return { values, set, setValues, reset: () => setValues(initial) };
}

/** A form's onSubmit: the browser's own submission is replaced by `run` (the API call). */
export const onSubmit = (run: () => void) => (e: FormEvent) => {
  e.preventDefault();
  run();
};
