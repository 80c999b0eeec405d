// The single-page app: client-side navigation, the protected-route wrapper in the browser, the
// server function called from the browser, and the session kept in step across tabs.
import { BrowserContext, Page, Request } from '@playwright/test';
import { test, expect, byId, ids, paths, scimMeUrl, signIn, submitIdpLogin, escapeRegExp } from './fixtures';

/** Counts full document loads of the app (a client-side navigation makes none). */
function countDocumentLoads(page: Page, baseURL: string) {
  const loads: string[] = [];
  page.on('request', (request) => {
    if (request.resourceType() === 'document' && request.url().startsWith(baseURL)) loads.push(request.url());
  });
  return loads;
}

/** Leaves a mark on `window`: it survives client-side navigation, not a document reload. */
async function markWindow(page: Page) {
  await page.evaluate(() => ((window as unknown as { spaMark: string }).spaMark = 'still here'));
}

async function windowMark(page: Page) {
  return page.evaluate(() => (window as unknown as { spaMark?: string }).spaMark ?? 'reloaded');
}

/** Waits until the wasm has hydrated the page (the router then handles links). */
async function hydrated(page: Page) {
  await page.waitForFunction(() => document.documentElement.dataset.hydrated === 'true');
}

test('links change the page without reloading the document, and Back returns without a reload', async ({ page, idp, baseURL }) => {
  await signIn(page, idp);
  await hydrated(page);
  await markWindow(page);
  const loads = countDocumentLoads(page, baseURL!);
  const scim: Request[] = [];
  const serverFn: Request[] = [];
  page.on('request', (request) => {
    if (request.url().includes('/scim2/Me')) scim.push(request);
    if (request.url() === `${baseURL}${paths.FN_SERVER_PROFILE}`) serverFn.push(request);
  });

  // home → /client-profile: the browser calls scim2/Me itself.
  await byId(page, ids.NAV_CLIENT_PROFILE).click();
  await expect(page).toHaveURL(`${baseURL}${paths.CLIENT_PROFILE}`);
  await expect(byId(page, ids.PROFILE_GIVEN_NAME)).toHaveText(idp.givenName);
  const expectedMe = idp.tokenInBrowser ? scimMeUrl(idp) : `${baseURL}${paths.ME_PROXY}`;
  expect(scim.map((r) => r.url())).toContain(expectedMe);

  // "Go to index page" → home.
  await byId(page, ids.GO_HOME).click();
  await expect(page).toHaveURL(`${baseURL}/`);
  await expect(byId(page, ids.WELCOME)).toBeVisible();

  // home → /server-profile: the browser POSTs the server function, and never calls scim2/Me.
  scim.length = 0;
  await byId(page, ids.NAV_SERVER_PROFILE).click();
  await expect(page).toHaveURL(`${baseURL}${paths.SERVER_PROFILE}`);
  await expect(byId(page, ids.PROFILE_GIVEN_NAME)).toHaveText(idp.givenName);
  await expect(byId(page, ids.PROFILE_EMAIL)).toHaveText(idp.email);
  expect(serverFn.map((r) => r.method())).toEqual(['POST']);
  const answer = await serverFn[0].response();
  expect(answer?.status()).toBe(200);
  const body = await answer!.text();
  expect(body).toContain(idp.givenName);
  expect(body, 'the server function returns the profile, never a token').not.toMatch(/token|eyJ/i);
  expect(scim, 'no scim2/Me request from the browser').toEqual([]);

  // Back and Back again, without a reload.
  await page.goBack();
  await expect(page).toHaveURL(`${baseURL}/`);
  await expect(byId(page, ids.WELCOME)).toBeVisible();
  await page.goBack();
  await expect(page).toHaveURL(`${baseURL}${paths.CLIENT_PROFILE}`);
  await expect(byId(page, ids.PROFILE_GIVEN_NAME)).toHaveText(idp.givenName);
  await page.goForward();
  await expect(page).toHaveURL(`${baseURL}/`);

  expect(loads, 'no document was loaded after the first').toEqual([]);
  expect(await windowMark(page)).toBe('still here');
});

test('every page carries a nonce-based Content-Security-Policy that the hydrated app lives within', async ({ page, idp, baseURL }) => {
  const home = await page.goto(paths.HOME);
  const csp = home!.headers()['content-security-policy'] ?? '';
  const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
  expect(nonce, csp).toBeTruthy();
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain('unsafe-inline');
  // The page's scripts carry this response's nonce; the next response has another.
  const scripts = await page.locator('script').evaluateAll((all) => all.map((s) => (s as HTMLScriptElement).nonce));
  expect(scripts.length).toBeGreaterThan(0);
  expect(scripts.every((n) => n === nonce)).toBe(true);
  const again = await page.goto(paths.HOME);
  expect(again!.headers()['content-security-policy']).not.toContain(nonce!);
  // Signed in, the browser's own scim2/Me call and every server function go through (a blocked
  // request fails the test through the fixture's CSP check).
  await signIn(page, idp);
  await hydrated(page);
  await byId(page, ids.NAV_CLIENT_PROFILE).click();
  await expect(byId(page, ids.PROFILE_GIVEN_NAME)).toHaveText(idp.givenName);
  await byId(page, ids.GO_HOME).click();
  await byId(page, ids.NAV_SERVER_PROFILE).click();
  await expect(byId(page, ids.PROFILE_GIVEN_NAME)).toHaveText(idp.givenName);
  await expect(page).toHaveURL(`${baseURL}${paths.SERVER_PROFILE}`);
});

