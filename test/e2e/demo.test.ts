/**
 * End to end against `wrangler dev` on loopback (models seeded, a development key): the demo
 * page in a real browser (Debian's Chromium through playwright-core: two photos uploaded,
 * the decision, the faces, the four face maps drawn and equal to the server's own renderings
 * at the served θ, the θ slider flipping the decision exactly at the similarity, the method
 * comparison, no CSP violation), the API reference (Swagger UI over /openapi.json), and
 * the @xfv/client example script. Screenshots go to test/artifacts/. Without a browser
 * the page tests are skipped with a message, unless CI is set (then they fail).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServer, startWranglerDev } from '../../bench/lib/wrangler-dev.js';
import { REPO_ROOT } from '../../eval/lib/faces.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasBrowser = existsSync(CHROMIUM);
if (!hasBrowser && process.env.CI) throw new Error(`no browser at ${CHROMIUM}: .ci/run installs Debian's chromium`);
if (!hasBrowser) console.warn(`e2e: page tests skipped, no browser at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);

const PHOTOS = join(REPO_ROOT, '..', 'shared', 'faces', 'photos', 'single');
const ARTIFACTS = join(REPO_ROOT, 'test', 'artifacts');
// A genuine pair of ordinary photos (../shared/faces/photos/pairs.tsv: same = 1).
const PAIR = ['biden_1.jpg', 'biden_2.jpg'].map((f) => join(PHOTOS, f)) as [string, string];

let server: DevServer;
let browser: Browser | undefined;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startWranglerDev(8797);
  if (hasBrowser) {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // As root, and on a machine without a network: no sandbox, no background connections.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/**
 * A page that records console errors, CSP violations and the host of every request it makes
 * (from the first one). The navigation may wait long: the other test files load this 2-core
 * machine at the same time, and CI once took over Playwright's default 30 s to load /docs/.
 */
async function openPage(path: string, width = 1200): Promise<{ page: Page; errors: string[]; hosts: Set<string> }> {
  const page = await browser!.newPage({ viewport: { width, height: 900 } });
  const errors: string[] = [];
  const hosts = new Set<string>();
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => hosts.add(new URL(r.url()).host));
  await page.goto(`${server.url}${path}`, { timeout: 180_000 });
  return { page, errors, hosts };
}

/** How many distinct pixel values a canvas holds (a blank canvas has one). */
const distinctPixels = (page: Page, id: string) =>
  page.evaluate((id) => {
    const c = document.getElementById(id) as HTMLCanvasElement;
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set<number>();
    for (let i = 0; i < data.length; i += 4) seen.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
    return seen.size;
  }, id);

