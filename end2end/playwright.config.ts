// Playwright end-to-end tests: Debian's Chromium drives the real pages of the release build.
//
// Run through `make test` (which builds the site and picks free ports), or by hand after
// `cargo leptos build --release`: `npx playwright test -c end2end/playwright.config.ts`.
// Ports come from E2E_* variables (defaults: app 3000, development IdP 9443).
import { defineConfig } from '@playwright/test';
import * as path from 'node:path';
import type { IdpOptions } from './tests/fixtures';

const root = path.resolve(__dirname, '..');
const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const app = port('E2E_APP_PORT', 3000);
const idp = port('E2E_IDP_PORT', 9443);
// A second app instance, signing in with oidc-provider (an OpenID Certified provider).
const appOp = port('E2E_APP_OP_PORT', 3002);
const op = port('E2E_OP_PORT', 9444);
// A third, keeping the access token out of JavaScript (AUTH_EXPOSE_ACCESS_TOKEN=false).
const appHidden = port('E2E_APP_HIDDEN_PORT', 3004);
const idpHidden = port('E2E_IDP_HIDDEN_PORT', 9445);
const opClient = { id: 'asgardeo-leptos-e2e', secret: 'asgardeo-leptos-e2e-secret' };

/// The app's environment: release binary, built-in development IdP, test controls on.
function appEnv(appPort: number, idpPort: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    RUST_LOG: process.env.RUST_LOG ?? 'info',
    LEPTOS_OUTPUT_NAME: 'asgardeo-leptos',
    LEPTOS_SITE_ROOT: path.join(root, 'target/site'),
    LEPTOS_SITE_ADDR: `127.0.0.1:${appPort}`,
    AUTH_URL: `http://localhost:${appPort}`,
    DEV_IDP_PORT: String(idpPort),
    DEV_IDP_TEST_CONTROLS: 'true',
    ...extra,
  };
}

const devIdp: IdpOptions = {
  origin: `http://localhost:${idp}`,
  org: 'dev',
  username: 'alice',
  password: 'alice-pass',
  givenName: 'Alice',
  familyName: 'Liddell',
  email: 'alice@example.com',
  tokenInBrowser: true,
  backchannelLogout: true,
};

const oidcProvider: IdpOptions = { ...devIdp, origin: `http://localhost:${op}`, org: 'acme' };
const devIdpTokenHidden: IdpOptions = { ...devIdp, origin: `http://localhost:${idpHidden}`, tokenInBrowser: false };

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  // Two cores: one browser at a time keeps timings calm.
  workers: 1,
  forbidOnly: !!process.env.CI,
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
    },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'dev-idp',
      use: { baseURL: `http://localhost:${app}`, idp: devIdp },
    },
    {
      name: 'oidc-provider',
      use: { baseURL: `http://localhost:${appOp}`, idp: oidcProvider },
    },
    {
      name: 'dev-idp-token-hidden',
      use: { baseURL: `http://localhost:${appHidden}`, idp: devIdpTokenHidden },
    },
  ],
  webServer: [
    {
      command: path.join(root, 'target/release/server'),
      cwd: root,
      url: `http://127.0.0.1:${appHidden}/api/auth/session`,
      env: appEnv(appHidden, idpHidden, { AUTH_EXPOSE_ACCESS_TOKEN: 'false' }),
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'pipe',
      stderr: 'pipe',
    },
    {
      command: path.join(root, 'target/release/server'),
      cwd: root,
      url: `http://127.0.0.1:${app}/api/auth/session`,
      env: appEnv(app, idp),
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'pipe',
      stderr: 'pipe',
    },
    {
      command: `node ${path.join(__dirname, 'oidc-provider/server.mjs')}`,
      url: `http://127.0.0.1:${op}/t/acme/oauth2/token/.well-known/openid-configuration`,
      env: {
        PATH: process.env.PATH ?? '',
        OP_PORT: String(op),
        APP_URL: `http://localhost:${appOp}`,
        OP_CLIENT_ID: opClient.id,
        OP_CLIENT_SECRET: opClient.secret,
      },
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'pipe',
      stderr: 'pipe',
    },
    {
      command: path.join(root, 'target/release/server'),
      cwd: root,
      url: `http://127.0.0.1:${appOp}/api/auth/session`,
      env: appEnv(appOp, 0, {
        AUTH_ASGARDEO_ISSUER: `http://localhost:${op}/t/acme/oauth2/token`,
        AUTH_ASGARDEO_ID: opClient.id,
        AUTH_ASGARDEO_SECRET: opClient.secret,
        AUTH_SECRET: 'e2e-only-secret-e2e-only-secret-e2e-only-secret',
      }),
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'pipe',
      stderr: 'pipe',
    },
  ],
});
