/**
 * A local, stateful fake of Microsoft Graph's custom-data-provided-resource upload sessions, with an Entra-like
 * token endpoint and an admin API for tests. See README.md for what it emulates and every assumption it makes.
 *
 * Nothing in `src/` may import this module (and this module imports nothing from `src/`): it stands in for
 * Microsoft's service, not for project code.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createAdmin, createAdminHttp } from './admin';
import { TokenService } from './auth';
import { generateCertificate } from './cert';
import { FaultTable, RetryAfterMemory } from './faults';
import { RequestRecorder } from './recorder';
import { createPipeline, type PipelineDeps } from './server';
import { DEFAULT_BEHAVIOUR, EmulatorClock, EmulatorStore } from './state';
import type { EmulatorAdmin, EmulatorBehaviour } from './types';

export type * from './types';
export { DEFAULT_BEHAVIOUR } from './state';

/** The application roles the seeded app holds. */
export const SAMPLE_APP_ROLES = ['EntitlementManagement.ReadWrite.All', 'AccessReview.Read.All'];
/** The sample CDPR's display name, which is its source name. */
export const SAMPLE_SOURCE = 'BuildingAccessData';

export interface GraphEmulatorOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** Seed the sample tenant (catalog, CDPR, catalog review, one instance in `Initializing`). Default true. */
  seedSample?: boolean;
  /** Epoch ms of the emulator clock at start; default `Date.now()`. */
  startTime?: number;
  behaviour?: Partial<EmulatorBehaviour>;
}

/** Ids of the sample tenant, present when `seedSample` was on. */
export interface EmulatorSample {
  catalogId: string;
  resourceId: string;
  /** The CDPR's display name. */
  source: string;
  reviewDefinitionId: string;
  reviewInstanceId: string;
}

/** A running emulator. */
export interface GraphEmulator {
  /** `https://127.0.0.1:PORT`, without a version segment. */
  readonly graphUrl: string;
  /** Same origin; tokens are at `${authorityHost}/${tenantId}/oauth2/v2.0/token`. */
  readonly authorityHost: string;
  readonly tokenUrl: string;
  /** PEM of the self-signed certificate; trust it to talk to the emulator. */
  readonly caCertificatePem: string;
  readonly tenantId: string;
  /** The seeded app, with roles {@link SAMPLE_APP_ROLES}. */
  readonly clientId: string;
  readonly clientSecret: string;
  readonly sample?: EmulatorSample;
  readonly admin: EmulatorAdmin;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** Starts an emulator on loopback HTTPS. */
export async function startGraphEmulator(options: GraphEmulatorOptions = {}): Promise<GraphEmulator> {
  const host = options.host ?? '127.0.0.1';
  const clock = new EmulatorClock(options.startTime ?? Date.now());
  const store = new EmulatorStore(clock, { ...DEFAULT_BEHAVIOUR });
  const faults = new FaultTable();
  const retryAfter = new RetryAfterMemory();
  const recorder = new RequestRecorder();
  const admin = createAdmin({ store, faults, retryAfter, recorder });
  if (options.behaviour) admin.setBehaviour(options.behaviour);

  const tenantId = randomUUID();
  const clientId = randomUUID();
  const clientSecret = `emu~${randomBytes(18).toString('base64url')}`;
  store.seed({ apps: [{ clientId, clientSecret, roles: [...SAMPLE_APP_ROLES] }] });

  const [tokens, certificate] = await Promise.all([
    TokenService.create(tenantId, clock, store.apps, () => store.behaviour.tokenLifetimeSeconds),
    generateCertificate(),
  ]);
  const deps: PipelineDeps = { store, tokens, faults, retryAfter, recorder, admin: createAdminHttp(admin), origin: '' };
  const server = https.createServer({ cert: certificate.certificatePem, key: certificate.privateKeyPem }, createPipeline(deps));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const origin = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  deps.origin = origin;

  let sample: EmulatorSample | undefined;
  if (options.seedSample ?? true) {
    const ids = { catalogId: randomUUID(), resourceId: randomUUID(), reviewDefinitionId: randomUUID() };
    admin.seed({
      catalogs: [{ id: ids.catalogId, displayName: 'Building access' }],
      resources: [{ id: ids.resourceId, catalogId: ids.catalogId, displayName: SAMPLE_SOURCE }],
      definitions: [{ id: ids.reviewDefinitionId, displayName: 'Building access catalog review', catalogIds: [ids.catalogId] }],
    });
    const instance = admin.startInstance(ids.reviewDefinitionId);
    sample = { ...ids, source: SAMPLE_SOURCE, reviewInstanceId: instance.id };
  }

  let closed: Promise<void> | undefined;
  const emulator: GraphEmulator = {
    graphUrl: origin,
    authorityHost: origin,
    tokenUrl: `${origin}/${tenantId}/oauth2/v2.0/token`,
    caCertificatePem: certificate.certificatePem,
    tenantId,
    clientId,
    clientSecret,
    admin,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
  return sample ? { ...emulator, sample } : emulator;
}
