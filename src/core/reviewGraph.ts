/**
 * The Microsoft Graph port: what the core needs from Graph to feed a catalog access review instance, in the
 * project's own words. The adapter in `src/adapters/graph` implements it for every API shape; tests use fakes.
 */
import type { Logger, ReopenableSource } from './ports';

/**
 * Which generation of the upload-session API to speak (graph-contract.md, "Decisions" 1):
 * - `v1.0`: GA path P3 (`/entitlementManagement/catalogs/{c}/resources/{r}`), current body. The default.
 * - `beta`: current beta path P2 (`/identityGovernance/catalogs/{c}/accessPackageResources/{r}`), current body.
 * - `beta-2025`: the original beta documents of October 2025: path P1 and the `{source, type, data}` body.
 */
export type GraphApiShape = 'v1.0' | 'beta' | 'beta-2025';
export const GRAPH_API_SHAPES: readonly GraphApiShape[] = ['v1.0', 'beta', 'beta-2025'];

/** Session status normalised from every era (`Active`, `active` …); `unknown` for a value this job does not know. */
export type UploadSessionStatus = 'active' | 'complete' | 'expired' | 'unknown';

/** A file Graph holds in an upload session. `id` is absent in responses of the original beta. */
export interface UploadedFile {
  id?: string;
  name: string;
  size: number;
  uploadedDateTime?: string;
}

/** An upload session as Graph reports it, normalised. */
export interface UploadSession {
  id: string;
  /** The review instance id (`referenceId`, or `data.reviewInstanceId` / `data.accessReviewInstanceId` in older responses). */
  reviewInstanceId: string | undefined;
  reviewDefinitionId: string | undefined;
  status: UploadSessionStatus;
  isUploadDone: boolean;
  createdDateTime: string | undefined;
  /** The files, when the response carried them (`$expand=files`); `undefined` when it did not. */
  files: UploadedFile[] | undefined;
  stats: { filesUploaded: number; totalBytesUploaded: number } | undefined;
}

/** The custom data provided resource a source feeds, and the name the original beta body calls `source`. */
export interface ResourceRef {
  catalogId: string;
  resourceId: string;
  /** The CDPR's display name (the route's source name). */
  source: string;
}

/** A catalog access review instance. */
export interface ReviewRef {
  reviewDefinitionId: string;
  reviewInstanceId: string;
}

/** A custom data provided resource of a catalog. */
export interface CatalogResource {
  id: string;
  displayName: string;
  originSystem: string;
  catalogId: string;
}

/** A review instance in `Initializing` whose definition covers a catalog this job routes. */
export interface InitializingInstance extends ReviewRef {
  /** The routed catalogs the definition's scope covers. */
  catalogIds: string[];
  reviewDisplayName: string | undefined;
  /** When the instance started (the upload window runs two hours from here), ISO 8601. */
  startDateTime: string | undefined;
  status: string;
}

/** Options every Graph call accepts. */
export interface GraphCallOptions {
  signal?: AbortSignal;
  /** Epoch ms after which no retry may be scheduled (the review instance's upload deadline). */
  deadline?: number;
  /** Where this call's events go (the invocation's log); the adapter's own logger otherwise. */
  logger?: Logger;
}

export interface UploadProgress {
  name: string;
  bytesSent: number;
  size: number;
}

/**
 * Graph, as the job uses it. Every method maps failures to `GraphRequestError` (status, Graph code, request-id,
 * client-request-id) and retries transient failures within the call's budget.
 */
export interface ReviewGraph {
  readonly shape: GraphApiShape;
  /**
   * Creates the instance's upload session for the resource. Never creates a second one: when the server already
   * holds a session for the instance (a refused second create, or a create that failed after the server committed
   * it) the existing session is found by `referenceId` and returned, whatever its status.
   */
  createUploadSession(resource: ResourceRef, review: ReviewRef, options?: GraphCallOptions): Promise<UploadSession>;
  /** The instance's session for this resource, with its files; `undefined` when there is none. */
  findUploadSession(resource: ResourceRef, reviewInstanceId: string, options?: GraphCallOptions): Promise<UploadSession | undefined>;
  /** One session by id, with its files. */
  getUploadSession(resource: ResourceRef, sessionId: string, options?: GraphCallOptions): Promise<UploadSession>;
  /**
   * Uploads one file (multipart, part `file`, streamed from the source; never whole in memory). A retry first reads
   * the session back and does not resend a file already present with the same name and size.
   */
  uploadFile(
    resource: ResourceRef,
    sessionId: string,
    source: ReopenableSource,
    options?: GraphCallOptions & { onProgress?: (progress: UploadProgress) => void },
  ): Promise<UploadSession>;
  /** Sets `isUploadDone`, then reads the session back; resolves only when Graph reports it `complete`. */
  completeUploadSession(resource: ResourceRef, sessionId: string, options?: GraphCallOptions): Promise<UploadSession>;
  /** Deletes an active session, so that a broken one can be started again while the window allows. */
  deleteUploadSession(resource: ResourceRef, sessionId: string, options?: GraphCallOptions): Promise<void>;
  /** The custom data provided resources of a catalog. */
  listCustomDataResources(catalogId: string, options?: GraphCallOptions): Promise<CatalogResource[]>;
  /** `Initializing` instances of the catalog access reviews whose scope covers any of these catalogs. */
  findInitializingInstances(catalogIds: readonly string[], options?: GraphCallOptions): Promise<InitializingInstance[]>;
}
