// The HTML report in a real browser (Debian's Chromium driven by playwright-core): no console
// error, no request but the file itself, the functions shown, zoom, hover, search, tables, domains.
// Skipped when Chromium is not installed. UPDATE_SCREENSHOT=1 also writes docs/report.png.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tracemalloc from 'tracemalloc';
import { leakyAppSnapshots, PKG, sampleSnapshot, tempDir } from './fixtures/export/sample.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = fs.existsSync(CHROMIUM)
  ? false
  : `Chromium is not installed at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH): the browser test is skipped`;
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

type Browser = import('playwright-core').Browser;
type Page = import('playwright-core').Page;

let browser: Promise<Browser> | null = null;
after(async () => {
  if (browser !== null) await (await browser).close();
});

/** Opens `file` in one Chromium shared by the tests; checks there was no error and no other request. */
async function withPage(file: string, fn: (page: Page) => Promise<void>): Promise<void> {
  browser ??= import('playwright-core').then(({ chromium }) => chromium.launch({ executablePath: CHROMIUM, args: ARGS }));
  const page = await (await browser).newPage({ viewport: { width: 1280, height: 960 } });
  try {
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('request', (r) => requests.push(r.url()));
    const url = pathToFileURL(file).href;
    await page.goto(url);
    await fn(page);
    assert.deepEqual(problems, [], 'no console error or warning');
    assert.deepEqual(requests, [url], 'no request but the page itself');
  } finally {
    await page.close();
  }
}

/** The bounding box of the rectangle of the frame whose label is `name` (its first match). */
async function frameBox(page: Page, name: string): Promise<{ id: string; x: number; width: number }> {
  const g = page.locator('#flame g.frame', { has: page.locator('text', { hasText: name }) }).first();
  const id = (await g.getAttribute('data-id'))!;
  const box = (await page.locator(`#flame g.frame[data-id="${id}"] rect`).boundingBox())!;
  return { id, x: box.x, width: box.width };
}

test("the report of a real program's snapshots, with a diff, in Chromium", { skip, timeout: 120_000 }, async () => {
  const dir = tempDir('browser');
  const snapshots = leakyAppSnapshots(dir);
  const file = path.join(dir, 'report.html');
  fs.writeFileSync(file, tracemalloc.renderHtmlReport(snapshots.after, { diffFrom: snapshots.before, title: 'leaky-app.js: what grew' }));

  await withPage(file, async (page) => {
    // The functions of the program are shown, in the graph and in the table.
    for (const name of ['handleRequests', 'cacheSessions']) {
      assert.ok(await page.locator('#flame text', { hasText: name }).first().isVisible(), `${name} in the graph`);
    }
    for (const name of ['cacheSessions', 'buildIndex', 'parseRecords']) {
      assert.ok(await page.locator('#top-body .fn', { hasText: name }).first().isVisible(), `${name} in the table`);
    }
    assert.match((await page.locator('#top-body tr.row').first().textContent())!, /cacheSessions.*\+\d/);
    assert.ok(await page.locator('#legend', { hasText: 'grew' }).isVisible(), 'the diff legend');

    // Hover: a tooltip with the size, the object count and the change.
    const svgBox = (await page.locator('#flame').boundingBox())!;
    const leak = await frameBox(page, 'cacheSessions');
    await page.locator(`#flame g.frame[data-id="${leak.id}"] rect`).hover({ position: { x: 5, y: 5 } });
    const tip = page.locator('#tip');
    assert.ok(await tip.isVisible());
    assert.match((await tip.textContent())!, /cacheSessions.*leaky-app\.js:\d+.*MiB.*objects.*\+/s);
    if (process.env.UPDATE_SCREENSHOT === '1') await page.screenshot({ path: path.join(PKG, 'docs', 'report.png') });
    const png = await page.screenshot();
    assert.ok(png.length > 10_000, 'a screenshot');

    // A click on a frame zooms: it takes the graph's full width.
    const target = await frameBox(page, 'handleRequests');
    assert.ok(target.width < svgBox.width - 2, `handleRequests is not full width yet (${target.width} of ${svgBox.width})`);
    await page.locator(`#flame g.frame[data-id="${target.id}"] rect`).click();
    const zoomed = (await page.locator(`#flame g.frame[data-id="${target.id}"] rect`).boundingBox())!;
    assert.ok(Math.abs(zoomed.width - svgBox.width) <= 1.5, `zoomed width ${zoomed.width}, graph ${svgBox.width}`);
    assert.ok(Math.abs(zoomed.x - svgBox.x) <= 1);
    assert.match((await page.locator('#crumbs .crumb.current').textContent())!, /handleRequests/);
    assert.match((await page.locator('#details').textContent())!, /handleRequests.*size/s);
    // Escape resets the zoom.
    await page.keyboard.press('Escape');
    const reset = await frameBox(page, 'handleRequests');
    assert.ok(Math.abs(reset.width - target.width) <= 1.5, `back to its width: ${JSON.stringify([reset, target])}`);

    // Search highlights the matches.
    await page.locator('#search').fill('cacheSess');
    assert.ok(await page.locator('#flame g.frame.match').count() >= 1);
    assert.match((await page.locator('#matched').textContent())!, /matched .*B \(\d+\.\d% of the domain\)/);
    await page.locator('#search').fill('');

    // "width: before" shows what was freed since: parseRecords' records.
    assert.equal(await page.locator('#flame text', { hasText: 'parseRecords' }).count(), 0);
    await page.locator('#before').check();
    assert.ok(await page.locator('#flame text', { hasText: 'parseRecords' }).first().isVisible(), 'the freed site, at its old width');
    await page.locator('#before').uncheck();

    // The table groups by file and by traceback.
    await page.locator('#key-filename').click();
    assert.match((await page.locator('#top-body tr.row').first().textContent())!, /leaky-app\.js/);
    await page.locator('#key-traceback').click();
    assert.ok(await page.locator('#top-body tr.row').first().locator('.site').count() >= 2, 'a traceback has several frames');
  });
});

test('domains are shown apart: a tab each, with its own graph and table', { skip, timeout: 60_000 }, async () => {
  const file = path.join(tempDir('browser-domains'), 'domains.html');
  fs.writeFileSync(file, tracemalloc.renderHtmlReport(sampleSnapshot()));
  await withPage(file, async (page) => {
    const tabs = await page.locator('#domains .tab .tab-label').allTextContents();
    assert.deepEqual(tabs, ['V8 heap', 'ArrayBuffers & Buffers', 'Domain 2']);
    assert.ok(await page.locator('#flame text', { hasText: 'parse' }).first().isVisible());
    assert.equal(await page.locator('#flame text', { hasText: 'readChunk' }).count(), 0);
    await page.locator('#domains .tab', { hasText: 'ArrayBuffers' }).click();
    assert.ok(await page.locator('#flame text', { hasText: 'readChunk' }).first().isVisible());
    assert.match((await page.locator('#domain-note').textContent())!, /exact line of the call/);
    assert.match((await page.locator('#top-body').textContent())!, /readChunk/);
    assert.doesNotMatch((await page.locator('#top-body').textContent())!, /parse/);
  });
});
