/**
 * The job end to end on in-process Azurite and the Graph emulator, driven through the exported function handlers
 * as the host would drive them. Each harness has its own container, ledger table and emulator.
 */
import { HttpRequest, InvocationContext, type HttpResponseInit, type Timer } from '@azure/functions';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { expect, inject } from 'vitest';
import { createRuntime, setRuntime, type Runtime } from '../../src/compose';
import { loadConfig } from '../../src/config';
import type { BlobInfo } from '../../src/core/blobStore';
import { reconcile } from '../../src/core/reconcile';
import { KIND_REQUEST, type ReviewRequest } from '../../src/core/requests';
import type { GraphApiShape, ReviewRef } from '../../src/core/reviewGraph';
import type { SweepReport } from '../../src/core/sweep';
import { startGraphEmulator, type GraphEmulator } from '../../emulator/index';
import { ingest } from '../../functions/ingest';
import { reviewCallout } from '../../functions/reviewCallout';
import { sweep } from '../../functions/sweep';
import { ManualClock } from '../support/manualClock';

export const HEADER = 'principalId,principalType,permissionId,permissionName,permissionDescription,permissionType';
export function csv(...rows: string[]): string {
  return `${[HEADER, ...rows].join('\r\n')}\r\n`;
}
export function row(n: number, permission = 'door-a'): string {
  return `6f1b6c1e-5b7a-4d8e-9a51-${String(n).padStart(12, '0')},user,${permission},Door ${permission},Badge access,Physical`;
}

export const LEGACY_HEADER =
  'PrincipalAADId,ResourceId,ResourceName,ResourceDescription,ResourceType,PermissionId,PermissionName,PermissionDescription,PermissionType,ResourceOwners';
/** A file in the original beta's ten columns (the default schema of the beta-2025 shape). */
export function legacyCsv(...principals: number[]): string {
  const owners = '"0b1c2d3e-0000-4000-8000-000000000001,0b1c2d3e-0000-4000-8000-000000000002"';
  const rows = principals.map((n) => `6f1b6c1e-5b7a-4d8e-9a51-${String(n).padStart(12, '0')},res-bldg,Buildings,Badge doors,Physical,door-a,Door A,Badge access,Physical,${owners}`);
  return `${[LEGACY_HEADER, ...rows].join('\r\n')}\r\n`;
}

export interface LogLine {
  level: string;
  text: string;
}

export interface SyncHarness {
  /** The app settings the runtime was built from (a worker process started with them joins this harness). */
  env: Record<string, string>;
  emulator: GraphEmulator;
  runtime: Runtime;
  clock: ManualClock;
  source: string;
  logs: LogLine[];
  drop(relativePath: string, content: string | Buffer, metadata?: Record<string, string>): Promise<BlobInfo>;
  /** Invokes the ingest handler for a blob, as the blob trigger would (the content the host passes is ignored). */
  deliver(name: string): Promise<void>;
  callout(body: unknown, headers?: Record<string, string>): Promise<HttpResponseInit>;
  runSweep(): Promise<SweepReport>;
  startInstance(): ReviewRef;
  request(reviewInstanceId: string): Promise<(ReviewRequest & { state: string }) | undefined>;
  readText(name: string): Promise<string | undefined>;
  list(prefix: string): Promise<string[]>;
  /** Storage + ledger + Graph agree: nothing lost, nothing duplicated. */
  reconcile(): Promise<string[]>;
  close(): Promise<void>;
}

function context(functionName: string, logs: LogLine[], triggerMetadata: Record<string, unknown> = {}): InvocationContext {
  return new InvocationContext({
    invocationId: randomUUID(),
    functionName,
    triggerMetadata,
    logHandler: (level, ...args) => logs.push({ level, text: args.map(String).join(' ') }),
  });
}

export interface SyncHarnessOptions {
  shape?: GraphApiShape;
  extraRoutes?: object[];
  /** More sources, each a custom data provided resource seeded in the sample catalog, with a route like the sample's. */
  extraSources?: string[];
  env?: Record<string, string>;
}

