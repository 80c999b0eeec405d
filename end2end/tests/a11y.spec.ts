// Accessibility: every page passes axe-core's WCAG 2.1 A/AA rules, signed out and signed in, in
// light and dark colour schemes; focus is visible; a route change moves focus and announces the
// new page.
import AxeBuilder from '@axe-core/playwright';
import { Page } from '@playwright/test';
import { test, expect, byId, ids, paths, signIn } from './fixtures';

const WCAG_21_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

async function expectNoViolations(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).withTags(WCAG_21_AA).analyze();
  const found = results.violations.map((v) => ({
    rule: v.id,
    impact: v.impact,
    nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary ?? ''}`),
  }));
  expect(found, `axe-core on ${what}`).toEqual([]);
}

for (const colorScheme of ['light', 'dark'] as const) {
  test(`every page passes WCAG 2.1 AA (${colorScheme})`, async ({ page, idp, baseURL }) => {
    await page.emulateMedia({ colorScheme });

    await page.goto(paths.HOME);
    await expect(byId(page, ids.SIGN_IN)).toBeVisible();
    await expectNoViolations(page, 'the home page, signed out');

    await page.goto('/no-such-page');
    await expect(byId(page, ids.ERROR_TITLE)).toHaveText('Page not found');
    await expectNoViolations(page, 'the not-found page');

    await page.goto(`${paths.CALLBACK}?code=x&state=forged`);
    await expect(byId(page, ids.ERROR_TITLE)).toBeVisible();
    await expectNoViolations(page, 'the sign-in error page');

    await page.goto(paths.HOME);
    await byId(page, ids.SIGN_IN).click();
    await expect(page.locator('input[name=password]')).toBeVisible();
    if (idp.org === 'dev') await expectNoViolations(page, "the development IdP's login page");

    await page.locator('input[name=username]').fill(idp.username);
    await page.locator('input[name=password]').fill(idp.password);
    await page.locator('button[type=submit]').click();
    await expect(byId(page, ids.WELCOME)).toBeVisible();
    await expectNoViolations(page, 'the home page, signed in');

    await page.goto(paths.CLIENT_PROFILE);
    await expect(byId(page, ids.PROFILE_GIVEN_NAME)).toHaveText(idp.givenName);
    await expectNoViolations(page, 'the client-side profile');

    await page.goto(paths.SERVER_PROFILE);
    await expect(byId(page, ids.PROFILE_GIVEN_NAME)).toHaveText(idp.givenName);
    await expectNoViolations(page, 'the server-side profile');

    // The page a tab shows when the session ended behind it.
    await page.evaluate(async (signOut) => {
      await fetch(signOut, { method: 'POST', redirect: 'manual' });
    }, paths.SIGN_OUT);
    await expect(byId(page, ids.ERROR_TITLE)).toHaveText('Signed out');
    await expectNoViolations(page, 'the signed-out notice');
    expect(baseURL).toBeTruthy();
  });
}

test('the keyboard reaches everything, with a visible focus ring', async ({ page, idp }) => {
  await signIn(page, idp);
  await page.waitForFunction(() => document.documentElement.dataset.hydrated === 'true');
  const focused = async () =>
    page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      const style = el ? getComputedStyle(el) : undefined;
      return { id: el?.id ?? '', text: el?.textContent?.trim() ?? '', outline: style?.outlineStyle ?? 'none', width: style?.outlineWidth ?? '0px' };
    });

  await page.keyboard.press('Tab');
  let now = await focused();
  expect(now.text).toBe('Skip to content');
  expect(now.outline).not.toBe('none');

  // Tab on to the client-side profile link and follow it with Enter.
  for (let i = 0; i < 10 && now.id !== ids.NAV_CLIENT_PROFILE; i++) {
    await page.keyboard.press('Tab');
    now = await focused();
  }
  expect(now.id).toBe(ids.NAV_CLIENT_PROFILE);
  expect(now.outline).not.toBe('none');
  expect(now.width).not.toBe('0px');
  await page.keyboard.press('Enter');
  await expect(byId(page, ids.PROFILE_GIVEN_NAME)).toHaveText(idp.givenName);

  // The route change moved focus to the main content and announced the new page.
  await expect(page).toHaveTitle('Client-side profile · asgardeo-leptos');
  await expect(byId(page, ids.ROUTE_ANNOUNCER)).toHaveText('Client-side profile · asgardeo-leptos');
  expect((await focused()).id).toBe(ids.MAIN);

  // And the sign-out button is reachable and works from the keyboard.
  for (let i = 0; i < 10 && now.id !== ids.SIGN_OUT; i++) {
    await page.keyboard.press('Tab');
    now = await focused();
  }
  expect(now.id).toBe(ids.SIGN_OUT);
  expect(now.outline).not.toBe('none');
});
