// A person's journey: sign in, both profile pages, sign out — in Chromium, on the release build.
import { Request } from '@playwright/test';
import * as path from 'node:path';
import { test, expect, byId, ids, paths, scimMeUrl, signIn, submitIdpLogin, escapeRegExp, artifactsDir } from './fixtures';

test('signed out, the home page offers sign-in and the profile pages send you to the IdP', async ({ page, idp }) => {
  await page.goto(paths.HOME);
  await expect(byId(page, ids.SIGN_IN)).toBeVisible();
  for (const protectedPath of [paths.CLIENT_PROFILE, paths.SERVER_PROFILE]) {
    await page.goto(protectedPath);
    await expect(page).toHaveURL(new RegExp(`^${escapeRegExp(idp.origin)}/t/${idp.org}/`));
    await expect(page.locator('input[name=password]')).toBeVisible();
  }
});

test('sign in, see the profile from the browser and from the server, sign out everywhere', async ({ page, idp, baseURL }, testInfo) => {
  const scimRequests: Request[] = [];
  page.on('request', (request) => {
    if (request.url().includes('/scim2/Me')) scimRequests.push(request);
  });

  await signIn(page, idp);
  await expect(page).toHaveURL(`${baseURL}/`);
  await expect(byId(page, ids.WELCOME)).toHaveText(`Welcome, ${idp.givenName}!`);

  // Client-side profile: the browser itself calls the IdP's scim2/Me with the access token.
  await byId(page, ids.NAV_CLIENT_PROFILE).click();
  await expect(page).toHaveURL(`${baseURL}${paths.CLIENT_PROFILE}`);
  await expect(byId(page, ids.PROFILE)).toContainText(`First Name: ${idp.givenName}`);
  await expect(byId(page, ids.PROFILE)).toContainText(`Last Name: ${idp.familyName}`);
  await expect(byId(page, ids.PROFILE)).toContainText(`Email: ${idp.email}`);
  await expect(page.getByRole('heading', { name: 'Profile Page' })).toBeVisible();
  await expect(byId(page, ids.GO_HOME)).toHaveText('Go to index page');
  if (idp.tokenInBrowser) {
    const fromBrowser = scimRequests.filter((r) => r.url() === scimMeUrl(idp) && r.method() === 'GET');
    expect(fromBrowser.length, 'the browser called the IdP scim2/Me').toBeGreaterThanOrEqual(1);
    const headers = await fromBrowser[0].allHeaders();
    expect(headers['authorization']).toMatch(/^Bearer \S+$/);
    expect(headers['accept']).toBe('application/scim+json');
  } else {
    // The token never reaches JavaScript: the browser asks the app's same-origin proxy.
    expect(scimRequests.map((r) => r.url())).toEqual([`${baseURL}${paths.ME_PROXY}`]);
    expect(await scimRequests[0].headerValue('authorization')).toBeNull();
    expect((await (await page.request.get(paths.SESSION)).json()).access_token).toBeUndefined();
  }
  await page.screenshot({ path: path.join(artifactsDir, `${testInfo.project.name}-client-profile.png`), fullPage: true });

  // A cold load of the same page works too (hydration, then the browser's call).
  scimRequests.length = 0;
  await page.goto(paths.CLIENT_PROFILE);
  await expect(byId(page, ids.PROFILE_GIVEN_NAME)).toHaveText(idp.givenName);
  const expected = idp.tokenInBrowser ? scimMeUrl(idp) : `${baseURL}${paths.ME_PROXY}`;
  expect(scimRequests.some((r) => r.url() === expected)).toBe(true);

  // Server-side profile: the record is in the HTML; the browser makes no scim2/Me request.
  scimRequests.length = 0;
  await page.goto(paths.SERVER_PROFILE);
  await expect(byId(page, ids.PROFILE)).toContainText(`First Name: ${idp.givenName}`);
  await expect(byId(page, ids.PROFILE)).toContainText(`Email: ${idp.email}`);
  await page.waitForLoadState('networkidle');
  expect(scimRequests.map((r) => r.url())).toEqual([]);
  await page.screenshot({ path: path.join(artifactsDir, `${testInfo.project.name}-server-profile.png`), fullPage: true });

  // Back home by the page's own link, then sign out: here and at the IdP.
  await byId(page, ids.GO_HOME).click();
  await expect(byId(page, ids.WELCOME)).toBeVisible();
  await byId(page, ids.SIGN_OUT).click();
  await expect(page).toHaveURL(`${baseURL}/`);
  await expect(byId(page, ids.SIGN_IN)).toBeVisible();
  const session = await page.request.get(paths.SESSION);
  expect(await session.json()).toEqual({});

  // Both profile pages now send the user to sign in, and the IdP asks for the password again.
  for (const protectedPath of [paths.CLIENT_PROFILE, paths.SERVER_PROFILE]) {
    await page.goto(protectedPath);
    await expect(page).toHaveURL(new RegExp(`^${escapeRegExp(idp.origin)}/t/${idp.org}/`));
    await expect(page.locator('input[name=password]')).toBeVisible();
  }

  // Signing in from there brings the user back to the page they wanted.
  await submitIdpLogin(page, idp);
  await expect(page).toHaveURL(`${baseURL}${paths.SERVER_PROFILE}`);
  await expect(byId(page, ids.PROFILE_GIVEN_NAME)).toHaveText(idp.givenName);
});
