// What a person sees when the IdP stops accepting their token: a clear message and a way out.
import { test, expect, byId, ids, paths, signIn } from './fixtures';

test('a token the IdP no longer accepts: the client profile says so and offers sign-in', async ({ page, idp, request }, testInfo) => {
  test.skip(testInfo.project.name !== 'dev-idp', 'uses the development IdP\'s test controls');
  await signIn(page, idp);

  // An administrator revokes every token of the user at the IdP.
  const revoked = await request.post(`${idp.origin}/t/${idp.org}/_test/revoke`, { form: { username: idp.username } });
  expect(revoked.status()).toBe(204);

  await page.goto(paths.CLIENT_PROFILE);
  await expect(byId(page, ids.PROFILE_ERROR)).toContainText('Failed to fetch user details');
  await expect(byId(page, ids.PROFILE_ERROR)).toContainText('Your session at the identity provider has expired — sign in again.');
  await expect(byId(page, ids.ERROR_ACTION)).toHaveText('Sign in again');

  // The way out works: the IdP session is still there (only tokens were revoked), so signing
  // in again is one click and lands back on the page with fresh tokens.
  await byId(page, ids.ERROR_ACTION).click();
  await expect(page).toHaveURL(new RegExp(`${paths.CLIENT_PROFILE}$`));
  await expect(byId(page, ids.PROFILE_GIVEN_NAME)).toHaveText(idp.givenName);
});
