/**
 * The emulator's state and Graph's rules for it: one session per (review instance, resource), the upload window,
 * expiry, completion, and the instance leaving `Initializing`. Everything here runs on the emulator clock; expiry is
 * evaluated lazily (`evaluate()`) at the start of every request and state read, so moving the clock needs no timer.
 */
import { randomUUID } from 'node:crypto';
import { GraphHttpError } from './http';
import type { ReceivedPart } from './body';
import type {
  EmulatorBehaviour,
  EmulatorState,
  FileState,
  InstanceState,
  InstanceStatus,
  SeedApp,
  SeedCatalog,
  SeedData,
  SeedDefinition,
  SeedResource,
  SessionState,
} from './types';

export const CDPR_ORIGIN_SYSTEM = 'CustomDataProvidedResource';

/** The defaults of {@link EmulatorBehaviour}. */
export const DEFAULT_BEHAVIOUR: EmulatorBehaviour = {
  secondCreateStatus: 409,
  sameNameUpload: 'add',
  maxUploadBytes: null,
  maxFilesPerSession: null,
  tokenLifetimeSeconds: 3600,
  uploadWindowMs: 2 * 60 * 60 * 1000,
  keepContentBytes: 16 * 1024 * 1024,
  pageSize: 100,
  rejectEarlyRetries: false,
};

/** Emulator time: start time + real elapsed time + an offset moved by `advance`. */
export class EmulatorClock {
  private readonly realStart = Date.now();
  private offset = 0;
  constructor(private readonly startTime: number) {}
  now(): number {
    return this.startTime + (Date.now() - this.realStart) + this.offset;
  }
  advance(ms: number): number {
    this.offset += ms;
    return this.now();
  }
}

export interface Catalog extends SeedCatalog {
  createdDateTime: string;
}
export interface Resource extends Required<SeedResource> {
  createdDateTime: string;
}
export interface Definition extends SeedDefinition {
  createdDateTime: string;
}
export interface StoredFile extends FileState {
  content?: Buffer;
}
/** A session plus what is needed to render it in every era. */
export interface Session extends Omit<SessionState, 'files'> {
  files: StoredFile[];
  /** Which create body made it: `current` (`@odata.type` + `data{reviewDefinitionId,…}`) or `original` (`source/type/data`). */
  bodyShape: 'current' | 'original';
  /** Echoed for the original shape. */
  source?: string;
  type?: string;
  dataOdataType?: string;
}

/** What a create request asks for, whatever its body shape. */
export interface CreateRequest {
  reviewDefinitionId: string;
  reviewInstanceId: string;
  bodyShape: 'current' | 'original';
  source?: string;
  type?: string;
  dataOdataType?: string;
}

function notFound(what: string, id: string): GraphHttpError {
  return new GraphHttpError(404, 'ResourceNotFound', `The ${what} with id '${id}' was not found.`);
}

/** All mutable state of one emulator. */
export class EmulatorStore {
  readonly catalogs = new Map<string, Catalog>();
  readonly resources = new Map<string, Resource>();
  readonly definitions = new Map<string, Definition>();
  /** Keyed by `${definitionId}/${instanceId}`. */
  readonly instances = new Map<string, InstanceState>();
  readonly sessions = new Map<string, Session>();
  readonly apps = new Map<string, SeedApp>();

  constructor(
    readonly clock: EmulatorClock,
    public behaviour: EmulatorBehaviour,
  ) {}

  private nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  seed(data: SeedData): void {
    const at = this.nowIso();
    for (const c of data.catalogs ?? []) {
      if (typeof c.id !== 'string' || typeof c.displayName !== 'string') throw new Error('A catalog needs id and displayName.');
      this.catalogs.set(c.id, { id: c.id, displayName: c.displayName, createdDateTime: at });
    }
    for (const r of data.resources ?? []) {
      if (typeof r.id !== 'string' || typeof r.catalogId !== 'string' || typeof r.displayName !== 'string') throw new Error('A resource needs id, catalogId and displayName.');
      this.resources.set(r.id, { id: r.id, catalogId: r.catalogId, displayName: r.displayName, originSystem: r.originSystem ?? CDPR_ORIGIN_SYSTEM, createdDateTime: at });
    }
    for (const d of data.definitions ?? []) {
      if (typeof d.id !== 'string' || !Array.isArray(d.catalogIds)) throw new Error('A definition needs id and catalogIds.');
      const definition: Definition = { id: d.id, displayName: d.displayName, catalogIds: [...d.catalogIds], createdDateTime: at };
      if (d.scope) definition.scope = d.scope;
      this.definitions.set(d.id, definition);
    }
    for (const a of data.apps ?? []) {
      if (typeof a.clientId !== 'string' || typeof a.clientSecret !== 'string' || !Array.isArray(a.roles)) throw new Error('An app needs clientId, clientSecret and roles.');
      this.apps.set(a.clientId, { clientId: a.clientId, clientSecret: a.clientSecret, roles: [...a.roles] });
    }
  }