export async function startSyncHarness(options: SyncHarnessOptions = {}): Promise<SyncHarness> {
  const emulator = await startGraphEmulator({ seedSample: true });
  const sample = emulator.sample!;
  const extraSources = (options.extraSources ?? []).map((source) => ({ source, catalogId: sample.catalogId, resourceId: randomUUID() }));
  if (extraSources.length > 0) {
    emulator.admin.seed({ resources: extraSources.map((r) => ({ id: r.resourceId, catalogId: r.catalogId, displayName: r.source })) });
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'arsync-it-'));
  const caFile = path.join(dir, 'ca.pem');
  writeFileSync(caFile, emulator.caCertificatePem);
  const suffix = randomUUID().replace(/-/g, '').slice(0, 12);
  const env: Record<string, string> = {
    AzureWebJobsStorage: inject('azuriteConnectionString'),
    ACCESS_DATA_CONTAINER: `it-${suffix}`,
    LEDGER_TABLE: `it${suffix}`,
    GRAPH_BASE_URL: emulator.graphUrl,
    GRAPH_API_SHAPE: options.shape ?? 'v1.0',
    GRAPH_EXTRA_CA_FILE: caFile,
    AZURE_TENANT_ID: emulator.tenantId,
    AZURE_CLIENT_ID: emulator.clientId,
    AZURE_CLIENT_SECRET: emulator.clientSecret,
    AZURE_AUTHORITY_HOST: emulator.authorityHost,
    ROUTES: JSON.stringify([
      {
        source: sample.source,
        catalogId: sample.catalogId,
        resourceId: sample.resourceId,
        // The schema is the shape's default (legacy-2025 for beta-2025), so the alias names that schema's column.
        headerAliases: { 'Employee Object ID': options.shape === 'beta-2025' ? 'PrincipalAADId' : 'principalId' },
      },
      ...extraSources.map((r) => ({ ...r, headerAliases: { 'Employee Object ID': 'principalId' } })),
      ...(options.extraRoutes ?? []),
    ]),
    ...options.env,
  };
  const config = loadConfig(env);
  // A manual clock: Graph retry waits and leases pass without sleeping; it starts at the real time so that the
  // emulator's instance start times and our deadlines agree.
  const clock = new ManualClock(Date.now());
  const runtime = await createRuntime(config, { clock });
  setRuntime(runtime);
  const logs: LogLine[] = [];
  const store = runtime.store;

  const harness: SyncHarness = {
    env,
    emulator,
    runtime,
    clock,
    source: sample.source,
    logs,
    drop: (relativePath, content, metadata) =>
      store.write(`inbox/${sample.source}/${relativePath}`, Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'), {
        contentType: 'text/csv',
        ...(metadata ? { metadata } : {}),
      }),
    async deliver(name) {
      await ingest(Buffer.from('ignored'), context('ingest', logs, { blobTrigger: `${config.storage.container}/${name}`, name }));
    },
    async callout(body, headers = {}) {
      const response = await reviewCallout(
        new HttpRequest({
          method: 'POST',
          url: 'http://localhost/api/review-callout',
          body: { string: typeof body === 'string' ? body : JSON.stringify(body) },
          headers: { 'content-type': 'application/json', ...headers },
        }),
        context('reviewCallout', logs),
      );
      await runtime.idle();
      return response;
    },
    async runSweep() {
      const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };
      return sweep(timer, context('sweep', logs));
    },
    startInstance() {
      const instance = emulator.admin.startInstance(sample.reviewDefinitionId);
      return { reviewDefinitionId: sample.reviewDefinitionId, reviewInstanceId: instance.id };
    },
    async request(reviewInstanceId) {
      for await (const r of runtime.ledger.list<ReviewRequest>(KIND_REQUEST)) {
        if (r.value.reviewInstanceId === reviewInstanceId.toLowerCase()) return { ...r.value, state: r.state };
      }
      return undefined;
    },
    async readText(name) {
      if (!(await store.stat(name))) return undefined;
      return text(await store.openRead(name));
    },
    async list(prefix) {
      const out: string[] = [];
      for await (const b of store.list(prefix)) out.push(b.name);
      return out;
    },
    async reconcile() {
      const problems = await reconcile(store, runtime.ledger);
      const sessions = emulator.admin.state().sessions;
      const requests: (ReviewRequest & { state: string })[] = [];
      for await (const r of runtime.ledger.list<ReviewRequest>(KIND_REQUEST)) requests.push({ ...r.value, state: r.state });
      for (const s of sessions) {
        const names = s.files.map((f) => f.name);
        if (new Set(names).size !== names.length) problems.push(`session ${s.id} holds a file name twice`);
        const same = sessions.filter((o) => o.referenceId === s.referenceId && o.resourceId === s.resourceId);
        if (same.length > 1) problems.push(`instance ${s.referenceId} has ${same.length} sessions`);
        if (!requests.some((r) => r.reviewInstanceId === s.referenceId)) problems.push(`session ${s.id} belongs to no review request`);
      }
      for (const r of requests.filter((x) => x.state === 'done')) {
        const s = sessions.find((x) => x.id === r.sessionId);
        if (!s) problems.push(`done request ${r.reviewInstanceId} has no session in Graph`);
        else {
          if (s.status !== 'complete') problems.push(`done request ${r.reviewInstanceId} has a ${s.status} session`);
          const planned = (r.plan ?? []).map((f) => `${f.uploadName}:${f.size}`).sort();
          const held = s.files.map((f) => `${f.name}:${f.size}`).sort();
          if (JSON.stringify(planned) !== JSON.stringify(held)) problems.push(`session of ${r.reviewInstanceId} holds ${held.join(',')} instead of ${planned.join(',')}`);
        }
      }
      return problems;
    },
    async close() {
      setRuntime(undefined);
      await runtime.close();
      await emulator.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** The callout of template version B (envelope), as Entra's relay sends it. */
export function envelopeCallout(h: SyncHarness, review: ReviewRef): unknown {
  const s = h.emulator.sample!;
  return {
    source: '/identityGovernance/accessReviews',
    catalogId: s.catalogId,
    resourceId: s.resourceId,
    data: { '@odata.type': '#microsoft.graph.customDataProvidedResourceRequestAccessReviewDataCalloutData', ...review },
  };
}

/** The flat callout of template version A. */
export function flatCallout(h: SyncHarness, review: ReviewRef): unknown {
  const s = h.emulator.sample!;
  return { ...review, catalogId: s.catalogId, customDataProvidedResourceId: s.resourceId };
}

/**
 * The check every integration test ends with: reconciliation finds nothing (storage = ledger, Graph files = uploaded
 * entries, no duplicates); the harness is closed either way.
 */
export async function reconcileAndClose(harness: SyncHarness | undefined): Promise<void> {
  if (!harness) return;
  try {
    expect(await harness.reconcile()).toEqual([]);
  } finally {
    await harness.close();
  }
}