test('on a client-side navigation the protected page checks the session first, and shows it', async ({ page, idp, baseURL }) => {
  await signIn(page, idp);
  await hydrated(page);
  // Slow the check down enough to see what the page shows meanwhile.
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route(`${baseURL}${paths.FN_AUTH_STATE}`, async (route) => {
    await held;
    await route.continue();
  });
  await byId(page, ids.NAV_SERVER_PROFILE).click();
  await expect(byId(page, ids.LOADING)).toHaveText('Checking your session…');
  await expect(byId(page, ids.PROFILE)).toHaveCount(0);
  release();
  await expect(byId(page, ids.PROFILE_GIVEN_NAME)).toHaveText(idp.givenName);
});

test('a session that ended behind the page is noticed on the next navigation', async ({ page, idp, baseURL }) => {
  // The server's push is cut off here, so only the navigation's own check can notice.
  await page.route(`${baseURL}${paths.AUTH_EVENTS}`, (route) => route.abort());
  await signIn(page, idp);
  await hydrated(page);

  // Signed out through fetch in the page: the session here ends; the IdP's stays (the redirect
  // to the IdP's logout is not followed).
  await page.evaluate(async (signOut) => {
    await fetch(signOut, { method: 'POST', redirect: 'manual' });
  }, paths.SIGN_OUT);
  expect(await (await page.request.get(paths.SESSION)).json()).toEqual({});
  await expect(byId(page, ids.NAV_SERVER_PROFILE), 'the page does not know yet').toBeVisible();

  // The next click goes through sign-in; the IdP still knows the user and sends them back.
  const viaIdp: string[] = [];
  page.on('request', (request) => {
    if (request.resourceType() === 'document' && request.url().startsWith(`${idp.origin}/`)) viaIdp.push(request.url());
  });
  await byId(page, ids.NAV_SERVER_PROFILE).click();
  await expect(page).toHaveURL(`${baseURL}${paths.SERVER_PROFILE}`);
  await expect(byId(page, ids.PROFILE_GIVEN_NAME)).toHaveText(idp.givenName);
  expect(viaIdp.length, 'went through the IdP').toBeGreaterThanOrEqual(1);
  expect(new URL(viaIdp[0]).searchParams.get('redirect_uri')).toBe(`${baseURL}${paths.CALLBACK}`);
});

test('with the IdP session ended too, the next navigation stops at the login form and shows no profile', async ({ page, idp, baseURL }) => {
  await page.route(`${baseURL}${paths.AUTH_EVENTS}`, (route) => route.abort());
  await signIn(page, idp);
  await hydrated(page);
  const profileAnswers: number[] = [];
  page.on('response', (response) => {
    if (response.url() === `${baseURL}${paths.FN_SERVER_PROFILE}`) profileAnswers.push(response.status());
  });

  // Signed out here, behind the page's back, and forgotten by the IdP too (its cookies gone, as
  // after the IdP's own sign-out).
  const signedOut = await page.request.post(paths.SIGN_OUT, { maxRedirects: 0 });
  expect(signedOut.status()).toBe(303);
  await page.context().clearCookies();
  expect(await (await page.request.get(paths.SESSION)).json()).toEqual({});

  await byId(page, ids.NAV_SERVER_PROFILE).click();
  await expect(page).toHaveURL(new RegExp(`^${escapeRegExp(idp.origin)}/t/${idp.org}/`));
  await expect(page.locator('input[name=password]')).toBeVisible();
  await expect(page.getByText(idp.familyName)).toHaveCount(0);
  expect(profileAnswers.filter((status) => status === 200), 'no profile was served').toEqual([]);

  // Signing in from there lands on the page that was asked for.
  await submitIdpLogin(page, idp);
  await expect(page).toHaveURL(`${baseURL}${paths.SERVER_PROFILE}`);
  await expect(byId(page, ids.PROFILE_GIVEN_NAME)).toHaveText(idp.givenName);
});

test('two tabs: signing out in one shows the other signed out, without a reload', async ({ context, idp, baseURL }) => {
  const first = await context.newPage();
  await signIn(first, idp);
  await hydrated(first);
  const second = await context.newPage();
  await second.goto(paths.SERVER_PROFILE);
  await expect(byId(second, ids.PROFILE_GIVEN_NAME)).toHaveText(idp.givenName);
  await hydrated(second);
  await markWindow(second);
  const loads = countDocumentLoads(second, baseURL!);

  await byId(first, ids.SIGN_OUT).click();
  await expect(byId(first, ids.SIGN_IN)).toBeVisible();

  await expect(byId(second, ids.ERROR_TITLE)).toHaveText('Signed out', { timeout: 2_000 });
  await expect(byId(second, ids.WHO)).toHaveCount(0);
  await expect(byId(second, ids.PROFILE)).toHaveCount(0);
  expect(loads).toEqual([]);
  expect(await windowMark(second)).toBe('still here');
});

