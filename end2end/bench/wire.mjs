// Bytes over the wire for a cold load of a page, counted by Chromium itself (DevTools protocol:
// the encoded length of every response), once with `Accept-Encoding: gzip` and once with `br`.
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

/** Loads `path` with an empty cache and counts every response of the app's origin. */
async function coldLoad(context, path, encoding, ready) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Network.setExtraHTTPHeaders', { headers: { 'Accept-Encoding': encoding } });
  const responses = new Map();
  cdp.on('Network.responseReceived', (e) => responses.set(e.requestId, {
    url: e.response.url, mime: e.response.mimeType, encoding: e.response.headers['content-encoding'] ?? e.response.headers['Content-Encoding'] ?? 'identity',
  }));
  const sizes = {};
  cdp.on('Network.loadingFinished', (e) => {
    const r = responses.get(e.requestId);
    if (!r || !r.url.startsWith(base)) return;
    const k = kind(r.url, r.mime);
    sizes[k] = (sizes[k] ?? 0) + e.encodedDataLength;
    (sizes.files ??= []).push({ url: r.url.slice(base.length), bytes: e.encodedDataLength, encoding: r.encoding });
  });
  await page.goto(`${base}${path}`, { waitUntil: 'networkidle' });
  if (ready) await page.waitForSelector(ready, { timeout: 15000 });
  await page.waitForLoadState('networkidle');
  await page.close();
  sizes.js_plus_wasm = (sizes.js ?? 0) + (sizes.wasm ?? 0);
  return sizes;
}

const browser = await chromium.launch(launch);
const result = {};
for (const encoding of ['gzip', 'br']) {
  const signedOut = await browser.newContext();
  result[`home_signed_out_${encoding}`] = await coldLoad(signedOut, '/', encoding, '#sign-in');
  await signedOut.close();

  const signedIn = await browser.newContext();
  const page = await signedIn.newPage();
  await page.goto(`${base}/api/auth/signin/asgardeo?callbackUrl=/`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('#welcome');
  await page.close();
  result[`client_profile_${encoding}`] = await coldLoad(signedIn, '/client-profile', encoding, '#profile-given-name');
  await signedIn.close();
}
await browser.close();
console.log(JSON.stringify(result, null, 2));
