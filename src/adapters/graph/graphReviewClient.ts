/**
 * The Graph adapter: implements the core's ReviewGraph over `@microsoft/microsoft-graph-client`, for every API
 * shape (see shapes.ts). Retries are ours (core/retry.ts) and recover what a blind retry would break:
 * - create: a create that failed after the server committed it, or a refused second create, adopts the session
 *   found by referenceId; never a second session;
 * - uploadFile: before resending, the session is read back; a file already there with the same name and size is
 *   not sent again; each attempt re-opens the source;
 * - complete: before resending the PATCH, the session is read back; `complete` is the proof.
 */
import { Client, GraphError, type GraphRequest } from '@microsoft/microsoft-graph-client';
import type { TokenCredential } from '@azure/identity';
import { GraphRequestError, SyncError, isSyncError, type Disposition } from '../../core/errors';
import { systemClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import type { Clock, Logger, ReopenableSource } from '../../core/ports';
import { DEFAULT_RETRY_POLICY, parseRetryAfter, withRetry, type FailureFacts, type RetryPolicy } from '../../core/retry';
import type {
  CatalogResource,
  GraphApiShape,
  GraphCallOptions,
  InitializingInstance,
  ResourceRef,
  ReviewGraph,
  ReviewRef,
  UploadProgress,
  UploadSession,
} from '../../core/reviewGraph';
import { createMultipartBody } from './multipart';
import { collection, isObject, nextLink, parseSession, str } from './parse';
import { REVIEW_DEFINITIONS_PATH, SHAPES, type ShapePaths } from './shapes';
import { BearerTokenMiddleware, NodeHttpTransport, RequestTrace, StreamingBody } from './transport';

export interface GraphReviewClientOptions {
  /** Graph's origin, e.g. `https://graph.microsoft.com` (no version segment). */
  baseUrl: string;
  shape: GraphApiShape;
  credential: TokenCredential;
  /** Token scope; Graph's `.default` scope unless told otherwise. */
  scope?: string;
  /** Extra PEM certificates to trust (the local emulator's CA). */
  extraCaPem?: string[];
  clock?: Clock;
  logger?: Logger;
  retry?: Partial<RetryPolicy>;
  /** Socket idle timeout per request. */
  idleTimeoutMs?: number;
}

const STATUS_CODES: Record<number, [string, Disposition, string]> = {
  400: ['graph.badRequest', 'fatal', 'Graph refused the request as invalid'],
  401: ['graph.unauthorized', 'fatal', 'Graph did not accept the access token (check the tenant, client id and credential)'],
  403: [
    'graph.forbidden',
    'fatal',
    'Graph denied access (the identity needs the Catalog owner role on the catalog or EntitlementManagement.ReadWrite.All; discovery needs AccessReview.Read.All)',
  ],
  404: ['graph.notFound', 'fatal', 'Graph does not know the catalog, resource, session or review'],
  409: ['graph.conflict', 'fatal', 'Graph reported a conflict'],
  413: ['graph.payloadTooLarge', 'reject', 'Graph refused the file as too large'],
  429: ['graph.throttled', 'retry', 'Graph throttled the request'],
};

/** The ReviewGraph adapter. Call `close()` to release keep-alive sockets. */
export class GraphReviewClient implements ReviewGraph {
  readonly shape: GraphApiShape;
  private readonly paths: ShapePaths;
  private readonly client: Client;
  private readonly transport: NodeHttpTransport;
  private readonly origin: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly policy: RetryPolicy;
  /** Set by a 401: the next request asks the credential for a new token (with the server's claims challenge, if any). */
  private pendingTokenRefresh: { claims: string | undefined } | undefined;

  constructor(options: GraphReviewClientOptions) {
    this.shape = options.shape;
    this.paths = SHAPES[options.shape];
    this.origin = new URL(options.baseUrl).origin;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.transport = new NodeHttpTransport({
      extraCaPem: options.extraCaPem,
      idleTimeoutMs: options.idleTimeoutMs,
      now: () => this.clock.now(),
    });
    const auth = new BearerTokenMiddleware(options.credential, options.scope ?? 'https://graph.microsoft.com/.default', this.origin);
    auth.setNext(this.transport);
    this.client = Client.initWithMiddleware({ baseUrl: this.origin, defaultVersion: this.paths.version, middleware: auth });
  }

  close(): void {
    this.transport.close();
  }

  async createUploadSession(resource: ResourceRef, review: ReviewRef, options: GraphCallOptions = {}): Promise<UploadSession> {
    const body = this.paths.createBody(resource, review);
    const adopt = async (): Promise<UploadSession | undefined> => {
      const existing = await this.findUploadSession(resource, review.reviewInstanceId, options);
      if (existing) (options.logger ?? this.logger).log('info', 'upload.session.adopted', { uploadSessionId: existing.id, reviewInstanceId: review.reviewInstanceId, sessionStatus: existing.status });
      return existing;
    };
    try {
      return await this.retrying('uploadSession.create', options, async (attempt) => {
        // A failed create may have been committed by the server: look before sending it again.
        if (attempt > 1) {
          const existing = await adopt();
          if (existing) return existing;
        }
        const created = parseSession(await this.once('uploadSession.create', (trace) => this.request(this.paths.sessions(resource), trace, options).post(body)));
        (options.logger ?? this.logger).log('info', 'upload.session.created', { uploadSessionId: created.id, reviewInstanceId: review.reviewInstanceId, shape: this.shape });
        return created;
      });
    } catch (error) {
      // One session per (instance, resource): a refused create means one exists (whatever status Graph uses to say so).
      if (error instanceof GraphRequestError && error.status >= 400 && error.status < 500 && error.status !== 401 && error.status !== 403) {
        const existing = await adopt();
        if (existing) return existing;
      }
      throw error;
    }
  }

  async findUploadSession(resource: ResourceRef, reviewInstanceId: string, options: GraphCallOptions = {}): Promise<UploadSession | undefined> {
    const query = { $filter: `referenceId eq '${reviewInstanceId.replace(/'/g, "''")}'`, $expand: 'files' };
    const sessions: UploadSession[] = [];
    for await (const item of this.pages('uploadSession.find', this.paths.sessionsForListAndDelete(resource), query, options)) {
      const session = parseSession(item);
      // Checked here too: older responses have no referenceId, only data.accessReviewInstanceId.
      if (session.reviewInstanceId === reviewInstanceId) sessions.push(session);
    }
    const rank = { complete: 0, active: 1, expired: 2, unknown: 3 } as const;
    sessions.sort((a, b) => rank[a.status] - rank[b.status]);
    return sessions[0];
  }

  async getUploadSession(resource: ResourceRef, sessionId: string, options: GraphCallOptions = {}): Promise<UploadSession> {
    return this.retrying('uploadSession.get', options, async () =>
      parseSession(
        await this.once('uploadSession.get', (trace) =>
          this.request(`${this.paths.sessions(resource)}/${encodeURIComponent(sessionId)}`, trace, options)
            .query({ $expand: 'files' })
            .get(),
        ),
      ),
    );
  }

  async uploadFile(
    resource: ResourceRef,
    sessionId: string,
    source: ReopenableSource,
    options: GraphCallOptions & { onProgress?: (progress: UploadProgress) => void } = {},
  ): Promise<UploadSession> {
    const path = `${this.paths.sessions(resource)}/${encodeURIComponent(sessionId)}/uploadFile`;
    return this.retrying('uploadSession.uploadFile', options, async (attempt) => {
      if (attempt > 1) {
        // The failed attempt may have reached the server whole (a reset after commit): never send a file twice.
        const session = await this.getUploadSession(resource, sessionId, options);
        if (session.files?.some((f) => f.name === source.name && f.size === source.size)) {
          (options.logger ?? this.logger).log('info', 'upload.file.alreadyPresent', { uploadSessionId: sessionId, uploadName: source.name, bytes: source.size });
          return session;
        }
        if (session.status !== 'active') throw sessionNotActive('uploadSession.uploadFile', sessionId, session.status);
      }
      const body = createMultipartBody(source);
      const onBytes = options.onProgress ? (sent: number) => options.onProgress?.({ name: source.name, bytesSent: sent, size: source.size }) : undefined;
      const session = parseSession(
        await this.once('uploadSession.uploadFile', (trace) =>
          this.request(path, trace, options, new StreamingBody(body, onBytes)).post(''),
        ),
      );
      (options.logger ?? this.logger).log('info', 'upload.file.sent', { uploadSessionId: sessionId, uploadName: source.name, bytes: source.size, attempt });
      return session;
    });
  }

  async completeUploadSession(resource: ResourceRef, sessionId: string, options: GraphCallOptions = {}): Promise<UploadSession> {
    const path = `${this.paths.sessions(resource)}/${encodeURIComponent(sessionId)}`;
    return this.retrying('uploadSession.complete', options, async (attempt) => {
      if (attempt > 1) {
        // The PATCH may have been applied before its response was lost.
        const session = await this.getUploadSession(resource, sessionId, options);
        if (session.status === 'complete') return session;
        if (session.status !== 'active') throw sessionNotActive('uploadSession.complete', sessionId, session.status);
      }
      await this.once('uploadSession.complete', (trace) => this.request(path, trace, options).patch({ isUploadDone: true }));
      const session = await this.getUploadSession(resource, sessionId, options);
      if (session.status !== 'complete') {
        throw new SyncError('upload.completionNotConfirmed', `Upload session ${sessionId} did not read back as complete after isUploadDone`, 'retry', {
          operation: 'uploadSession.complete',
        });
      }
      (options.logger ?? this.logger).log('info', 'upload.session.completed', { uploadSessionId: sessionId, files: session.files?.length });
      return session;
    });
  }

  async deleteUploadSession(resource: ResourceRef, sessionId: string, options: GraphCallOptions = {}): Promise<void> {
    const path = `${this.paths.sessionsForListAndDelete(resource)}/${encodeURIComponent(sessionId)}`;
    try {
      await this.retrying('uploadSession.delete', options, () => this.once('uploadSession.delete', (trace) => this.request(path, trace, options).delete()));
    } catch (error) {
      // Already gone is what we wanted (a retried DELETE whose first attempt was applied).
      if (error instanceof GraphRequestError && error.status === 404) return;
      throw error;
    }
    (options.logger ?? this.logger).log('info', 'upload.session.deleted', { uploadSessionId: sessionId });
  }

  async listCustomDataResources(catalogId: string, options: GraphCallOptions = {}): Promise<CatalogResource[]> {
    const out: CatalogResource[] = [];
    const query = { $filter: "originSystem eq 'CustomDataProvidedResource'" };
    for await (const item of this.pages('catalog.resources', this.paths.catalogResources(catalogId), query, options)) {
      if (!isObject(item)) continue;
      const id = str(item.id);
      const originSystem = str(item.originSystem) ?? '';
      // Filtered here as well: a server that ignores $filter must not make every resource look routable.
      if (!id || originSystem.toLowerCase() !== 'customdataprovidedresource') continue;
      out.push({ id, displayName: str(item.displayName) ?? '', originSystem, catalogId });
    }
    return out;
  }

  async findInitializingInstances(catalogIds: readonly string[], options: GraphCallOptions = {}): Promise<InitializingInstance[]> {
    const wanted = new Set(catalogIds.map((c) => c.toLowerCase()));
    const out: InitializingInstance[] = [];
    for await (const definition of this.pages('reviews.definitions', REVIEW_DEFINITIONS_PATH, {}, options)) {
      if (!isObject(definition)) continue;
      const definitionId = str(definition.id);
      const covered = catalogScopes(definition.scope).filter((c) => wanted.has(c.toLowerCase()));
      if (!definitionId || covered.length === 0) continue;
      const instancesPath = `${REVIEW_DEFINITIONS_PATH}/${encodeURIComponent(definitionId)}/instances`;
      for await (const instance of this.pages('reviews.instances', instancesPath, { $filter: "status eq 'Initializing'" }, options)) {
        if (!isObject(instance)) continue;
        const id = str(instance.id);
        const status = str(instance.status) ?? '';
        // The docs do not say how the status filter treats case; check here whatever the server did.
        if (!id || status.toLowerCase() !== 'initializing') continue;
        out.push({
          reviewDefinitionId: definitionId,
          reviewInstanceId: id,
          catalogIds: covered,
          reviewDisplayName: str(definition.displayName),
          startDateTime: str(instance.startDateTime),
          status,
        });
      }
    }
    return out;
  }

  // ---- plumbing --------------------------------------------------------------------------------------------------

  private request(path: string, trace: RequestTrace, options: GraphCallOptions, body?: StreamingBody): GraphRequest {
    const request = this.client
      .api(path)
      .version(this.paths.version)
      .middlewareOptions(body ? [trace, body] : [trace]);
    return options.signal ? request.options({ signal: options.signal }) : request;
  }

  /** One HTTP exchange; every failure becomes a GraphRequestError carrying the trace's ids. */
  private async once<T>(operation: string, send: (trace: RequestTrace) => Promise<T>): Promise<T> {
    const trace = new RequestTrace();
    if (this.pendingTokenRefresh) {
      trace.freshToken = true;
      trace.claimsChallenge = this.pendingTokenRefresh.claims;
      this.pendingTokenRefresh = undefined;
    }
    try {
      return await send(trace);
    } catch (error) {
      if (trace.status === 401) this.pendingTokenRefresh = { claims: trace.claimsChallenge };
      throw this.mapError(operation, error, trace);
    }
  }

  private retrying<T>(operation: string, options: GraphCallOptions, attempt: (n: number) => Promise<T>): Promise<T> {
    let unauthorizedSeen = false;
    const classify = (error: unknown): FailureFacts => {
      if (!isSyncError(error)) return { retryable: false };
      // One more try after a 401, with a fresh token: the cached one may have expired or been revoked.
      if (error instanceof GraphRequestError && error.status === 401 && !unauthorizedSeen) {
        unauthorizedSeen = true;
        return { retryable: true };
      }
      const seconds = error.context.retryAfterSeconds;
      return { retryable: error.disposition === 'retry', ...(seconds !== undefined ? { retryAfterMs: Math.ceil(seconds * 1000) } : {}) };
    };
    return withRetry(attempt, {
      policy: this.policy,
      clock: this.clock,
      classify,
      deadline: options.deadline,
      signal: options.signal,
      onRetry: ({ attempt: n, waitMs, serverGiven, error }) => {
        const ctx = isSyncError(error) ? error.context : {};
        (options.logger ?? this.logger).log('warn', ctx.status === 429 ? 'graph.throttled' : 'graph.retry', {
          operation,
          attempt: n,
          waitMs,
          status: ctx.status,
          errorCode: isSyncError(error) ? error.code : 'unexpected',
          retryAfterSeconds: serverGiven ? ctx.retryAfterSeconds : undefined,
          requestId: ctx.requestId,
          clientRequestId: ctx.clientRequestId,
        });
      },
      onGiveUp: (error, stop, attempts) => {
        if (error instanceof GraphRequestError && (stop !== 'notRetryable' || attempts > 1)) {
          const why = stop === 'notRetryable' ? '' : ` (gave up after ${attempts} attempts: ${stop})`;
          return new GraphRequestError(error.code, `${error.message}${why}`, error.disposition, { ...error.context, status: error.status, attempts });
        }
        return error;
      },
    });
  }

  private mapError(operation: string, error: unknown, trace: RequestTrace): SyncError {
    if (isSyncError(error)) return error;
    const base = { operation, clientRequestId: trace.clientRequestId, requestId: trace.requestId };
    if (trace.networkError || trace.status === undefined) {
      const aborted = trace.networkError?.name === 'AbortError';
      return new GraphRequestError(
        aborted ? 'graph.aborted' : 'graph.network',
        aborted ? `Graph ${operation} was cancelled` : `Graph ${operation} failed: no response (connection reset, refused or timed out)`,
        aborted ? 'skip' : 'retry',
        { ...base, status: 0 },
      );
    }
    const status = trace.status;
    const graphCode = error instanceof GraphError && typeof error.code === 'string' ? error.code : undefined;
    const requestId = trace.requestId ?? (error instanceof GraphError ? (error.requestId ?? undefined) : undefined);
    const retryAfterMs = parseRetryAfter(trace.retryAfter, trace.respondedAt ?? this.clock.now());
    const known = STATUS_CODES[status];
    const [code, disposition, text] = known ?? (status >= 500 ? ['graph.unavailable', 'retry', 'Graph is unavailable'] : ['graph.requestFailed', 'fatal', 'Graph refused the request']);
    const ids = [requestId ? `request-id ${requestId}` : undefined, `client-request-id ${trace.clientRequestId}`].filter(Boolean).join(', ');
    return new GraphRequestError(
      code,
      `${text}: ${operation} answered HTTP ${status}${graphCode ? ` ${graphCode}` : ''} (${ids})`,
      disposition as Disposition,
      { ...base, requestId, status, graphCode, ...(retryAfterMs !== undefined ? { retryAfterSeconds: retryAfterMs / 1000 } : {}) },
    );
  }

  /** Items of a paged collection, following `@odata.nextLink` only on Graph's own origin. */
  private async *pages(operation: string, path: string, query: Record<string, string>, options: GraphCallOptions): AsyncGenerator<unknown> {
    const encoded = Object.fromEntries(Object.entries(query).map(([k, v]) => [k, encodeURIComponent(v)]));
    let next: string | undefined;
    let first = true;
    while (first || next) {
      const target = next;
      const page = await this.retrying(operation, options, () =>
        this.once(operation, (trace) => {
          if (target === undefined) return this.request(path, trace, options).query(encoded).get() as Promise<unknown>;
          return this.request(relativeNextLink(target, this.origin, this.paths.version), trace, options).get() as Promise<unknown>;
        }),
      );
      first = false;
      for (const item of collection(page)) yield item;
      next = nextLink(page);
    }
  }
}

function sessionNotActive(operation: string, sessionId: string, status: string): SyncError {
  return new SyncError('upload.sessionNotActive', `Upload session ${sessionId} is ${status}; it takes no more changes`, 'fatal', { operation });
}

/** The catalogs a review definition's `principalResourceMembershipsScope` covers (contract §10). */
function catalogScopes(scope: unknown): string[] {
  if (!isObject(scope)) return [];
  const type = str(scope['@odata.type']) ?? '';
  if (!type.toLowerCase().endsWith('principalresourcemembershipsscope')) return [];
  const resourceScopes = Array.isArray(scope.resourceScopes) ? scope.resourceScopes : [];
  return resourceScopes
    .filter((r): r is Record<string, unknown> => isObject(r) && String(r.scopeType ?? '').toLowerCase() === 'catalog')
    .map((r) => str(r.resourceId))
    .filter((id): id is string => id !== undefined);
}

/** A nextLink as a path the client accepts, refusing one that points at another origin (it would get our token). */
function relativeNextLink(link: string, origin: string, version: string): string {
  const url = new URL(link, origin);
  if (url.origin !== origin) {
    throw new SyncError('graph.foreignNextLink', 'Graph returned a next page link on another origin; not followed', 'fatal');
  }
  const prefix = `/${version}`;
  const path = url.pathname.startsWith(`${prefix}/`) ? url.pathname.slice(prefix.length) : url.pathname;
  return `${path}${url.search}`;
}

/** Builds the adapter. */
export function createGraphReviewClient(options: GraphReviewClientOptions): GraphReviewClient {
  return new GraphReviewClient(options);
}