  /** Forgets everything except the apps (and the clock and behaviour). */
  reset(): void {
    this.catalogs.clear();
    this.resources.clear();
    this.definitions.clear();
    this.instances.clear();
    this.sessions.clear();
  }

  startInstance(definitionId: string, options: { id?: string; startDateTime?: string } = {}): InstanceState {
    if (!this.definitions.has(definitionId)) throw notFound('access review definition', definitionId);
    const start = options.startDateTime === undefined ? this.clock.now() : Date.parse(options.startDateTime);
    if (Number.isNaN(start)) throw new GraphHttpError(400, 'BadRequest', 'startDateTime is not a valid date.');
    const instance: InstanceState = { definitionId, id: options.id ?? randomUUID(), status: 'Initializing', startDateTime: new Date(start).toISOString() };
    this.instances.set(`${definitionId}/${instance.id}`, instance);
    return { ...instance };
  }

  instance(definitionId: string, instanceId: string): InstanceState {
    const instance = this.instances.get(`${definitionId}/${instanceId}`);
    if (!instance) throw notFound('access review instance', instanceId);
    return instance;
  }

  setInstanceStatus(definitionId: string, instanceId: string, status: InstanceStatus): InstanceState {
    const instance = this.instance(definitionId, instanceId);
    instance.status = status;
    return { ...instance };
  }

  private windowEnd(instance: InstanceState): number {
    return Date.parse(instance.startDateTime) + this.behaviour.uploadWindowMs;
  }

  /**
   * Applies the passage of time: when an instance's upload window has ended, its active sessions become `expired`
   * and, if it is still `Initializing`, it moves to `InProgress` (the review goes on without the missing data).
   */
  evaluate(): void {
    const now = this.clock.now();
    for (const instance of this.instances.values()) {
      if (now < this.windowEnd(instance)) continue;
      if (instance.status === 'Initializing') instance.status = 'InProgress';
      for (const session of this.sessions.values()) {
        if (session.referenceId === instance.id && session.reviewDefinitionId === instance.definitionId && session.status === 'active') session.status = 'expired';
      }
    }
  }

  catalog(catalogId: string): Catalog {
    const catalog = this.catalogs.get(catalogId);
    if (!catalog) throw notFound('accessPackageCatalog', catalogId);
    return catalog;
  }

  /** The resource `resourceId` of catalog `catalogId` (404 if either is unknown or they do not belong together). */
  resource(catalogId: string, resourceId: string): Resource {
    this.catalog(catalogId);
    const resource = this.resources.get(resourceId);
    if (!resource || resource.catalogId !== catalogId) throw notFound('accessPackageResource', resourceId);
    return resource;
  }

  /** Sessions of a resource, oldest first. */
  sessionsOf(catalogId: string, resourceId: string): Session[] {
    this.resource(catalogId, resourceId);
    return [...this.sessions.values()].filter((s) => s.catalogId === catalogId && s.resourceId === resourceId);
  }

  session(catalogId: string, resourceId: string, sessionId: string): Session {
    this.resource(catalogId, resourceId);
    const session = this.sessions.get(sessionId);
    if (!session || session.catalogId !== catalogId || session.resourceId !== resourceId) throw notFound('customDataProvidedResourceUploadSession', sessionId);
    return session;
  }

  /** Creates a session, enforcing one per (instance, resource) and the upload window. */
  createSession(catalogId: string, resourceId: string, request: CreateRequest): Session {
    const resource = this.resource(catalogId, resourceId);
    if (resource.originSystem !== CDPR_ORIGIN_SYSTEM) {
      throw new GraphHttpError(400, 'BadRequest', 'Upload sessions can be created only for a custom data provided resource.');
    }
    const definition = this.definitions.get(request.reviewDefinitionId);
    if (!definition) throw notFound('access review definition', request.reviewDefinitionId);
    const instance = this.instance(request.reviewDefinitionId, request.reviewInstanceId);
    if (!definition.catalogIds.includes(catalogId)) {
      throw new GraphHttpError(400, 'BadRequest', 'The access review definition does not cover this catalog.');
    }
    // Checked before the window on purpose: a retried create of a session that exists (even complete) is the
    // signal a client uses to adopt the existing one.
    const existing = [...this.sessions.values()].find((s) => s.referenceId === instance.id && s.resourceId === resourceId);
    if (existing) {
      const status = this.behaviour.secondCreateStatus;
      throw new GraphHttpError(
        status,
        status === 409 ? 'Conflict' : status === 400 ? 'BadRequest' : status === 403 ? 'Forbidden' : 'Conflict',
        `An upload session for review instance '${instance.id}' and resource '${resourceId}' already exists.`,
      );
    }
    this.assertOpen(instance);
    const session: Session = {
      id: randomUUID(),
      catalogId,
      resourceId,
      referenceId: instance.id,
      reviewDefinitionId: instance.definitionId,
      status: 'active',
      isUploadDone: false,
      createdDateTime: this.nowIso(),
      files: [],
      bodyShape: request.bodyShape,
    };
    if (request.source !== undefined) session.source = request.source;
    if (request.type !== undefined) session.type = request.type;
    if (request.dataOdataType !== undefined) session.dataOdataType = request.dataOdataType;
    this.sessions.set(session.id, session);
    return session;
  }