describe.skipIf(!hasBrowser)('the demo page in Chromium', () => {
  it('verifies and explains two photos, draws the maps, and the θ slider flips the decision at the similarity', async () => {
    const { page, errors } = await openPage(`/#key=${server.key}`);
    const response = await page.request.get(`${server.url}/`);
    expect(response.headers()['content-security-policy']).toContain("script-src 'self'");
    // The key came in the fragment and left the address bar.
    expect(new URL(page.url()).hash).toBe('');
    await page.getByLabel('Choose photo A').setInputFiles(PAIR[0]);
    await page.getByLabel('Choose photo B').setInputFiles(PAIR[1]);
    await page.getByRole('button', { name: 'Compare' }).click();
    const decision = page.locator('#decision');
    await expect.poll(() => decision.getAttribute('data-decision'), { timeout: 120_000 }).toBe('accept');
    // Progress shows while the explanation runs as a job.
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 30_000 }).toMatch(/Explaining|Loading/);
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 480_000, interval: 1000 }).toMatch(/^Explained/);

    // The photos show their faces; the four face maps are drawn.
    for (const side of ['a', 'b']) expect(await distinctPixels(page, `photo-${side}`)).toBeGreaterThan(100);
    for (const id of ['map-a-similarity', 'map-b-similarity', 'map-a-dissimilarity', 'map-b-dissimilarity'])
      expect(await distinctPixels(page, id)).toBeGreaterThan(50);
    // The page says what the service says about the maps: the served mode is not shown to explain the pair.
    expect(await page.locator('#map-verdicts').getAttribute('data-similarity')).toBe('not-shown-to-explain-pair');
    expect(await page.locator('#map-verdicts').textContent()).toMatch(/similarity maps: not shown to explain the pair/);
    // At the served θ, the page's redraw from P and Q equals the server's own overlay PNG.
    const worst = await page.evaluate(async () => {
      let worst = 0;
      for (const canvas of document.querySelectorAll<HTMLCanvasElement>('#crop-maps canvas')) {
        const png = await (await fetch(canvas.dataset.serverOverlay!)).blob();
        const bitmap = await createImageBitmap(png);
        const off = new OffscreenCanvas(bitmap.width, bitmap.height);
        off.getContext('2d')!.drawImage(bitmap, 0, 0);
        const server = off.getContext('2d')!.getImageData(0, 0, bitmap.width, bitmap.height).data;
        const mine = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        if (mine.length !== server.length) return Number.POSITIVE_INFINITY;
        for (let i = 0; i < mine.length; i++) worst = Math.max(worst, Math.abs(mine[i]! - server[i]!));
      }
      return worst;
    });
    expect(worst).toBeLessThanOrEqual(2);
    // The photo overlays loaded.
    const photoMaps = page.locator('#photo-maps img');
    expect(await photoMaps.count()).toBe(4);
    for (const img of await photoMaps.all())
      await expect.poll(() => img.evaluate((i: HTMLImageElement) => i.naturalWidth)).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, 'demo.png'), fullPage: true });

    // θ just below the similarity accepts, just above rejects; the maps are redrawn each time.
    const similarity = Number(await decision.getAttribute('data-similarity'));
    const slider = page.getByLabel('Threshold θ');
    const before = await page.locator('#map-a-similarity').evaluate((c: HTMLCanvasElement) => c.toDataURL());
    await slider.fill((similarity - 0.002).toFixed(3));
    await expect.poll(() => decision.getAttribute('data-decision')).toBe('accept');
    await slider.fill((similarity + 0.002).toFixed(3));
    await expect.poll(() => decision.getAttribute('data-decision')).toBe('reject');
    const after = await page.locator('#map-a-similarity').evaluate((c: HTMLCanvasElement) => c.toDataURL());
    expect(after).not.toBe(before);
    const redrawMs = Number(await page.locator('#redraw-ms').getAttribute('data-ms'));
    console.log(`e2e: the page redraws 4 maps for a new θ in ${redrawMs.toFixed(1)} ms`);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-theta-above.png'), fullPage: true });

    // Keyboard: the slider moves with the arrow keys.
    await slider.focus();
    const value = Number(await slider.inputValue());
    await page.keyboard.press('ArrowLeft');
    expect(Number(await slider.inputValue())).toBeCloseTo(value - 0.001, 6);

    // The same pair by other methods, with their faithfulness figures.
    // Two new explanations of a photo pair: minutes on a busy 2-core machine. The button is
    // disabled until the comparison ends, well or badly; the status then says which.
    const methods = page.getByRole('button', { name: 'Compare methods' });
    await methods.click();
    expect(await methods.isDisabled()).toBe(true);
    await expect.poll(() => methods.isEnabled(), { timeout: 600_000, interval: 1000 }).toBe(true);
    expect(await page.locator('#status').textContent()).toBe('Methods compared.');
    expect(await page.locator('#methods-grid figure').count()).toBe(3);
    for (const caption of await page.locator('#methods-grid figcaption').allTextContents())
      expect(caption).toMatch(/Insertion [\d.]+ − Deletion [\d.]+/);
    for (const img of await page.locator('#methods-grid img').all())
      await expect.poll(() => img.evaluate((i: HTMLImageElement) => i.naturalWidth)).toBe(150);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-methods.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('works at phone width, labels every control and gives images alt text', async () => {
    const { page, errors } = await openPage('/', 390);
    for (const label of ['API key', 'Choose photo A', 'Choose photo B', 'Threshold θ'])
      expect(await page.getByLabel(label).count()).toBe(1);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(ARTIFACTS, 'demo-phone.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('serves the API reference (Swagger UI over /openapi.json) with no third-party host', async () => {
    const { page, errors, hosts } = await openPage('/docs/');
    await expect.poll(() => page.locator('.opblock').count(), { timeout: 120_000 }).toBeGreaterThan(10);
    expect(await page.locator('.opblock-summary-path', { hasText: '/v1/explain' }).count()).toBeGreaterThan(0);
    expect(await page.getByRole('button', { name: /Authorize/ }).count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, 'docs.png') });
    expect([...hosts].every((h) => h === new URL(server.url).host)).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('the @xfv/client example', () => {
  it('verifies and explains a pair of photos against wrangler dev', async () => {
    const { stdout } = await promisify(execFile)(
      join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
      ['client/examples/verify-explain.ts', ...PAIR],
      { cwd: REPO_ROOT, env: { ...process.env, XFV_URL: server.url, XFV_KEY: server.key } },
    );
    const out = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number | string>;
    expect(out).toMatchObject({ decision: 'accept', explainedDecision: 'accept', method: 'fggb', pixels: 150 * 150 });
    expect(out.similarity).toBeGreaterThan(out.threshold as number);
    expect(out.overlayPngBytes).toBeGreaterThan(1000);
    expect(out.positiveShareAtHigherθ).toBeGreaterThanOrEqual(0);
  });

  it('throws the problem details of a refused call', async () => {
    const { createXfvClient, XfvProblem } = await import('@xfv/client');
    const xfv = createXfvClient({ baseUrl: server.url, apiKey: `xfv_local_0000000000000000_${'0'.repeat(64)}` });
    const error = await xfv.verify(new Uint8Array([1, 2, 3]), new Uint8Array([4])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(XfvProblem);
    expect((error as InstanceType<typeof XfvProblem>).status).toBe(401);
    expect((error as InstanceType<typeof XfvProblem>).kind).toBe('unauthorized');
  });
});
