// An OpenID Certified provider (npm `oidc-provider`) configured like an Asgardeo organisation,
// for the end-to-end tests: issuer http://localhost:<port>/t/acme/oauth2/token, a login form
// (fields `username` and `password`), PKCE required, refresh tokens, RP-initiated logout, and a
// /t/acme/scim2/Me route that checks the bearer token (401 invalid, 403 without internal_login)
// with CORS for the app, and back-channel logout to the app.
//
// Environment: OP_PORT (default 9444), APP_URL (default http://localhost:3000), OP_CLIENT_ID,
// OP_CLIENT_SECRET. Started by end2end/playwright.config.ts on loopback.
import crypto from 'node:crypto';
import dns from 'node:dns';
import http from 'node:http';
import Provider from 'oidc-provider';

// The app listens on 127.0.0.1; `localhost` must not resolve to ::1 first for the back channel.
dns.setDefaultResultOrder('ipv4first');

const port = Number(process.env.OP_PORT ?? 9444);
const appUrl = (process.env.APP_URL ?? 'http://localhost:3000').replace(/\/$/, '');
const clientId = process.env.OP_CLIENT_ID ?? 'asgardeo-leptos-e2e';
const clientSecret = process.env.OP_CLIENT_SECRET ?? 'asgardeo-leptos-e2e-secret';
const org = 'acme';
const mount = `/t/${org}/oauth2/token`;
const issuer = `http://localhost:${port}${mount}`;

