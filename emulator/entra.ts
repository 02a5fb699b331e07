/**
 * The Entra-like endpoints on the emulator's origin: OpenID discovery (so MSAL can find the token endpoint), the
 * signing keys, and the client-credentials token endpoint.
 */
import type { BodyResult } from './body';
import type { TokenService } from './auth';
import { jsonReply, type Reply } from './reply';

/** Routes `/{tenant}/…` identity paths; undefined when the path is not one of them. */
export async function handleEntra(method: string, pathname: string, body: BodyResult, tokens: TokenService, origin: string): Promise<Reply | undefined> {
  const segments = pathname.split('/').filter((s) => s !== '');
  const [tenant, ...rest] = segments;
  if (tenant === undefined) return undefined;
  const tail = rest.join('/');
  const tenantBase = `${origin}/${tenant}`;

  if (tail === 'oauth2/v2.0/token') {
    if (method !== 'POST') return jsonReply(405, { error: 'invalid_request', error_description: 'The token endpoint accepts POST only.' });
    const answer = await tokens.token(tenant, body.kind === 'form' ? body.params : undefined);
    return jsonReply(answer.status, answer.body, { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' });
  }
  if (method === 'GET' && (tail === 'v2.0/.well-known/openid-configuration' || tail === '.well-known/openid-configuration')) {
    if (tenant !== tokens.tenantId) return jsonReply(400, { error: 'invalid_tenant', error_description: `AADSTS90002: Tenant '${tenant}' not found.` });
    return jsonReply(200, {
      token_endpoint: `${tenantBase}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${tenantBase}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${tenantBase}/v2.0`,
      request_uri_parameter_supported: false,
      authorization_endpoint: `${tenantBase}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${tenantBase}/oauth2/v2.0/devicecode`,
      end_session_endpoint: `${tenantBase}/oauth2/v2.0/logout`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      tenant_region_scope: null,
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
    });
  }
  if (method === 'GET' && tail === 'discovery/v2.0/keys') return jsonReply(200, await tokens.jwks());
  return undefined;
}
