// What the web console's Chromium suites share: finding a field by its label, and axe-core's verdict on a page.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Locator, Page } from 'playwright-core';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The form field labelled `label` inside `scope` (a required field's label ends with its asterisk). */
export const field = (scope: Page | Locator, label: string) => scope.getByLabel(new RegExp(`^${label}( \\*)?$`));

/** axe-core's serious and critical violations on the page as it is (axe runs through the DevTools protocol, not the page's CSP). */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeSource);
  const result = (await page.evaluate(() => (window as unknown as { axe: { run: () => Promise<unknown> } }).axe.run())) as {
    violations: { id: string; impact: string; nodes: { target: string[]; html?: string; failureSummary?: string }[] }[];
  };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.nodes.map((n) => `${n.target.join(' ')} ${(n.html ?? '').slice(0, 160)} ${n.failureSummary ?? ''}`).join(', ')}`,
    );
}
