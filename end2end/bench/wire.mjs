// Bytes over the wire, counted by Chromium itself (DevTools protocol): for a cold load of each
// route (empty cache), and for each client-side navigation after that, once with
// `Accept-Encoding: gzip` and once with `br`. Per response: the encoded length on the wire
// (headers included, as Chromium counts it) and the decoded (raw) length.
//
// node end2end/bench/wire.mjs <app base URL> <IdP username> <password>   → JSON on stdout
import { chromium } from '@playwright/test';

const [base, username, password] = process.argv.slice(2);
const launch = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
};

function kind(url, mime) {
  if (url.endsWith('.wasm') || mime === 'application/wasm') return 'wasm';
  if (url.endsWith('.js') || mime.includes('javascript')) return 'js';
  if (url.endsWith('.css') || mime === 'text/css') return 'css';
  if (mime.includes('html')) return 'html';
  return 'other';
}

/** Counts every response of the app's origin on `page` until `reset()` is called again. */
async function counter(context, page, encoding, cacheDisabled) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled });
  await cdp.send('Network.setExtraHTTPHeaders', { headers: { 'Accept-Encoding': encoding } });
  const responses = new Map();
  let sizes = {};
  cdp.on('Network.responseReceived', (e) => responses.set(e.requestId, {
    url: e.response.url, mime: e.response.mimeType, raw: 0,
    encoding: e.response.headers['content-encoding'] ?? e.response.headers['Content-Encoding'] ?? 'identity',
  }));
  cdp.on('Network.dataReceived', (e) => {
    const r = responses.get(e.requestId);
    if (r) r.raw += e.dataLength;
  });
  cdp.on('Network.loadingFinished', (e) => {
    const r = responses.get(e.requestId);
    if (!r || !r.url.startsWith(base) || r.url.includes('/api/auth/events')) return;
    const k = kind(r.url, r.mime);
    sizes[k] = (sizes[k] ?? 0) + e.encodedDataLength;
    sizes[`${k}_raw`] = (sizes[`${k}_raw`] ?? 0) + r.raw;
    (sizes.files ??= []).push({ url: r.url.slice(base.length), bytes: e.encodedDataLength, raw: r.raw, encoding: r.encoding });
  });
  return {
    take() {
      const taken = sizes;
      sizes = {};
      taken.js_plus_wasm = (taken.js ?? 0) + (taken.wasm ?? 0);
      taken.js_plus_wasm_raw = (taken.js_raw ?? 0) + (taken.wasm_raw ?? 0);
      taken.total = ['html', 'js', 'wasm', 'css', 'other'].reduce((n, k) => n + (taken[k] ?? 0), 0);
      taken.files ??= [];
      return taken;
    },
  };
}

const hydrated = (page) => page.waitForFunction(() => document.documentElement.dataset.hydrated === 'true');

async function signIn(context) {
  const page = await context.newPage();
  await page.goto(`${base}/api/auth/signin/asgardeo?callbackUrl=/`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('#welcome');
  await page.close();
}

/** A cold load of `path` in a fresh page with the cache disabled. */
async function coldLoad(context, path, encoding, ready) {
  const page = await context.newPage();
  const count = await counter(context, page, encoding, true);
  await page.goto(`${base}${path}`, { waitUntil: 'networkidle' });
  await page.waitForSelector(ready, { timeout: 15000 });
  await hydrated(page);
  await page.waitForLoadState('networkidle');
  await page.close();
  return count.take();
}

const browser = await chromium.launch(launch);
const result = { cold: {}, navigation: {} };
for (const encoding of ['gzip', 'br']) {
  const signedOut = await browser.newContext();
  result.cold[`/ (signed out) ${encoding}`] = await coldLoad(signedOut, '/', encoding, '#sign-in');
  await signedOut.close();

  const signedIn = await browser.newContext();
  await signIn(signedIn);
  result.cold[`/ ${encoding}`] = await coldLoad(signedIn, '/', encoding, '#welcome');
  result.cold[`/client-profile ${encoding}`] = await coldLoad(signedIn, '/client-profile', encoding, '#profile-given-name');
  result.cold[`/server-profile ${encoding}`] = await coldLoad(signedIn, '/server-profile', encoding, '#profile-given-name');

  await signedIn.close();

  // Client-side navigations from a cold `/`, with the cache on (each chunk is fetched once), in
  // a fresh browser (whose cache holds nothing yet).
  const fresh = await browser.newContext();
  await signIn(fresh);
  const page = await fresh.newPage();
  const count = await counter(fresh, page, encoding, false);
  await page.goto(`${base}/`, { waitUntil: 'networkidle' });
  await hydrated(page);
  await page.waitForLoadState('networkidle');
  count.take();
  for (const [step, link, ready] of [
    ['/ → /client-profile', '#nav-client-profile', '#profile-given-name'],
    ['/client-profile → /', '#go-home', '#welcome'],
    ['/ → /server-profile', '#nav-server-profile', '#profile-given-name'],
    ['/server-profile → /', '#go-home', '#welcome'],
  ]) {
    await page.click(link);
    await page.waitForSelector(ready, { timeout: 15000 });
    await page.waitForLoadState('networkidle');
    result.navigation[`${step} ${encoding}`] = count.take();
  }
  await fresh.close();
}
await browser.close();
console.log(JSON.stringify(result, null, 2));
