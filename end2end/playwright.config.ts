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
};

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
  ],
  webServer: [
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
  ],
});