const users = [
  { username: 'alice', password: 'alice-pass', given_name: 'Alice', family_name: 'Liddell', email: 'alice@example.com' },
  { username: 'bob', password: 'bob-pass', given_name: 'Bob', family_name: 'Builder', email: 'bob@example.com' },
].map((u) => ({ ...u, sub: crypto.createHash('sha256').update(`acme:${u.username}`).digest('hex').slice(0, 32) }));
const bySub = (sub) => users.find((u) => u.sub === sub);

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'acme-1', use: 'sig', alg: 'RS256' };

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,"><style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto}
label{display:block;margin-top:1rem}input{width:100%;padding:.5rem}button{margin-top:1rem;padding:.6rem 1rem}
.error{color:#9b1c1c}</style></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [`${appUrl}/api/auth/callback/asgardeo`],
    post_logout_redirect_uris: [`${appUrl}/`],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    // Like an Asgardeo application with back-channel logout configured.
    backchannel_logout_uri: `${appUrl}/api/auth/backchannel-logout`,
    backchannel_logout_session_required: true,
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'internal_login'],
  claims: { openid: ['sub'], profile: ['given_name', 'family_name', 'username'], email: ['email'] },
  async findAccount(_ctx, sub) {
    const user = bySub(sub);
    if (!user) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, username: user.username, given_name: user.given_name, family_name: user.family_name, email: user.email };
      },
    };
  },
  pkce: { required: () => true },
  // Its outgoing requests (the back channel) refuse loopback addresses, where the app runs in
  // these tests: let them through.
  fetch(url, options) {
    delete options.dispatcher;
    return globalThis.fetch(url, options);
  },
  // Like Asgardeo: refresh tokens for every code grant of a client allowed to refresh.
  async issueRefreshToken(_ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  // A first-party application: no consent screen.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email offline_access internal_login');
    grant.addOIDCClaims(['given_name', 'family_name', 'username', 'email']);
    await grant.save();
    return grant;
  },
  ttl: { AccessToken: Number(process.env.OP_ACCESS_TOKEN_TTL ?? 3600), IdToken: 3600, Session: 86400, Interaction: 600, Grant: 86400 },
  interactions: { url: (_ctx, interaction) => `/t/${org}/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // Asgardeo signs out at once for a valid id_token_hint: submit the confirmation form.
      async logoutSource(ctx, form) {
        ctx.body = page('Signing out', `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>
<script>const f=document.getElementById('op.logoutForm');const i=document.createElement('input');
i.type='hidden';i.name='logout';i.value='yes';f.appendChild(i);f.submit();</script>`);
      },
    },
  },
});

const readForm = (req) => new Promise((resolve, reject) => {
  let body = '';
  req.on('data', (chunk) => {
    body += chunk;
    if (body.length > 65536) reject(new Error('body too large'));
  });
  req.on('end', () => resolve(new URLSearchParams(body)));
  req.on('error', reject);
});

const loginForm = (uid, error, username = '') => page('Sign In', `${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/t/${org}/interaction/${escapeHtml(uid)}/login">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required value="${escapeHtml(username)}">
<label for="password">Password</label><input id="password" name="password" type="password" required>
<button type="submit">Sign In</button></form>`);

function send(res, status, headers, body) {
  res.writeHead(status, headers);
  res.end(body);
}

const scimError = (status, detail) => JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], detail, status: String(status) });

async function scimMe(req, res) {
  const cors = req.headers.origin === appUrl
    ? { 'access-control-allow-origin': appUrl, vary: 'Origin' }
    : {};
  if (req.method === 'OPTIONS') {
    return send(res, 204, {
      ...cors,
      'access-control-allow-methods': 'GET',
      'access-control-allow-headers': 'authorization, content-type, accept',
      'access-control-max-age': '600',
    });
  }
  const json = { ...cors, 'content-type': 'application/scim+json' };
  const [scheme, value] = (req.headers.authorization ?? '').split(' ');
  const token = scheme?.toLowerCase() === 'bearer' && value ? await provider.AccessToken.find(value) : undefined;
  if (!token || token.isExpired) {
    return send(res, 401, { ...json, 'www-authenticate': 'Bearer error="invalid_token"' },
      scimError(401, 'Authorization failure. Authorization information was invalid or missing from your request.'));
  }
  if (!String(token.scope ?? '').split(' ').includes('internal_login')) {
    return send(res, 403, { ...json, 'www-authenticate': 'Bearer error="insufficient_scope"' },
      scimError(403, 'Operation is not permitted. You do not have permissions to make this request.'));
  }
  const user = bySub(token.accountId);
  return send(res, 200, json, JSON.stringify({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    id: user.sub,
    userName: user.username,
    name: { givenName: user.given_name, familyName: user.family_name },
    emails: [user.email],
    meta: { resourceType: 'User', location: `http://localhost:${port}/t/${org}/scim2/Users/${user.sub}` },
  }));
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, { 'content-type': 'text/html' }, page('Error', '<p>Interaction mismatch.</p>'));
  if (details.prompt.name !== 'login') {
    // Consent is granted by loadExistingGrant; nothing else to ask.
    return provider.interactionFinished(req, res, {}, { mergeWithLastSubmission: true });
  }
  if (req.method === 'GET' && !action) {
    return send(res, 200, { 'content-type': 'text/html', 'cache-control': 'no-store' }, loginForm(uid));
  }
  if (req.method === 'POST' && action === 'login') {
    const form = await readForm(req);
    const user = users.find((u) => u.username === form.get('username') && u.password === form.get('password'));
    if (!user) {
      return send(res, 401, { 'content-type': 'text/html', 'cache-control': 'no-store' },
        loginForm(uid, 'Login failed! Please check your username and password and try again.', form.get('username') ?? ''));
    }
    return provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
  }
  return send(res, 405, {}, '');
}

const callback = provider.callback();
const server = http.createServer(async (req, res) => {
  try {
    const path = new URL(req.url, 'http://localhost').pathname;
    if (path === `/t/${org}/scim2/Me`) return await scimMe(req, res);
    const match = path.match(new RegExp(`^/t/${org}/interaction/([^/]+)(?:/(login))?$`));
    if (match) return await interaction(req, res, match[1], match[2]);
    if (path === mount || path.startsWith(`${mount}/`)) {
      // Mounted under the issuer's path, as Express would: the provider sees the rest.
      req.originalUrl = req.url;
      req.url = req.url.slice(mount.length) || '/';
      return callback(req, res);
    }
    return send(res, 404, { 'content-type': 'text/plain' }, 'not found');
  } catch (err) {
    console.error(err);
    if (!res.headersSent) send(res, 500, { 'content-type': 'text/plain' }, 'internal error');
  }
});
provider.on('backchannel.error', (_ctx, err, client) => console.error(`back-channel logout to ${client.clientId} failed: ${err.message} ${err.cause?.message ?? err.cause ?? ""}`));
provider.on('backchannel.success', (_ctx, client) => console.log(`back-channel logout sent to ${client.clientId}`));

server.listen(port, '127.0.0.1', () => console.log(`oidc-provider (org ${org}) on ${issuer}`));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
