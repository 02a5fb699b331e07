/**
 * Public types of the Graph emulator: its configurable behaviour, seed data, fault rules, recorded requests and the
 * admin surface. Kept apart from the implementation so that tests and tools can import them cheaply.
 */

/**
 * Choices the emulator makes where Graph's behaviour is undocumented (contract §13), plus limits. Every field can be
 * changed at start (`GraphEmulatorOptions.behaviour`) or later (`admin.setBehaviour`).
 */
export interface EmulatorBehaviour {
  /** Status for a second create on the same (instance, resource), also after complete. Default 409 (`Conflict`). */
  secondCreateStatus: number;
  /** Re-upload of a file name the session already holds: `add` keeps both (default), `replace`, or `reject` (409). */
  sameNameUpload: 'add' | 'replace' | 'reject';
  /** A multipart body (all bytes of the request body) above this many bytes gets 413. Default `null` (no limit). */
  maxUploadBytes: number | null;
  /** An upload beyond this many files in one session gets 400. Default `null` (no limit). */
  maxFilesPerSession: number | null;
  /** Lifetime of issued access tokens, in seconds of emulator time. Default 3600. */
  tokenLifetimeSeconds: number;
  /** Upload window from the instance's `startDateTime`, in emulator milliseconds. Default 2 h. */
  uploadWindowMs: number;
  /** Uploaded files up to this many bytes keep their content in memory; larger ones keep only size and SHA-256. Default 16 MiB. */
  keepContentBytes: number;
  /** Page size of list endpoints that page with `@odata.nextLink`. Default 100. */
  pageSize: number;
  /**
   * When true, a request flagged early (sent before a previous 429's Retry-After elapsed) is answered 429 again, as
   * Dev Proxy's RetryAfterPlugin does. Default false: it is only flagged. (An addition to the original brief.)
   */
  rejectEarlyRetries: boolean;
}

/** A catalog to seed. */
export interface SeedCatalog {
  id: string;
  displayName: string;
}

/** An access package resource to seed; `originSystem` defaults to `CustomDataProvidedResource`. */
export interface SeedResource {
  id: string;
  catalogId: string;
  /** For a CDPR this is the source name (for example `BuildingAccessData`). */
  displayName: string;
  originSystem?: string;
}

/**
 * An access review definition to seed. With `catalogIds` it is rendered as a catalog review
 * (`principalResourceMembershipsScope` with one `{scopeType:'catalog', resourceId}` per catalog). Pass `scope` to
 * render any other scope verbatim instead (to prove that clients filter); `catalogIds` is then ignored for rendering
 * but still decides which catalogs' resources the definition covers.
 */
export interface SeedDefinition {
  id: string;
  displayName: string;
  catalogIds: string[];
  scope?: Record<string, unknown>;
}

/** An app registration that may obtain tokens with client credentials. */
export interface SeedApp {
  clientId: string;
  clientSecret: string;
  /** Application roles (permissions) granted, e.g. `EntitlementManagement.ReadWrite.All`. */
  roles: string[];
}

/** Everything `admin.seed` accepts; every list is optional and entries with an existing id replace it. */
export interface SeedData {
  catalogs?: SeedCatalog[];
  resources?: SeedResource[];
  definitions?: SeedDefinition[];
  apps?: SeedApp[];
}

/** Review instance status values seen in the docs (any string is accepted). */
export type InstanceStatus = 'Initializing' | 'NotStarted' | 'Starting' | 'InProgress' | 'Completing' | 'Completed' | 'Applying' | 'Applied' | (string & {});

/** A review instance as the emulator holds it. */
export interface InstanceState {
  definitionId: string;
  id: string;
  status: InstanceStatus;
  /** ISO 8601 (emulator time). */
  startDateTime: string;
}

/** One uploaded file as the emulator holds it. */
export interface FileState {
  id: string;
  name: string;
  size: number;
  /** ISO 8601 (emulator time). */
  uploadedDateTime: string;
  /** Hex SHA-256 of the file part's bytes. */
  sha256: string;
}

/** An upload session as the emulator holds it. */
export interface SessionState {
  id: string;
  catalogId: string;
  resourceId: string;
  /** Equals the review instance id. */
  referenceId: string;
  reviewDefinitionId: string;
  status: 'active' | 'complete' | 'expired';
  isUploadDone: boolean;
  /** ISO 8601 (emulator time). */
  createdDateTime: string;
  files: FileState[];
}

/** Snapshot returned by `admin.state()`. */
export interface EmulatorState {
  sessions: SessionState[];
  instances: InstanceState[];
}

