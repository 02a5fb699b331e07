/**
 * An Entra-like token issuer (client credentials only) and the bearer-token check Graph performs.
 *
 * Tokens are real JWTs signed with a per-start RS256 key, carrying the claims Graph app-only tokens carry (`aud`,
 * `iss`, `tid`, `appid`, `azp`, `roles`, `idtyp: app`), with times from the emulator clock so that moving the clock
 * expires them.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, jwtVerify, errors as joseErrors } from 'jose';
import { GraphHttpError } from './http';
import type { EmulatorClock } from './state';
import type { SeedApp } from './types';

export const GRAPH_AUDIENCE = 'https://graph.microsoft.com';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

/** The caller a valid token identifies. */
export interface Caller {
  appId: string;
  /** Roles in the token. */
  tokenRoles: string[];
}

/** An Entra-style (AAD v2) error answer of the token endpoint. */
export interface TokenEndpointAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** Issues and checks tokens for one tenant. */
export class TokenService {
  private readonly kid = randomUUID();

  private constructor(
    readonly tenantId: string,
    private readonly clock: EmulatorClock,
    private readonly keys: KeyPair,
    private readonly apps: Map<string, SeedApp>,
    private readonly lifetimeSeconds: () => number,
  ) {}

  static async create(tenantId: string, clock: EmulatorClock, apps: Map<string, SeedApp>, lifetimeSeconds: () => number): Promise<TokenService> {
    return new TokenService(tenantId, clock, await generateKeyPair('RS256', { extractable: true }), apps, lifetimeSeconds);
  }

  get issuer(): string {
    return `https://sts.windows.net/${this.tenantId}/`;
  }

  /** The public key set, for `/{tenant}/discovery/v2.0/keys`. */
  async jwks(): Promise<{ keys: Record<string, unknown>[] }> {
    const jwk = await exportJWK(this.keys.publicKey);
    return { keys: [{ ...jwk, kid: this.kid, use: 'sig', alg: 'RS256' }] };
  }

  private aadError(status: number, error: string, code: number, description: string): TokenEndpointAnswer {
    const traceId = randomUUID();
    const correlationId = randomUUID();
    const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
    return {
      status,
      body: {
        error,
        error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
        error_codes: [code],
        timestamp,
        trace_id: traceId,
        correlation_id: correlationId,
        error_uri: `https://login.microsoftonline.com/error?code=${code}`,
      },
    };
  }

  /** `POST /{tenant}/oauth2/v2.0/token` with a form body. */
  async token(tenant: string, form: URLSearchParams | undefined): Promise<TokenEndpointAnswer> {
    if (tenant !== this.tenantId) return this.aadError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found.`);
    if (!form) return this.aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.");
    const grantType = form.get('grant_type');
    if (grantType !== 'client_credentials') return this.aadError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    const clientId = form.get('client_id') ?? '';
    const app = this.apps.get(clientId);
    // Entra answers 400 unauthorized_client here; 401 invalid_client keeps every "bad client" one status for callers.
    if (!app) return this.aadError(401, 'invalid_client', 700016, `Application with identifier '${clientId}' was not found in the directory.`);
    if (form.get('client_secret') !== app.clientSecret) return this.aadError(401, 'invalid_client', 7000215, 'Invalid client secret provided.');
    const scope = form.get('scope') ?? '';
    if (!scope.endsWith('/.default') || scope.split(' ').length !== 1) {
      return this.aadError(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.`);
    }
    const now = Math.floor(this.clock.now() / 1000);
    const lifetime = this.lifetimeSeconds();
    const accessToken = await new SignJWT({ tid: this.tenantId, appid: app.clientId, azp: app.clientId, roles: [...app.roles], idtyp: 'app', ver: '1.0', oid: app.clientId })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.kid })
      .setIssuer(this.issuer)
      .setAudience(GRAPH_AUDIENCE)
      .setSubject(app.clientId)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + lifetime)
      .setJti(randomUUID())
      .sign(this.keys.privateKey);
    return { status: 200, body: { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken } };
  }

  /** Checks the Authorization header of a Graph call (401 `InvalidAuthenticationToken` when it fails). */
  async authenticate(authorization: string | undefined): Promise<Caller> {
    const unauthorized = (message: string) => new GraphHttpError(401, 'InvalidAuthenticationToken', message, { 'www-authenticate': `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"` });
    if (!authorization) throw unauthorized('Access token is empty.');
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match?.[1]) throw unauthorized('Access token validation failure. Invalid audience.');
    try {
      const { payload } = await jwtVerify(match[1], this.keys.publicKey, {
        issuer: this.issuer,
        audience: GRAPH_AUDIENCE,
        currentDate: new Date(this.clock.now()),
        algorithms: ['RS256'],
      });
      if (payload.tid !== this.tenantId || typeof payload.appid !== 'string') throw unauthorized('Access token validation failure.');
      const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [];
      return { appId: payload.appid, tokenRoles: roles };
    } catch (error) {
      if (error instanceof GraphHttpError) throw error;
      if (error instanceof joseErrors.JWTExpired) throw unauthorized('Lifetime validation failed, the token is expired.');
      throw unauthorized('Access token validation failure. Invalid audience.');
    }
  }

  /**
   * The roles that count for a call: those of the app registration now. Why not the token's: so that a test can
   * remove a role and see 403 at once (Graph applies a role change only with the next token).
   */
  effectiveRoles(caller: Caller): string[] {
    return this.apps.get(caller.appId)?.roles ?? [];
  }
}

/** 403 unless `roles` holds one of `anyOf`. */
export function requireRole(roles: readonly string[], anyOf: readonly string[]): void {
  if (!anyOf.some((r) => roles.includes(r))) {
    throw new GraphHttpError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  }
}