test('a back-channel logout from the IdP reaches an open tab', async ({ context, idp, baseURL }) => {
  test.skip(!idp.backchannelLogout, 'this IdP sends no back-channel logout');
  const page = await context.newPage();
  await signIn(page, idp);
  await byId(page, ids.NAV_CLIENT_PROFILE).click();
  await expect(byId(page, ids.PROFILE_GIVEN_NAME)).toHaveText(idp.givenName);
  await hydrated(page);
  await markWindow(page);

  // The user signs out at the IdP itself (its own logout page, not through this app): the IdP
  // ends its session and tells the app through the back channel.
  const discovery = await (await page.request.get(`${idp.origin}/t/${idp.org}/oauth2/token/.well-known/openid-configuration`)).json();
  const idpTab = await context.newPage();
  await idpTab.goto(discovery.end_session_endpoint);
  const confirm = idpTab.getByRole('button', { name: /sign out|yes/i });
  if ((await confirm.count()) > 0 && (await confirm.isVisible())) await confirm.click().catch(() => undefined);

  await expect(byId(page, ids.ERROR_MESSAGE)).toContainText('signed out at the identity provider', { timeout: 2_000 });
  await expect(byId(page, ids.PROFILE)).toHaveCount(0);
  expect(await windowMark(page)).toBe('still here');
});

test('a window that regains focus looks at the session again, once per cooldown', async ({ page, idp, baseURL }) => {
  await page.route(`${baseURL}${paths.AUTH_EVENTS}`, (route) => route.abort());
  await signIn(page, idp);
  await hydrated(page);
  const peeks: Request[] = [];
  page.on('request', (request) => {
    if (request.url() === `${baseURL}${paths.FN_AUTH_STATE_PEEK}`) peeks.push(request);
  });
  await page.evaluate(async (signOut) => {
    await fetch(signOut, { method: 'POST', redirect: 'manual' });
  }, paths.SIGN_OUT);

  for (let i = 0; i < 5; i++) await page.evaluate(() => window.dispatchEvent(new Event('focus')));
  await expect(byId(page, ids.SIGN_IN)).toBeVisible();
  await expect(byId(page, ids.WHO)).toHaveCount(0);
  await page.waitForLoadState('networkidle');
  expect(peeks.length, 'five focus events, one look').toBe(1);
});

test('a refused event stream is opened again after its back-off, not at once', async ({ page, idp, baseURL }) => {
  // The server refuses the stream (as it does when its store is down): the tab looks at the
  // session once and tries the stream again 5 s later — not in a loop of looks and retries.
  const opened: string[] = [];
  await page.route(`${baseURL}${paths.AUTH_EVENTS}`, (route) => {
    opened.push(route.request().url());
    return route.fulfill({ status: 503, contentType: 'text/plain', body: 'unavailable' });
  });
  const peeks: Request[] = [];
  page.on('request', (request) => {
    if (request.url() === `${baseURL}${paths.FN_AUTH_STATE_PEEK}`) peeks.push(request);
  });
  await signIn(page, idp);
  await hydrated(page);
  await expect.poll(() => peeks.length, 'the refusal is looked into').toBeGreaterThanOrEqual(1);
  await page.waitForTimeout(1_500);
  expect(opened.length, 'one attempt within the first back-off').toBe(1);
  expect(peeks.length, 'one look').toBe(1);
  await expect(byId(page, ids.WHO)).toBeVisible();
});

test('without JavaScript, /server-profile shows the data and sign-out works', async ({ browser, idp, baseURL }) => {
  const context: BrowserContext = await browser.newContext({ baseURL, javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    await page.goto(paths.HOME);
    await byId(page, ids.SIGN_IN).click();
    await submitIdpLogin(page, idp);
    await expect(byId(page, ids.WELCOME)).toContainText(idp.givenName);

    await byId(page, ids.NAV_SERVER_PROFILE).click();
    await expect(page).toHaveURL(`${baseURL}${paths.SERVER_PROFILE}`);
    await expect(byId(page, ids.PROFILE_GIVEN_NAME)).toHaveText(idp.givenName);
    await expect(byId(page, ids.PROFILE_EMAIL)).toHaveText(idp.email);

    await byId(page, ids.SIGN_OUT).click();
    // An IdP whose logout page confirms with a script needs the button pressed by hand.
    const confirm = page.getByRole('button', { name: 'Sign out' });
    if (page.url().startsWith(idp.origin) && (await confirm.count()) > 0) await confirm.click();
    await expect(byId(page, ids.SIGN_IN)).toBeVisible();
    expect(await (await page.request.get(paths.SESSION)).json()).toEqual({});
  } finally {
    await context.close();
  }
});