/** The kinds of scripted fault. */
export type FaultKind = 'status' | 'throttle' | 'commitThenFail' | 'latency' | 'reset' | 'resetAfterCommit';

/**
 * A scripted fault. It applies to requests whose method (if given) and path (a RegExp source matched against the
 * path without query) match, `times` times, each time with `probability` (drawn from a PRNG seeded by `seed`).
 */
export interface FaultRule {
  method?: string;
  /** RegExp source matched against the request path without query, e.g. `/uploadSessions$`. */
  path: string;
  kind: FaultKind;
  /** `status`: the status to answer (default 500). `commitThenFail`: 500, 502, 503 or 504 (default 503). `throttle`: default 429. */
  status?: number;
  /**
   * `throttle` (and optionally `status`/`commitThenFail`): raw Retry-After value, e.g. `2`, `2.128` or an HTTP-date.
   * The literal `http-date:<ms>` renders an HTTP-date `<ms>` in the future at response time. Default `1` for throttle.
   */
  retryAfter?: string;
  /** `latency`: real milliseconds to hold the request before handling it. */
  latencyMs?: number;
  /** `reset`: destroy the socket once this many body bytes were read (default 0: at once). */
  afterBytes?: number;
  /** How many times the rule fires. Default 1; default unlimited when `probability` is set; a negative value means unlimited. */
  times?: number;
  /** Chance (0..1) that a matching request triggers the rule. Default 1. */
  probability?: number;
  /** Seed of the rule's PRNG, so a probability run is reproducible. Default: random. */
  seed?: number;
}

/** Facts about one multipart part, computed while streaming. */
export interface RecordedPart {
  name: string;
  /** `null` for a non-file field. */
  filename: string | null;
  contentType: string;
  size: number;
  sha256: string;
}

/** One request as the emulator received it (admin requests are not recorded). */
export interface RecordedRequest {
  seq: number;
  method: string;
  /** Path without query. */
  path: string;
  /** Percent-decoded raw query string (without `?`), `''` if none. */
  query: string;
  headers: {
    contentType: string | null;
    contentLength: number | null;
    clientRequestId: string | null;
    hasAuthorization: boolean;
  };
  /** Parsed JSON body, when the request had one. */
  json?: unknown;
  multipart?: { boundary: string; parts: RecordedPart[] };
  /** Emulator-clock ms at arrival. */
  receivedAt: number;
  /** `Date.now()` at arrival. */
  realTime: number;
  /** Response status; 0 if the connection was reset (or is still open). */
  status: number;
  /** The fault kind applied to this request, if any. */
  fault?: FaultKind;
  /** True when the request arrived before the Retry-After of an earlier 429 for the same method and path. */
  early?: boolean;
}

/**
 * Admin operations, in process. The HTTP admin API under `/_emulator/` calls the same code (see README).
 */
export interface EmulatorAdmin {
  /** Adds or replaces catalogs, resources, definitions and apps. */
  seed(data: SeedData): void;
  /** Starts a review instance of a definition, in `Initializing`, at emulator now unless `startDateTime` is given. */
  startInstance(definitionId: string, options?: { id?: string; startDateTime?: string }): InstanceState;
  /** Sets an instance's status (for example to `Initializing` again, or `Applying`). */
  setInstanceStatus(definitionId: string, instanceId: string, status: InstanceStatus): InstanceState;
  /** Emulator-clock epoch ms. */
  now(): number;
  /** Moves the emulator clock forward (or back, with a negative value); returns the new now. */
  advanceClock(ms: number): number;
  /** Recorded requests in arrival order (copies). */
  requests(): RecordedRequest[];
  clearRequests(): void;
  /** Recorded requests flagged `early`. */
  earlyRequests(): RecordedRequest[];
  /** Adds a fault rule; returns its id. */
  addFault(rule: FaultRule): string;
  clearFaults(): void;
  /** Sessions and instances, with expiry evaluated at emulator now. */
  state(): EmulatorState;
  /** Bytes of an uploaded file, if they were kept (size ≤ keepContentBytes). */
  fileContent(sessionId: string, fileId: string): Buffer | undefined;
  /** Replaces an app's roles; takes effect on the next request, even with a token issued before. */
  setAppRoles(clientId: string, roles: string[]): void;
  setBehaviour(partial: Partial<EmulatorBehaviour>): EmulatorBehaviour;
  behaviour(): EmulatorBehaviour;
  /** Clears catalogs, resources, definitions, instances, sessions, requests, faults and the throttle memory; keeps apps. */
  reset(): void;
}
