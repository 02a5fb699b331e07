/**
 * The Graph client's middleware chain, ours end to end: a bearer-token step and a node:http(s) transport.
 *
 * Why not the client's defaults: its RetryHandler resends consumed multipart streams and sleeps for real (we retry
 * in `withRetry` instead, with reopenable sources and an injectable clock); its AuthenticationHandler adds the token
 * only to https URLs of known hosts (we add it for exactly one origin, the configured Graph base URL, so a
 * nextLink pointing elsewhere never receives it); and its fetch transport cannot stream a body of known length or
 * trust an extra CA in-process. The client still builds URLs and query strings, serialises JSON, parses responses
 * and builds its GraphError, which the adapter maps to our errors.
 */
import type { Context, Middleware } from '@microsoft/microsoft-graph-client';
import type { TokenCredential } from '@azure/identity';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import type { MultipartBody } from './multipart';

/**
 * Per-request facts the transport records for error reporting and retry planning. Passed to a request with
 * `.middlewareOptions([trace])`; the Graph client looks options up by their class.
 */
export class RequestTrace {
  readonly clientRequestId = randomUUID();
  status: number | undefined;
  requestId: string | undefined;
  retryAfter: string | undefined;
  /** Epoch ms (from the adapter's clock) at which the response headers arrived. */
  respondedAt: number | undefined;
  /** Set when no HTTP response arrived: reset, refused, TLS failure, timeout. Never logged whole. */
  networkError: Error | undefined;
  /** Ask the credential for a new token instead of its cached one (set on the attempt after a 401). */
  freshToken = false;
  /** A claims challenge from a 401's WWW-Authenticate (continuous access evaluation), decoded. */
  claimsChallenge: string | undefined;
}

/**
 * The claims that make MSAL fetch a new token instead of returning its cached one: the server's own challenge when it
 * sent one, else a "not before now" claim (the pattern Azure SDKs use for continuous access evaluation).
 */
export function freshTokenClaims(challenge: string | undefined, nowMs: number): string {
  return challenge ?? JSON.stringify({ access_token: { nbf: { essential: true, value: String(Math.floor(nowMs / 1000)) } } });
}

function parseClaimsChallenge(header: string | null): string | undefined {
  const match = /claims="([^"]+)"/i.exec(header ?? '');
  if (!match) return undefined;
  try {
    return Buffer.from(match[1]!, 'base64').toString('utf8');
  } catch {
    return undefined;
  }
}

/** A streamed body for one request, given with `.middlewareOptions([trace, body])`. */
export class StreamingBody {
  constructor(
    readonly body: MultipartBody,
    readonly onBytes?: (sent: number) => void,
  ) {}
}

function headerRecord(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  if (headers instanceof Headers) {
    headers.forEach((value, key) => (out[key.toLowerCase()] = value));
    return out;
  }
  if (Array.isArray(headers)) {
    for (const [k, v] of headers as [string, string][]) out[k.toLowerCase()] = String(v);
    return out;
  }
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) if (v !== undefined) out[k.toLowerCase()] = String(v);
  return out;
}

/** Adds `Authorization: Bearer` for requests to one origin only. */
export class BearerTokenMiddleware implements Middleware {
  private next: Middleware | undefined;
  constructor(
    private readonly credential: TokenCredential,
    private readonly scope: string,
    private readonly origin: string,
  ) {}
  setNext(next: Middleware): void {
    this.next = next;
  }
  async execute(context: Context): Promise<void> {
    const url = new URL(String(context.request));
    if (url.origin === this.origin) {
      const trace = context.middlewareControl?.getMiddlewareOptions(RequestTrace) as RequestTrace | undefined;
      const token = await this.credential.getToken(this.scope, {
        abortSignal: context.options?.signal ?? undefined,
        ...(trace?.freshToken ? { claims: freshTokenClaims(trace.claimsChallenge, Date.now()) } : {}),
      });
      if (!token) throw new Error('The credential returned no token');
      const headers = headerRecord(context.options?.headers);
      headers.authorization = `Bearer ${token.token}`;
      context.options = { ...context.options, headers };
    }
    if (!this.next) throw new Error('BearerTokenMiddleware needs a next middleware');
    await this.next.execute(context);
  }
}

