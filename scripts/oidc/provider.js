// A local OpenID Connect provider that behaves as HelseID does towards pht, for the tests:
// authorization code flow with PKCE (S256, required), client authentication by signed JWT
// (private_key_jwt, RS256), the HPR number as the claim helseid://claims/hpr/hpr_number in the
// ID token, and RP-initiated logout. Built on the certified `oidc-provider` package (npm).
//
// Sign-in uses the package's development interactions: the login name typed is the account.
// A login of digits is a person with that HPR number; a login starting with "nohpr" is a person
// without one. Any password is accepted (this is a test provider on loopback only).
//
// Environment: PHT_OIDC_PORT (default 54330), PHT_OIDC_STATE (folder for keys and oidc.json).
// It writes $PHT_OIDC_STATE/oidc.json: the issuer, the client id and the client's private key
// file, which pht's tests read.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import Provider from 'oidc-provider';

const port = Number(process.env.PHT_OIDC_PORT || 54330);
const state = process.env.PHT_OIDC_STATE || `/tmp/pht-oidc-${port}`;
const issuer = `http://127.0.0.1:${port}`;
const clientId = 'pht-test';
const hprClaim = 'helseid://claims/hpr/hpr_number';
const hprScope = 'helseid://scopes/hpr/hpr_number';

fs.mkdirSync(state, { recursive: true, mode: 0o700 });

// A key pair, made once and kept in the state folder: the provider's or the client's.
function keyPair(name) {
  const file = path.join(state, `${name}.pem`);
  if (!fs.existsSync(file)) {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    fs.writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  const key = crypto.createPrivateKey(fs.readFileSync(file));
  return { file, key };
}

function jwk(key, kid, { pub }) {
  const exported = (pub ? crypto.createPublicKey(key) : key).export({ format: 'jwk' });
  return { ...exported, kid, alg: 'RS256', use: 'sig' };
}

const signing = keyPair('provider-signing');
const client = keyPair('client');
const clientKid = 'pht-test-1';

function account(id) {
  return {
    accountId: id,
    async claims() {
      const claims = { sub: id, name: `Testperson ${id}` };
      if (/^\d+$/.test(id)) {
        claims[hprClaim] = id;
      }
      return claims;
    },
  };
}

const configuration = {
  clients: [
    {
      client_id: clientId,
      application_type: 'native', // loopback redirect URIs match on any port (RFC 8252)
      redirect_uris: [
        'http://127.0.0.1/accounts/sso/callback/',
        'http://localhost/accounts/sso/callback/',
      ],
      post_logout_redirect_uris: ['http://127.0.0.1/accounts/login/', 'http://localhost/accounts/login/'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'RS256',
      id_token_signed_response_alg: 'RS256',
      jwks: { keys: [jwk(client.key, clientKid, { pub: true })] },
    },
  ],
  jwks: { keys: [jwk(signing.key, 'provider-1', { pub: false })] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  pkce: { required: () => true },
  scopes: ['openid', 'profile', hprScope],
  claims: {
    openid: ['sub'],
    profile: ['name'],
    [hprScope]: [hprClaim],
  },
  conformIdTokenClaims: false, // the HPR number in the ID token, as HelseID puts it
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = `<!DOCTYPE html><html lang="nb"><head><meta charset="utf-8"><title>Logg ut</title></head>
<body><h1>Logge ut av testleverandøren?</h1>${form}
<button id="op-logout" type="submit" form="op.logoutForm" value="yes" name="logout">Ja, logg ut</button></body></html>`;
      },
    },
  },
  // pht is a first-party client: the person's consent is implied, as at HelseID.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      return ctx.oidc.provider.Grant.find(grantId);
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(['openid', 'profile', hprScope].join(' '));
    grant.addOIDCClaims([hprClaim, 'name']);
    await grant.save();
    return grant;
  },
  async findAccount(ctx, id) {
    return account(id);
  },
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (ctx, err) => console.error('server_error', err));

provider.listen(port, '127.0.0.1', () => {
  fs.writeFileSync(
    path.join(state, 'oidc.json'),
    JSON.stringify({ issuer, client_id: clientId, key_id: clientKid, private_key_file: client.file }, null, 1),
  );
  console.log(`oidc-provider: ${issuer} (client ${clientId}, state ${state})`);
});