  /** The instance must be `Initializing` and inside its upload window. */
  private assertOpen(instance: InstanceState): void {
    if (this.clock.now() >= this.windowEnd(instance)) {
      throw new GraphHttpError(400, 'BadRequest', 'The upload window of this access review instance has ended.');
    }
    if (instance.status !== 'Initializing') {
      throw new GraphHttpError(400, 'BadRequest', `The access review instance is in state '${instance.status}', not 'Initializing'.`);
    }
  }

  /** The session must be active and its instance open for data. */
  private assertWritable(session: Session): void {
    if (session.status === 'complete') throw new GraphHttpError(400, 'BadRequest', 'The upload session is already complete.');
    if (session.status === 'expired') throw new GraphHttpError(400, 'BadRequest', 'The upload session has expired.');
    this.assertOpen(this.instance(session.reviewDefinitionId, session.referenceId));
  }

  /** Adds (or replaces, or refuses, per `sameNameUpload`) one uploaded file. */
  addFile(session: Session, part: ReceivedPart): StoredFile {
    this.assertWritable(session);
    const name = part.filename ?? '';
    const sameName = session.files.findIndex((f) => f.name === name);
    if (sameName >= 0 && this.behaviour.sameNameUpload === 'reject') {
      throw new GraphHttpError(409, 'Conflict', `A file named '${name}' was already uploaded to this session.`);
    }
    const replacing = sameName >= 0 && this.behaviour.sameNameUpload === 'replace';
    const max = this.behaviour.maxFilesPerSession;
    if (max !== null && !replacing && session.files.length >= max) {
      throw new GraphHttpError(400, 'BadRequest', `An upload session holds at most ${max} files.`);
    }
    const file: StoredFile = { id: randomUUID(), name, size: part.size, uploadedDateTime: this.nowIso(), sha256: part.sha256 };
    if (part.content) file.content = part.content;
    if (replacing) session.files.splice(sameName, 1, file);
    else session.files.push(file);
    return file;
  }

  /** PATCH isUploadDone=true: completes the session, then lets the instance move on when all its data is in. */
  complete(session: Session): void {
    this.assertWritable(session);
    session.status = 'complete';
    session.isUploadDone = true;
    const instance = this.instance(session.reviewDefinitionId, session.referenceId);
    const definition = this.definitions.get(instance.definitionId);
    if (!definition) return;
    const cdprs = [...this.resources.values()].filter((r) => r.originSystem === CDPR_ORIGIN_SYSTEM && definition.catalogIds.includes(r.catalogId));
    const allDone = cdprs.every((r) =>
      [...this.sessions.values()].some((s) => s.resourceId === r.id && s.referenceId === instance.id && s.status === 'complete'),
    );
    if (allDone && instance.status === 'Initializing') instance.status = 'InProgress';
  }

  /** DELETE: only an active session may be deleted (to start over). */
  deleteSession(session: Session): void {
    if (session.status !== 'active') throw new GraphHttpError(400, 'BadRequest', `An upload session in state '${session.status}' cannot be deleted.`);
    this.sessions.delete(session.id);
  }

  /** A snapshot for `admin.state()` (no file content). */
  snapshot(): EmulatorState {
    this.evaluate();
    return {
      sessions: [...this.sessions.values()].map((s) => ({
        id: s.id,
        catalogId: s.catalogId,
        resourceId: s.resourceId,
        referenceId: s.referenceId,
        reviewDefinitionId: s.reviewDefinitionId,
        status: s.status,
        isUploadDone: s.isUploadDone,
        createdDateTime: s.createdDateTime,
        files: s.files.map((f) => ({ id: f.id, name: f.name, size: f.size, uploadedDateTime: f.uploadedDateTime, sha256: f.sha256 })),
      })),
      instances: [...this.instances.values()].map((i) => ({ ...i })),
    };
  }
}
