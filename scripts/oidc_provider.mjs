// A real OpenID provider for lensguard's single sign-on tests: npm
// `oidc-provider` (pinned in scripts/install-test-deps), over HTTPS on
// 127.0.0.1, with its own people, groups and `amr` values, and a login form
// of its own (no consent step: the test's client is first-party).
//
//   node scripts/oidc_provider.mjs CONFIG.json
//
// CONFIG: {"port", "cert", "key", "modules" (node_modules with
// oidc-provider and jose), "client": {"id", "secret", "redirect_uris"},
// "people": [{"sub", "username", "password", "groups", "amr"}]}
//
// For the token attack tests it also answers, on the same port:
//   POST /_test/attack {"mode": M}  the next token answers carry an ID token
//        forged as M: alg_none, hs256_public, wrong_issuer, wrong_audience,
//        expired, replay_nonce, unknown_kid; null: genuine again
//   POST /_test/rotate              a new signing key (new kid) replaces the
//        old one, in the keys it signs with and the JWKS it serves
//   GET  /_test/state               {"mode", "kid", "nonces"}
// Prints "ready <issuer>" on stdout once it listens.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { createRequire } from 'node:module';
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
// Start-up steps on stderr, so a start that hangs says where.
const started = Date.now();
const trace = (step) => process.stderr.write(`oidc test provider: ${step} after ${Date.now() - started} ms\n`);
const load = async (name) => {
  const require = createRequire(`${config.modules}/`);
  return import(pathToFileURL(require.resolve(name)).href);
};
const { default: Provider } = await load('oidc-provider');
trace('oidc-provider loaded');
const jose = await load('jose');
trace('jose loaded');

const issuer = `https://127.0.0.1:${config.port}`;
const people = new Map(config.people.map((p) => [p.username, p]));
const bySub = new Map(config.people.map((p) => [p.sub, p]));

function newKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `key-${randomUUID().slice(0, 8)}`, use: 'sig', alg: 'RS256' };
}

let signingKey = newKey();
trace('signing key generated');
let attack = null;
const nonces = [];

const page = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;

function build() {
  const provider = new Provider(issuer, {
    clients: [{
      client_id: config.client.id,
      client_secret: config.client.secret,
      redirect_uris: config.client.redirect_uris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [signingKey] },
    pkce: { required: () => true },
    conformIdTokenClaims: false,
    claims: {
      acr: null, amr: null, auth_time: null, sid: null, iss: null,
      openid: ['sub', 'amr', 'acr'],
      profile: ['preferred_username', 'name'],
      email: ['email'],
      groups: ['groups'],
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: ['lensguard-test-provider-cookie-key'] },
    findAccount: async (ctx, sub) => {
      const person = bySub.get(sub);
      if (!person) return undefined;
      return {
        accountId: sub,
        claims: async () => ({
          sub,
          preferred_username: person.username,
          name: person.username,
          email: `${person.username}@example.test`,
          groups: person.groups,
        }),
      };
    },
    ttl: { Session: 1, Interaction: 600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600, Grant: 600 },
  });
  provider.proxy = false;

  // The login form, and the test controls.
  provider.use(async (ctx, next) => {
    const interaction = ctx.path.match(/^\/interaction\/([^/]+)$/);
    if (interaction && ctx.method === 'GET') {
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      ctx.type = 'html';
      ctx.body = page('Test provider sign-in', `<form method="post" action="/interaction/${details.uid}">
<label>Username <input name="username" id="username"></label>
<label>Password <input name="password" id="password" type="password"></label>
<button type="submit" id="provider-sign-in">Sign in</button></form>`);
      return;
    }
    if (interaction && ctx.method === 'POST') {
      const text = await new Promise((resolve) => {
        let data = '';
        ctx.req.on('data', (c) => { data += c; });
        ctx.req.on('end', () => resolve(data));
      });
      const form = new URLSearchParams(text);
      const person = people.get(form.get('username') || '');
      if (!person || person.password !== form.get('password')) {
        ctx.status = 401;
        ctx.type = 'html';
        ctx.body = page('Wrong name or password', '');
        return;
      }
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      const grant = new provider.Grant({ accountId: person.sub, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      const grantId = await grant.save();
      const result = {
        login: { accountId: person.sub, amr: person.amr, remember: false },
        consent: { grantId },
      };
      await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
      ctx.respond = false;
      return;
    }
    if (ctx.path === '/_test/attack' && ctx.method === 'POST') {
      const text = await new Promise((resolve) => {
        let data = '';
        ctx.req.on('data', (c) => { data += c; });
        ctx.req.on('end', () => resolve(data));
      });
      attack = JSON.parse(text).mode;
      ctx.body = { mode: attack };
      return;
    }
    if (ctx.path === '/_test/rotate' && ctx.method === 'POST') {
      signingKey = newKey();
      current = build();
      ctx.body = { kid: signingKey.kid };
      return;
    }
    if (ctx.path === '/_test/state') {
      ctx.body = { mode: attack, kid: signingKey.kid, nonces };
      return;
    }
    await next();
    if (ctx.path === '/token' && ctx.body && ctx.body.id_token) {
      const claims = jose.decodeJwt(ctx.body.id_token);
      if (attack) {
        ctx.body = { ...ctx.body, id_token: await forge(attack, claims) };
      } else if (claims.nonce) {
        nonces.push(claims.nonce);
      }
    }
  });
  return provider;
}

const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

async function forge(mode, claims) {
  const now = Math.floor(Date.now() / 1000);
  const real = await jose.importJWK(signingKey, 'RS256');
  const sign = async (payload, key = real, kid = signingKey.kid) =>
    new jose.SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(key);
  switch (mode) {
    case 'alg_none':
      return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
    case 'hs256_public': {
      const { d, p, q, dp, dq, qi, ...pub } = signingKey;
      const pem = (await jose.importJWK({ ...pub, alg: 'RS256' }, 'RS256', { extractable: true }));
      const spki = await jose.exportSPKI(pem);
      const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: signingKey.kid })}.${b64(claims)}`;
      return `${input}.${createHmac('sha256', spki).update(input).digest('base64url')}`;
    }
    case 'wrong_issuer':
      return sign({ ...claims, iss: 'https://attacker.invalid' });
    case 'wrong_audience':
      return sign({ ...claims, aud: 'someone-else' });
    case 'expired':
      return sign({ ...claims, iat: now - 7200, exp: now - 3600 });
    case 'replay_nonce':
      return sign({ ...claims, nonce: nonces[nonces.length - 1] || 'never-sent' });
    case 'unknown_kid': {
      const stranger = newKey();
      return sign(claims, await jose.importJWK(stranger, 'RS256'), stranger.kid);
    }
    default:
      throw new Error(`unknown attack ${mode}`);
  }
}

let current = build();
trace('provider built');
const server = createServer(
  { cert: readFileSync(config.cert), key: readFileSync(config.key) },
  (req, res) => current.callback()(req, res),
);
server.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
