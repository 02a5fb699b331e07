import { ClientSecretCredential } from '@azure/identity';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGraphEmulator, type GraphEmulator } from '../../emulator/index';
import { JSON_HEADERS, call, currentBody, getToken, paths, seedReview } from '../support/emulatorClient';

let emu: GraphEmulator;

beforeAll(async () => {
  emu = await startGraphEmulator();
});
afterAll(async () => {
  await emu.close();
});

function form(values: Record<string, string>) {
  return { method: 'POST', body: new URLSearchParams(values).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
}

function claims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('token endpoint', () => {
  it('issues a Graph app token with the app roles and emulator-clock times', async () => {
    const answer = await call(emu, emu.tokenUrl, form({ grant_type: 'client_credentials', client_id: emu.clientId, client_secret: emu.clientSecret, scope: 'https://graph.microsoft.com/.default' }));
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    const c = claims(answer.json.access_token as string);
    expect(c).toMatchObject({
      aud: 'https://graph.microsoft.com',
      iss: `https://sts.windows.net/${emu.tenantId}/`,
      tid: emu.tenantId,
      appid: emu.clientId,
      azp: emu.clientId,
      idtyp: 'app',
      roles: ['EntitlementManagement.ReadWrite.All', 'AccessReview.Read.All'],
    });
    expect((c.exp as number) - (c.iat as number)).toBe(3600);
    expect(c.nbf).toBe(c.iat);
  });

  it('uses the emulator clock and the configured lifetime', async () => {
    const local = await startGraphEmulator({ startTime: Date.UTC(2030, 0, 1), behaviour: { tokenLifetimeSeconds: 60 } });
    try {
      const answer = await call(local, local.tokenUrl, form({ grant_type: 'client_credentials', client_id: local.clientId, client_secret: local.clientSecret, scope: 'https://graph.microsoft.com/.default' }));
      expect(answer.json.expires_in).toBe(60);
      const c = claims(answer.json.access_token as string);
      expect(new Date((c.iat as number) * 1000).getUTCFullYear()).toBe(2030);
    } finally {
      await local.close();
    }
  });

  it.each([
    ['a wrong secret', { client_secret: 'nope' }, 401, 'invalid_client'],
    ['an unknown client', { client_id: 'someone-else' }, 401, 'invalid_client'],
    ['a scope without /.default', { scope: 'https://graph.microsoft.com/User.Read' }, 400, 'invalid_scope'],
    ['another grant type', { grant_type: 'password' }, 400, 'unsupported_grant_type'],
  ])('refuses %s with an AAD-style error', async (_label, override, status, error) => {
    const values = { grant_type: 'client_credentials', client_id: emu.clientId, client_secret: emu.clientSecret, scope: 'https://graph.microsoft.com/.default', ...override };
    const answer = await call(emu, emu.tokenUrl, form(values));
    expect(answer.status).toBe(status);
    expect(answer.json).toMatchObject({ error, error_codes: [expect.any(Number)], trace_id: expect.any(String), correlation_id: expect.any(String) });
    expect(answer.json.error_description).toMatch(/^AADSTS\d+:/);
  });

  it('refuses another tenant', async () => {
    const answer = await call(emu, emu.tokenUrl.replace(emu.tenantId, 'other-tenant'), form({ grant_type: 'client_credentials', client_id: emu.clientId, client_secret: emu.clientSecret, scope: 'https://graph.microsoft.com/.default' }));
    expect(answer.status).toBe(400);
  });

  it('serves OpenID discovery in both path variants, pointing at the token endpoint', async () => {
    for (const suffix of ['v2.0/.well-known/openid-configuration', '.well-known/openid-configuration']) {
      const answer = await call(emu, `/${emu.tenantId}/${suffix}`);
      expect(answer.status).toBe(200);
      expect(answer.json.token_endpoint).toBe(emu.tokenUrl);
      const keys = await call(emu, answer.json.jwks_uri as string);
      expect(keys.json.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256' });
    }
  });
});

describe('Graph authentication and authorisation', () => {
  const sessionsPath = () => {
    const sample = emu.sample;
    if (!sample) throw new Error('no sample');
    return paths.p3(sample.catalogId, sample.resourceId);
  };

  it('401 InvalidAuthenticationToken with WWW-Authenticate without a token or with a bad one', async () => {
    const variants: Record<string, string>[] = [{}, { authorization: 'Bearer not-a-jwt' }, { authorization: 'Basic abc' }];
    for (const headers of variants) {
      const answer = await call(emu, sessionsPath(), { headers });
      expect(answer.status).toBe(401);
      expect(answer.json.error.code).toBe('InvalidAuthenticationToken');
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer/);
    }
  });

  it('401 for a token signed by another emulator', async () => {
    const other = await startGraphEmulator({ seedSample: false });
    try {
      const foreign = await getToken(other);
      const answer = await call(emu, sessionsPath(), { token: foreign });
      expect(answer.status).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('401 once the token has expired on the emulator clock', async () => {
    const local = await startGraphEmulator({ behaviour: { tokenLifetimeSeconds: 300 } });
    try {
      const token = await getToken(local);
      const path = paths.p3(local.sample?.catalogId ?? '', local.sample?.resourceId ?? '');
      expect((await call(local, path, { token })).status).toBe(200);
      local.admin.advanceClock(301_000);
      const expired = await call(local, path, { token });
      expect(expired.status).toBe(401);
      expect(expired.json.error.message).toContain('expired');
      expect((await call(local, path, { token: await getToken(local) })).status).toBe(200);
    } finally {
      await local.close();
    }
  });

  it('403 Authorization_RequestDenied without the role, per operation and version', async () => {
    emu.admin.seed({ apps: [{ clientId: 'reader', clientSecret: 'reader-secret', roles: ['EntitlementManagement.Read.All'] }] });
    const token = await getToken(emu, 'reader', 'reader-secret');
    const review = seedReview(emu);
    // v1.0 reads need Read.All; beta reads and all writes need ReadWrite.All.
    expect((await call(emu, paths.p3(review.catalogId, review.resourceId), { token })).status).toBe(200);
    const betaRead = await call(emu, paths.p2(review.catalogId, review.resourceId), { token });
    expect(betaRead.status).toBe(403);
    expect(betaRead.json.error.code).toBe('Authorization_RequestDenied');
    const create = await call(emu, paths.p3(review.catalogId, review.resourceId), { method: 'POST', token, body: currentBody(review.definitionId, review.instanceId), headers: JSON_HEADERS });
    expect(create.status).toBe(403);
    expect(emu.admin.state().sessions.filter((s) => s.referenceId === review.instanceId)).toHaveLength(0);
    expect((await call(emu, `/v1.0/identityGovernance/entitlementManagement/catalogs/${review.catalogId}/resources`, { token })).status).toBe(200);
    expect((await call(emu, '/v1.0/identityGovernance/accessReviews/definitions', { token })).status).toBe(403);
  });

  it('a role removed with setAppRoles is denied at once, and restored', async () => {
    const token = await getToken(emu);
    const review = seedReview(emu);
    emu.admin.setAppRoles(emu.clientId, ['AccessReview.Read.All']);
    try {
      const denied = await call(emu, paths.p3(review.catalogId, review.resourceId), { method: 'POST', token, body: currentBody(review.definitionId, review.instanceId), headers: JSON_HEADERS });
      expect(denied.status).toBe(403);
    } finally {
      emu.admin.setAppRoles(emu.clientId, ['EntitlementManagement.ReadWrite.All', 'AccessReview.Read.All']);
    }
    const allowed = await call(emu, paths.p3(review.catalogId, review.resourceId), { method: 'POST', token, body: currentBody(review.definitionId, review.instanceId), headers: JSON_HEADERS });
    expect(allowed.status).toBe(201);
  });
});

describe('@azure/identity against the emulator', () => {
  it('ClientSecretCredential gets a token, trusting the emulator CA in process', async () => {
    // The recipe: authorityHost = the emulator origin, no instance discovery, and a per-call pipeline policy that
    // sets the TLS trust of every request to the public roots plus the emulator's self-signed certificate.
    const ca = [...tls.rootCertificates, emu.caCertificatePem];
    const credential = new ClientSecretCredential(emu.tenantId, emu.clientId, emu.clientSecret, {
      authorityHost: emu.authorityHost,
      disableInstanceDiscovery: true,
      additionalPolicies: [
        {
          position: 'perCall',
          policy: {
            name: 'trustGraphEmulatorCa',
            sendRequest: (request, next) => {
              request.tlsSettings = { ca };
              return next(request);
            },
          },
        },
      ],
    });
    emu.admin.clearRequests();
    const token = await credential.getToken('https://graph.microsoft.com/.default');
    expect(claims(token.token)).toMatchObject({ appid: emu.clientId, aud: 'https://graph.microsoft.com' });
    const seen = emu.admin.requests().map((r) => `${r.method} ${r.path}`);
    expect(seen).toContain(`POST /${emu.tenantId}/oauth2/v2.0/token`);
    // The token works against the Graph surface.
    const answer = await call(emu, '/v1.0/identityGovernance/accessReviews/definitions', { token: token.token });
    expect(answer.status).toBe(200);
  });
});
