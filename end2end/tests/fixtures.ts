// Shared test fixtures: which IdP a project signs in with, and the ids the app's views use.
import { test as base, expect, Page } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';

/// `end2end/ids.json` is written from app/src/names.rs by `cargo run -p app --example ids_json` (`make test` does it).
export const { paths, ids } = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'ids.json'), 'utf8')) as {
  paths: Record<string, string>;
  ids: Record<string, string>;
};

export type IdpOptions = {
  /** e.g. http://localhost:9443 */
  origin: string;
  /** the organisation in /t/{org}/… */
  org: string;
  username: string;
  password: string;
  givenName: string;
  familyName: string;
  email: string;
  /** Whether /api/auth/session hands the browser the access token (AUTH_EXPOSE_ACCESS_TOKEN). */
  tokenInBrowser: boolean;
  /** Whether the IdP tells the app through the back channel when a user signs out there. */
  backchannelLogout: boolean;
};

export const test = base.extend<{ idp: IdpOptions; failOnPanics: void }>({
  idp: [{ origin: '', org: '', username: '', password: '', givenName: '', familyName: '', email: '', tokenInBrowser: true, backchannelLogout: false }, { option: true }],
  // Every test fails if the page throws or the wasm panics (a hydration error, say), even when
  // what the test looks at happens to be right in the server-rendered HTML, and if the app's
  // Content-Security-Policy blocks anything on the app's pages (a script, the wasm, a fetch).
  failOnPanics: [
    async ({ page, baseURL }, use) => {
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error' && message.text().includes('panicked at')) problems.push(message.text());
        const onApp = page.url().startsWith(baseURL!) || message.location().url.startsWith(baseURL!);
        if (onApp && message.text().includes('Content Security Policy')) problems.push(`CSP: ${message.text()}`);
      });
      await use();
      expect(problems, 'the page threw or panicked').toEqual([]);
    },
    { auto: true },
  ],
});
export { expect };

export const byId = (page: Page, id: string) => page.locator(`#${id}`);

/** The IdP's scim2/Me URL. */
export const scimMeUrl = (idp: IdpOptions) => `${idp.origin}/t/${idp.org}/scim2/Me`;

/** Fills the IdP's login form (fields `username` and `password`, as Asgardeo's). */
export async function submitIdpLogin(page: Page, idp: IdpOptions) {
  await expect(page).toHaveURL(new RegExp(`^${escapeRegExp(idp.origin)}/`));
  await page.locator('input[name=username]').fill(idp.username);
  await page.locator('input[name=password]').fill(idp.password);
  await page.locator('button[type=submit]').click();
}

/** Signs in from the home page and waits for the welcome. */
export async function signIn(page: Page, idp: IdpOptions) {
  await page.goto(paths.HOME);
  await byId(page, ids.SIGN_IN).click();
  await submitIdpLogin(page, idp);
  await expect(byId(page, ids.WELCOME)).toContainText(idp.givenName);
}

export function escapeRegExp(text: string) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Where screenshots kept as CI artifacts go. */
export const artifactsDir = path.join(__dirname, '..', 'artifacts');
