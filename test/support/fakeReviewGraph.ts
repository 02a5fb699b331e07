import { randomUUID } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { GraphRequestError } from '../../src/core/errors';
import type { ReopenableSource } from '../../src/core/ports';
import type {
  CatalogResource,
  GraphApiShape,
  InitializingInstance,
  ResourceRef,
  ReviewGraph,
  ReviewRef,
  UploadSession,
} from '../../src/core/reviewGraph';

interface FakeSession extends UploadSession {
  resourceId: string;
  contents: Map<string, string>;
}

/**
 * An in-memory ReviewGraph with Graph's rules (one session per instance and resource, no changes after complete,
 * same-name uploads add a file), for unit tests of the core. `failNext` scripts a failure of the next call of an
 * operation, optionally after the change was applied (commit-then-fail).
 */
export class FakeReviewGraph implements ReviewGraph {
  readonly shape: GraphApiShape = 'v1.0';
  readonly sessions: FakeSession[] = [];
  readonly calls: string[] = [];
  instances: InitializingInstance[] = [];
  resources: CatalogResource[] = [];
  private faults: { op: string; commit: boolean; error: GraphRequestError }[] = [];

  failNext(op: string, options: { status?: number; commit?: boolean } = {}): void {
    const status = options.status ?? 503;
    const retry = status === 429 || status >= 500;
    this.faults.push({ op, commit: options.commit ?? false, error: new GraphRequestError(`graph.fake${status}`, `fake ${status}`, retry ? 'retry' : 'fatal', { status, requestId: randomUUID() }) });
  }

  private fault(op: string): { commit: boolean; error: GraphRequestError } | undefined {
    this.calls.push(op);
    const i = this.faults.findIndex((f) => f.op === op);
    return i < 0 ? undefined : this.faults.splice(i, 1)[0];
  }

  private view(s: FakeSession): UploadSession {
    return { ...s, files: s.files?.map((f) => ({ ...f })) } as UploadSession;
  }

  private session(id: string): FakeSession {
    const s = this.sessions.find((x) => x.id === id);
    if (!s) throw new GraphRequestError('graph.notFound', 'no session', 'fatal', { status: 404 });
    return s;
  }

  async createUploadSession(resource: ResourceRef, review: ReviewRef): Promise<UploadSession> {
    const f = this.fault('create');
    const existing = this.sessions.find((s) => s.reviewInstanceId === review.reviewInstanceId && s.resourceId === resource.resourceId);
    if (existing) return this.view(existing);
    if (f && !f.commit) throw f.error;
    const s: FakeSession = {
      id: randomUUID(),
      resourceId: resource.resourceId,
      reviewInstanceId: review.reviewInstanceId,
      reviewDefinitionId: review.reviewDefinitionId,
      status: 'active',
      isUploadDone: false,
      createdDateTime: new Date().toISOString(),
      files: [],
      stats: undefined,
      contents: new Map(),
    };
    this.sessions.push(s);
    if (f) throw f.error;
    return this.view(s);
  }

  async findUploadSession(resource: ResourceRef, reviewInstanceId: string): Promise<UploadSession | undefined> {
    this.calls.push('find');
    const s = this.sessions.find((x) => x.reviewInstanceId === reviewInstanceId && x.resourceId === resource.resourceId);
    return s ? this.view(s) : undefined;
  }

  async getUploadSession(_resource: ResourceRef, sessionId: string): Promise<UploadSession> {
    this.calls.push('get');
    return this.view(this.session(sessionId));
  }

  async uploadFile(_resource: ResourceRef, sessionId: string, source: ReopenableSource): Promise<UploadSession> {
    const f = this.fault('upload');
    const s = this.session(sessionId);
    if (s.status !== 'active') throw new GraphRequestError('graph.badRequest', 'not active', 'fatal', { status: 400 });
    if (f && !f.commit) throw f.error;
    const body = await text(await source.open());
    s.files!.push({ id: randomUUID(), name: source.name, size: Buffer.byteLength(body) });
    s.contents.set(source.name, body);
    if (f) throw f.error;
    return this.view(s);
  }

  async completeUploadSession(_resource: ResourceRef, sessionId: string): Promise<UploadSession> {
    const f = this.fault('complete');
    const s = this.session(sessionId);
    if (f && !f.commit) throw f.error;
    if (s.status !== 'active') throw new GraphRequestError('graph.badRequest', 'not active', 'fatal', { status: 400 });
    s.status = 'complete';
    s.isUploadDone = true;
    if (f) throw f.error;
    return this.view(s);
  }

  async deleteUploadSession(_resource: ResourceRef, sessionId: string): Promise<void> {
    this.calls.push('delete');
    const i = this.sessions.findIndex((x) => x.id === sessionId);
    if (i >= 0 && this.sessions[i]!.status === 'active') this.sessions.splice(i, 1);
  }

  async listCustomDataResources(catalogId: string): Promise<CatalogResource[]> {
    return this.resources.filter((r) => r.catalogId === catalogId);
  }

  async findInitializingInstances(catalogIds: readonly string[]): Promise<InitializingInstance[]> {
    this.calls.push('discover');
    return this.instances.filter((i) => i.catalogIds.some((c) => catalogIds.includes(c)));
  }
}
