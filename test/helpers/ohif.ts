import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_PATH } from '../../scripts/lib/system-packages.js';

/** Headless Chromium with software WebGL (OHIF renders with it), and none of its calls home. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--no-sandbox',
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** What one canvas or image of the page shows. */
export interface Painted {
  tag: string;
  cls: string;
  width: number;
  height: number;
  inThumbnail: boolean;
  inViewport: boolean;
  /** Pixels that are not background (any channel above 16); -1 when unreadable. */
  lit: number;
  /** Where it sits on the page. */
  box: { x: number; y: number; w: number; h: number };
}

/** What {@link withPixelReader} installs: the page's pixels counted one way everywhere. */
export interface PixelCount {
  /** Pixels (one in `stride`) with a channel above 16 — not background; -1 when the source is unreadable. */
  lit: number;
  /** A checksum of what it shows, to tell two pictures apart. */
  sum: number;
}

// Installed as source text (not a function of this module: the test runner's transpiler adds helpers a page lacks).
const PIXEL_READER = `window.__mcPixels = window.__mcPixels || ((source, stride = 1) => {
  const width = source instanceof HTMLImageElement ? source.naturalWidth : source.width;
  const height = source instanceof HTMLImageElement ? source.naturalHeight : source.height;
  if (!width || !height) return { lit: 0, sum: 0 };
  try {
    const copy = document.createElement('canvas');
    copy.width = width;
    copy.height = height;
    const ctx = copy.getContext('2d');
    ctx.drawImage(source, 0, 0);
    const data = ctx.getImageData(0, 0, width, height).data;
    let lit = 0;
    let sum = 0;
    for (let i = 0; i < data.length; i += 4 * stride) {
      if (data[i] > 16 || data[i + 1] > 16 || data[i + 2] > 16) lit++;
      sum = (sum * 31 + data[i] + data[i + 1] * 7 + data[i + 2] * 13) % 1000000007;
    }
    return { lit, sum };
  } catch {
    return { lit: -1, sum: 0 };
  }
});`;

/** Makes `window.__mcPixels(canvas or img, stride?)` available in the page (again after a navigation is harmless). */
export async function withPixelReader(page: Page): Promise<Page> {
  await page.evaluate(PIXEL_READER);
  return page;
}

/** The in-page reader, typed for page scripts (call {@link withPixelReader} first). */
export type PixelReader = (source: HTMLCanvasElement | HTMLImageElement, stride?: number) => PixelCount;

/**
 * What the user sees: for every canvas and image of the page, its size, where it sits (viewport or
 * thumbnail) and how many of its pixels are not background.
 */
export async function probePixels(page: Page): Promise<Painted[]> {
  await withPixelReader(page);
  return page.evaluate(() => {
    const pixels = (window as unknown as { __mcPixels: PixelReader }).__mcPixels;
    return [...document.querySelectorAll('canvas, img')].map((el) => {
      const source = el as HTMLCanvasElement | HTMLImageElement;
      const width = source instanceof HTMLCanvasElement ? source.width : source.naturalWidth;
      const height = source instanceof HTMLCanvasElement ? source.height : source.naturalHeight;
      const inThumbnail = !!el.closest('[data-cy^="study-browser-thumbnail"], [class*="thumbnail" i], [data-cy*="thumbnail" i]');
      const inViewport = !!el.closest('[data-cy="viewport-pane"], .viewport-wrapper, [class*="viewport" i]');
      const rect = el.getBoundingClientRect();
      const { lit } = pixels(source);
      return {
        tag: el.tagName,
        cls: String((el as HTMLElement).className).slice(0, 60),
        width,
        height,
        inThumbnail,
        inViewport,
        lit,
        box: { x: rect.x, y: rect.y, w: rect.width, h: rect.height },
      };
    });
  });
}

/** Waits (up to `timeoutMs`) until the viewport canvas and a thumbnail show image pixels; returns the lit counts. */
export async function waitForPixels(page: Page, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = await probePixels(page);
    const viewport = Math.max(0, ...all.filter((e) => e.inViewport && e.tag === 'CANVAS').map((e) => e.lit));
    const thumbnail = Math.max(0, ...all.filter((e) => e.inThumbnail).map((e) => e.lit));
    if ((viewport > 10_000 && thumbnail > 1_000) || Date.now() > deadline) return { viewport, thumbnail, all };
    await page.waitForTimeout(500);
  }
}

/** Waits until at least `count` distinct viewport canvases (by position on the page) show image pixels. */
export async function waitForLitViewports(page: Page, count: number, timeoutMs = 60_000, minLit = 2_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = await probePixels(page);
    const lit = all.filter((e) => e.inViewport && e.tag === 'CANVAS' && e.lit > minLit && e.box.w > 20);
    const places = new Set(lit.map((e) => `${Math.round(e.box.x / 10)}:${Math.round(e.box.y / 10)}`));
    if (places.size >= count || Date.now() > deadline) return { places: places.size, all };
    await page.waitForTimeout(500);
  }
}

/** Closes what OHIF shows a first-time user over the viewer: the onboarding tour and the investigational-use notice. */
export async function dismissOverlays(page: Page): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const tour = page.locator('.shepherd-cancel-icon, .shepherd-button:has-text("Skip")').first();
    const notice = page.locator('[data-cy="confirm-and-hide-button"]').first();
    let closed = false;
    if (await tour.isVisible().catch(() => false)) {
      await tour.click().catch(() => undefined);
      closed = true;
    }
    if (await notice.isVisible().catch(() => false)) {
      await notice.click().catch(() => undefined);
      closed = true;
    }
    if (!closed) return;
    await page.waitForTimeout(200);
  }
}
