// What a person sees when the IdP stops accepting their token: a fresh token when it can be had,
// otherwise a clear message and a way out.
import { test, expect, byId, ids, paths, signIn } from './fixtures';

test.beforeEach(({}, testInfo) => {
  test.skip(testInfo.project.name === 'oidc-provider', "uses the development IdP's test controls");
});

test('a refused access token is refreshed and the call retried once', async ({ page, idp, request }) => {
  await signIn(page, idp);
  // The IdP stops accepting the access token (its refresh token still works).
  const expired = await request.post(`${idp.origin}/t/${idp.org}/_test/expire-access-tokens`, { form: { username: idp.username } });
  expect(expired.status()).toBe(204);
  const before = await (await page.request.get(paths.SESSION)).json();

  await page.goto(paths.CLIENT_PROFILE);

  await expect(byId(page, ids.PROFILE_GIVEN_NAME)).toHaveText(idp.givenName);
  const after = await (await page.request.get(paths.SESSION)).json();
  expect(after.user).toEqual(before.user);
  if (before.access_token) expect(after.access_token).not.toBe(before.access_token);
});

test('a revoked sign-in ends the session and says why, with a way back in', async ({ page, idp, request }) => {
  await signIn(page, idp);
  // An administrator revokes every token of the user at the IdP.
  const revoked = await request.post(`${idp.origin}/t/${idp.org}/_test/revoke`, { form: { username: idp.username } });
  expect(revoked.status()).toBe(204);

  // The browser's scim2/Me call is refused, the server's refresh too: the session ends, and the
  // page (reloaded from the server) says why.
  await page.goto(paths.CLIENT_PROFILE);
  await expect(byId(page, ids.ERROR_TITLE)).toHaveText('Signed out');
  await expect(byId(page, ids.ERROR_MESSAGE)).toContainText('the identity provider refused to renew it');
  await expect(byId(page, ids.ERROR_ACTION)).toHaveText('Sign in again');
  expect(await (await page.request.get(paths.SESSION)).json()).toEqual({});

  // The way out works: the IdP session is still there (only tokens were revoked), so signing
  // in again is one click and lands back on the page with fresh tokens.
  await byId(page, ids.ERROR_ACTION).click();
  await expect(page).toHaveURL(new RegExp(`${paths.CLIENT_PROFILE}$`));
  await expect(byId(page, ids.PROFILE_GIVEN_NAME)).toHaveText(idp.givenName);
});

test('signing out in one browser ends the session in another, through the back channel', async ({ browser, idp, baseURL }) => {
  const first = await browser.newPage({ baseURL });
  const other = await browser.newContext({ baseURL });
  const otherPage = await other.newPage();
  await signIn(first, idp);
  await signIn(otherPage, idp);

  await byId(otherPage, ids.SIGN_OUT).click();
  await expect(byId(otherPage, ids.SIGN_IN)).toBeVisible();

  // The first browser's open page hears it at once and says why (see spa.spec.ts); its session
  // is gone, so the profile now needs a new sign-in.
  await expect(byId(first, ids.FLASH)).toContainText('You were signed out at the identity provider');
  expect(await (await first.request.get(paths.SESSION)).json()).toEqual({});
  await first.goto(paths.SERVER_PROFILE);
  await expect(first.locator('input[name=password]')).toBeVisible();
  await first.close();
  await other.close();
});

test('a page on another origin cannot sign the user out (cross-site request refused)', async ({ page, idp, baseURL }) => {
  await signIn(page, idp);
  // The IdP's origin is same-site (localhost) but another origin: SameSite=Lax alone would let
  // the cookie through; the server's Sec-Fetch-Site check refuses the request.
  await page.goto(`${idp.origin}/t/${idp.org}/_stats`);
  const status = await page.evaluate(async (target) => {
    const response = await fetch(target, { method: 'POST', credentials: 'include' }).catch(() => undefined);
    return response?.status ?? 0;
  }, `${baseURL}${paths.SIGN_OUT}`);
  expect([0, 403]).toContain(status); // 0: CORS hides the answer from the attacker's page

  // What matters: the user is still signed in.
  await page.goto(paths.SERVER_PROFILE);
  await expect(byId(page, ids.PROFILE_GIVEN_NAME)).toHaveText(idp.givenName);
});