export interface TransportOptions {
  /** Extra PEM certificates to trust besides the system roots (the local emulator's, or a TLS-inspecting proxy's). */
  extraCaPem?: string[];
  /** Socket idle time after which a request fails as a network error. */
  idleTimeoutMs?: number;
  now?: () => number;
}

/** The last middleware: sends the request with node:http(s) and sets `context.response`. */
export class NodeHttpTransport implements Middleware {
  private readonly httpsAgent: https.Agent;
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly idleTimeoutMs: number;
  private readonly now: () => number;

  constructor(options: TransportOptions = {}) {
    // An explicit `ca` replaces Node's roots, so the system roots are passed along with the extra ones.
    const ca = options.extraCaPem?.length ? [...tls.rootCertificates, ...options.extraCaPem] : undefined;
    this.httpsAgent = new https.Agent({ keepAlive: true, ...(ca ? { ca } : {}) });
    this.idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
    this.now = options.now ?? Date.now;
  }

  /** Closes idle keep-alive sockets (tests and the CLI call this before exiting). */
  close(): void {
    this.httpsAgent.destroy();
    this.httpAgent.destroy();
  }

  async execute(context: Context): Promise<void> {
    const control = context.middlewareControl;
    const trace = control?.getMiddlewareOptions(RequestTrace) as RequestTrace | undefined;
    const streaming = control?.getMiddlewareOptions(StreamingBody) as StreamingBody | undefined;
    const url = new URL(String(context.request));
    const options = context.options ?? {};
    const method = (options.method ?? 'GET').toUpperCase();
    const headers = headerRecord(options.headers);
    headers['client-request-id'] = trace?.clientRequestId ?? randomUUID();
    const signal = options.signal ?? undefined;

    let body: Readable | Buffer | undefined;
    if (streaming) {
      body = await streaming.body.open(signal, streaming.onBytes);
      headers['content-type'] = streaming.body.contentType;
      headers['content-length'] = String(streaming.body.contentLength);
    } else if (options.body !== undefined && options.body !== null) {
      const raw = options.body as unknown;
      body = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw), 'utf8');
      headers['content-length'] = String(body.length);
    } else if (method === 'POST' || method === 'PATCH' || method === 'PUT') {
      headers['content-length'] = '0';
    }

    let response: http.IncomingMessage;
    try {
      response = await this.send(url, method, headers, body, signal);
    } catch (error) {
      if (trace) trace.networkError = error instanceof Error ? error : new Error('network failure');
      throw error;
    }
    const status = response.statusCode ?? 0;
    const responseHeaders = new Headers();
    for (const [key, value] of Object.entries(response.headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) responseHeaders.append(key, v);
    }
    if (trace) {
      trace.status = status;
      trace.requestId = responseHeaders.get('request-id') ?? undefined;
      trace.retryAfter = responseHeaders.get('retry-after') ?? undefined;
      if (status === 401) trace.claimsChallenge = parseClaimsChallenge(responseHeaders.get('www-authenticate'));
      trace.respondedAt = this.now();
    }
    const nullBody = status === 204 || status === 304 || method === 'HEAD';
    if (nullBody) response.resume();
    context.response = new Response(nullBody ? null : (Readable.toWeb(response) as unknown as ReadableStream<Uint8Array>), {
      status,
      statusText: response.statusMessage ?? '',
      headers: responseHeaders,
    });
  }

  private send(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: Readable | Buffer | undefined,
    signal: AbortSignal | undefined,
  ): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const secure = url.protocol === 'https:';
      const request = (secure ? https : http).request(url, {
        method,
        headers,
        agent: secure ? this.httpsAgent : this.httpAgent,
        ...(signal ? { signal } : {}),
      });
      let settled = false;
      request.on('response', (response) => {
        settled = true;
        // A server may answer before reading the whole body (413, 401); stop producing it.
        if (body instanceof Readable && !body.readableEnded) body.destroy();
        resolve(response);
      });
      request.on('error', (error) => {
        if (settled) return;
        settled = true;
        if (body instanceof Readable) body.destroy();
        reject(error);
      });
      request.setTimeout(this.idleTimeoutMs, () => request.destroy(new Error('socket idle timeout')));
      if (body instanceof Readable) {
        body.on('error', (error) => request.destroy(error));
        body.pipe(request);
      } else {
        request.end(body);
      }
    });
  }
}
