/**
 * Configuration: the only reader of the environment. `loadConfig` checks every setting and throws one ConfigError
 * that lists every problem, so a wrong deployment fails at start with a message an operator can fix in one go.
 *
 * Settings (names are the Functions app settings users already set; see the README's configuration table):
 * - `AzureWebJobsStorage`: the host's storage; also the data's unless `ACCESS_DATA_STORAGE` is set.
 * - `ACCESS_DATA_STORAGE`: a connection string, or identity-based as `ACCESS_DATA_STORAGE__serviceUri`
 *   (alias `__blobServiceUri`) plus optional `ACCESS_DATA_STORAGE__tableServiceUri` for the ledger.
 * - `ACCESS_DATA_CONTAINER` (default `access-data`), `LEDGER_TABLE` (default `accessreviewsync`).
 * - `GRAPH_BASE_URL` (default `https://graph.microsoft.com`), `GRAPH_API_SHAPE` (`v1.0` | `beta` | `beta-2025`),
 *   `GRAPH_EXTRA_CA_FILE` (PEM to trust besides the system roots: the local emulator's CA).
 * - `ROUTES` (JSON) or `ROUTES_FILE` (path to the same JSON).
 * - `SWEEP_SCHEDULE` (NCRONTAB with seconds, default every 5 minutes), `DEADLINE_WARNING_MINUTES` (default 30).
 * - `CALLOUT_ALLOWED_APP_IDS`: comma-separated app ids whose tokens may call the review callout (optional).
 * - Credentials: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, `AZURE_AUTHORITY_HOST`,
 *   `AZURE_FEDERATED_TOKEN_FILE`; none of them set means the managed identity.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { CredentialSettings } from './adapters/credential';
import { ConfigError } from './core/errors';
import { isGuid } from './core/guid';
import { GRAPH_API_SHAPES, type GraphApiShape } from './core/reviewGraph';
import { SCHEMAS, headerKey } from './core/csv';
import { SCHEMA_PRESETS, type Route, type RowPolicy, type SchemaPreset } from './core/routes';

export type { Route, RowPolicy, SchemaPreset };

export type Env = Readonly<Record<string, string | undefined>>;

export interface StorageSettings {
  connectionString?: string;
  blobServiceUri?: string;
  tableServiceUri?: string;
  container: string;
  ledgerTable: string;
}

export interface GraphSettings {
  baseUrl: string;
  shape: GraphApiShape;
  extraCaPem: string[];
}

export interface SyncConfig {
  storage: StorageSettings;
  graph: GraphSettings;
  credential: CredentialSettings;
  routes: Route[];
  sweepSchedule: string;
  deadlineWarningMinutes: number;
  calloutAllowedAppIds: string[];
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
export const DEFAULT_SWEEP_SCHEDULE = '0 */5 * * * *';
const DEFAULT_MAX_FILE_BYTES = 2 * 1024 ** 3;

function text(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

/** Reads `local.settings.json`'s Values (the Functions convention), for the CLI and the local host. */
export function readLocalSettings(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { Values?: Record<string, unknown> };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed.Values ?? {})) if (v !== undefined && v !== null) out[k] = String(v);
  return out;
}

/** The environment, then `local.settings.json` (falling back to the sample) for names the environment lacks. */
export function environmentWithLocalSettings(cwd: string, env: Env = process.env): Env {
  const localFile = path.join(cwd, 'local.settings.json');
  const file = existsSync(localFile) ? localFile : path.join(cwd, 'local.settings.sample.json');
  return { ...readLocalSettings(file), ...Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')) };
}

function parseRoute(raw: unknown, index: number, shape: GraphApiShape, problems: string[]): Route | undefined {
  const where = `ROUTES[${index}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${where} must be an object with source, catalogId and resourceId`);
    return undefined;
  }
  const r = raw as Record<string, unknown>;
  const start = problems.length;
  const source = typeof r.source === 'string' ? r.source.trim() : '';
  // The source is a blob folder: no separators, no dot segments, no control characters.
  // eslint-disable-next-line no-control-regex
  if (!source || source.length > 200 || /[/\\\u0000-\u001f\u007f]/.test(source) || source === '.' || source === '..') {
    problems.push(`${where}.source must be a folder name (1-200 characters, no '/', '\\' or control characters)`);
  }
  for (const key of ['catalogId', 'resourceId'] as const) {
    if (typeof r[key] !== 'string' || !isGuid(r[key] as string)) problems.push(`${where}.${key} must be a GUID`);
  }
  const schema = (r.schema ?? (shape === 'beta-2025' ? 'legacy-2025' : 'graph-v1')) as SchemaPreset;
  if (!SCHEMA_PRESETS.includes(schema)) problems.push(`${where}.schema must be one of ${SCHEMA_PRESETS.join(', ')}`);
  const aliases = r.headerAliases ?? {};
  if (typeof aliases !== 'object' || aliases === null || Array.isArray(aliases) || Object.values(aliases).some((v) => typeof v !== 'string')) {
    problems.push(`${where}.headerAliases must map export header names to schema column names`);
  } else if (SCHEMA_PRESETS.includes(schema)) {
    // An alias onto a column the schema does not have would refuse every file of the source: say so at start.
    const columns = new Set(SCHEMAS[schema].columns.map((c) => headerKey(c.name)));
    for (const [from, to] of Object.entries(aliases as Record<string, string>)) {
      if (!columns.has(headerKey(to))) problems.push(`${where}.headerAliases maps "${from}" to "${to}", which is not a column of the ${schema} schema`);
    }
  }
  const delimiter = (r.delimiter ?? 'auto') as Route['delimiter'];
  if (![',', ';', '\t', 'auto'].includes(delimiter)) problems.push(`${where}.delimiter must be ",", ";", "\\t" or "auto"`);
  let policy: RowPolicy = { mode: 'strict' };
  if (r.policy !== undefined) {
    const p = r.policy as Record<string, unknown>;
    if (p?.mode === 'strict') policy = { mode: 'strict' };
    else if (p?.mode === 'tolerant') {
      const rows = p.maxRejectedRows;
      const ratio = p.maxRejectedRatio;
      if (rows !== undefined && (!Number.isInteger(rows) || (rows as number) < 0)) problems.push(`${where}.policy.maxRejectedRows must be a whole number`);
      if (ratio !== undefined && (typeof ratio !== 'number' || ratio < 0 || ratio > 1)) problems.push(`${where}.policy.maxRejectedRatio must be between 0 and 1`);
      policy = { mode: 'tolerant', ...(rows !== undefined ? { maxRejectedRows: rows as number } : {}), ...(ratio !== undefined ? { maxRejectedRatio: ratio as number } : {}) };
    } else problems.push(`${where}.policy.mode must be "strict" or "tolerant"`);
  }
  const shrink = r.shrinkGuardRatio ?? 0.5;
  if (typeof shrink !== 'number' || shrink < 0 || shrink > 1) problems.push(`${where}.shrinkGuardRatio must be between 0 and 1`);
  const maxFileBytes = r.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (typeof maxFileBytes !== 'number' || !Number.isInteger(maxFileBytes) || maxFileBytes <= 0) problems.push(`${where}.maxFileBytes must be a positive whole number`);
  if (problems.length > start) return undefined;
  return {
    source,
    catalogId: (r.catalogId as string).toLowerCase(),
    resourceId: (r.resourceId as string).toLowerCase(),
    schema,
    headerAliases: aliases as Record<string, string>,
    delimiter,
    policy,
    shrinkGuardRatio: shrink as number,
    maxFileBytes: maxFileBytes as number,
  };
}

function readRoutes(env: Env, shape: GraphApiShape, problems: string[], readFile: (p: string) => string): Route[] {
  const inline = text(env, 'ROUTES');
  const file = text(env, 'ROUTES_FILE');
  if (inline && file) problems.push('Set ROUTES or ROUTES_FILE, not both');
  let json: string | undefined = inline;
  if (!inline && file) {
    try {
      json = readFile(file);
    } catch {
      problems.push(`ROUTES_FILE ${file} cannot be read`);
      return [];
    }
  }
  if (!json) {
    problems.push('No routes: set ROUTES (JSON) or ROUTES_FILE to say which source feeds which catalog resource');
    return [];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    problems.push(`${inline ? 'ROUTES' : 'ROUTES_FILE'} is not valid JSON`);
    return [];
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { routes?: unknown })?.routes;
  if (!Array.isArray(list) || list.length === 0) {
    problems.push('ROUTES must be a non-empty JSON array of routes (or an object with a "routes" array)');
    return [];
  }
  const routes = list.map((raw, i) => parseRoute(raw, i, shape, problems)).filter((r): r is Route => r !== undefined);
  const seen = new Set<string>();
  for (const r of routes) {
    const key = r.source.normalize('NFC').toLowerCase();
    if (seen.has(key)) problems.push(`Two routes have the source "${r.source}"; each source needs exactly one route`);
    seen.add(key);
  }
  return routes;
}

function readStorage(env: Env, problems: string[]): StorageSettings {
  const container = text(env, 'ACCESS_DATA_CONTAINER') ?? 'access-data';
  if (!/^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(container)) {
    problems.push('ACCESS_DATA_CONTAINER must be a valid container name (3-63 lowercase letters, digits and single hyphens)');
  }
  const ledgerTable = text(env, 'LEDGER_TABLE') ?? 'accessreviewsync';
  if (!/^[A-Za-z][A-Za-z0-9]{2,62}$/.test(ledgerTable)) problems.push('LEDGER_TABLE must be 3-63 letters and digits, starting with a letter');
  const connectionString = text(env, 'ACCESS_DATA_STORAGE');
  const blobServiceUri = text(env, 'ACCESS_DATA_STORAGE__serviceUri') ?? text(env, 'ACCESS_DATA_STORAGE__blobServiceUri');
  const tableServiceUri = text(env, 'ACCESS_DATA_STORAGE__tableServiceUri');
  if (connectionString && blobServiceUri) problems.push('Set ACCESS_DATA_STORAGE or ACCESS_DATA_STORAGE__serviceUri, not both');
  if (blobServiceUri) {
    if (!/^https?:\/\//i.test(blobServiceUri)) problems.push('ACCESS_DATA_STORAGE__serviceUri must be the blob service URL');
    const table = tableServiceUri ?? blobServiceUri.replace('.blob.', '.table.');
    if (table === blobServiceUri) problems.push('Set ACCESS_DATA_STORAGE__tableServiceUri: the ledger table endpoint cannot be derived from the blob URL');
    return { blobServiceUri, tableServiceUri: table, container, ledgerTable };
  }
  const conn = connectionString ?? text(env, 'AzureWebJobsStorage');
  if (!conn) problems.push('No storage: set AzureWebJobsStorage, ACCESS_DATA_STORAGE or ACCESS_DATA_STORAGE__serviceUri');
  return { connectionString: conn, container, ledgerTable };
}

function readGraph(env: Env, problems: string[], readFile: (p: string) => string): GraphSettings {
  const shapeText = text(env, 'GRAPH_API_SHAPE') ?? 'v1.0';
  const shape = shapeText as GraphApiShape;
  if (!GRAPH_API_SHAPES.includes(shape)) problems.push(`GRAPH_API_SHAPE must be one of ${GRAPH_API_SHAPES.join(', ')} (got "${shapeText}")`);
  const baseUrl = (text(env, 'GRAPH_BASE_URL') ?? 'https://graph.microsoft.com').replace(/\/+$/, '');
  try {
    const url = new URL(baseUrl);
    // A bearer token must never cross the network in clear text; plain http is only for loopback test servers.
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) problems.push('GRAPH_BASE_URL must use https');
    if (url.pathname !== '/' && url.pathname !== '') problems.push('GRAPH_BASE_URL is an origin without a version, e.g. https://graph.microsoft.com');
  } catch {
    problems.push('GRAPH_BASE_URL is not a URL');
  }
  const extraCaPem: string[] = [];
  const caFile = text(env, 'GRAPH_EXTRA_CA_FILE');
  if (caFile) {
    try {
      const pem = readFile(caFile);
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) problems.push(`GRAPH_EXTRA_CA_FILE ${caFile} holds no PEM certificate`);
      else extraCaPem.push(pem);
    } catch {
      problems.push(`GRAPH_EXTRA_CA_FILE ${caFile} cannot be read`);
    }
  }
  return { baseUrl, shape, extraCaPem };
}

function readCredential(env: Env, problems: string[], extraCaPem: string[]): CredentialSettings {
  const tenantId = text(env, 'AZURE_TENANT_ID');
  const clientId = text(env, 'AZURE_CLIENT_ID');
  const clientSecret = text(env, 'AZURE_CLIENT_SECRET');
  const authorityHost = text(env, 'AZURE_AUTHORITY_HOST');
  const federatedTokenFile = text(env, 'AZURE_FEDERATED_TOKEN_FILE');
  if (clientSecret && (!tenantId || !clientId)) problems.push('AZURE_CLIENT_SECRET needs AZURE_TENANT_ID and AZURE_CLIENT_ID');
  if (federatedTokenFile && (!tenantId || !clientId)) problems.push('AZURE_FEDERATED_TOKEN_FILE needs AZURE_TENANT_ID and AZURE_CLIENT_ID');
  if (authorityHost && !/^https:\/\//i.test(authorityHost)) problems.push('AZURE_AUTHORITY_HOST must be an https URL');
  return { tenantId, clientId, clientSecret, authorityHost, federatedTokenFile, extraCaPem };
}

function positiveNumber(env: Env, name: string, fallback: number, problems: string[]): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    problems.push(`${name} must be a positive number`);
    return fallback;
  }
  return n;
}

/** Reads and checks every setting; throws a ConfigError listing all problems. */
export function loadConfig(env: Env, options: { readFile?: (p: string) => string } = {}): SyncConfig {
  const readFile = options.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const problems: string[] = [];
  const storage = readStorage(env, problems);
  const graph = readGraph(env, problems, readFile);
  const credential = readCredential(env, problems, graph.extraCaPem);
  const routes = readRoutes(env, graph.shape, problems, readFile);
  const sweepSchedule = text(env, 'SWEEP_SCHEDULE') ?? DEFAULT_SWEEP_SCHEDULE;
  if (sweepSchedule.split(/\s+/).length !== 6) problems.push('SWEEP_SCHEDULE must be an NCRONTAB expression with 6 fields (seconds first), e.g. "0 */5 * * * *"');
  const deadlineWarningMinutes = positiveNumber(env, 'DEADLINE_WARNING_MINUTES', 30, problems);
  const calloutAllowedAppIds = (text(env, 'CALLOUT_ALLOWED_APP_IDS') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const id of calloutAllowedAppIds) if (!isGuid(id)) problems.push(`CALLOUT_ALLOWED_APP_IDS has "${id}", which is not a GUID`);
  if (problems.length > 0) throw new ConfigError(problems);
  return { storage, graph, credential, routes, sweepSchedule, deadlineWarningMinutes, calloutAllowedAppIds };
}

/** The configuration of this process, from its environment (the Functions app settings). */
export function loadConfigFromEnvironment(): SyncConfig {
  return loadConfig(process.env);
}

/** What the trigger registrations need at load time; read leniently, the full check runs when work starts. */
export interface TriggerSettings {
  /** The data container the blob trigger watches. */
  container: string;
  /** The name of the connection setting the blob trigger uses. */
  connection: 'ACCESS_DATA_STORAGE' | 'AzureWebJobsStorage';
  sweepSchedule: string;
  /** Blob trigger source: classic polling by default; `EventGrid` on Flex Consumption. */
  ingestSource: 'LogsAndContainerScan' | 'EventGrid';
}

export function triggerSettings(env: Env = process.env): TriggerSettings {
  const identityBased = Boolean(text(env, 'ACCESS_DATA_STORAGE__serviceUri') ?? text(env, 'ACCESS_DATA_STORAGE__blobServiceUri'));
  return {
    container: text(env, 'ACCESS_DATA_CONTAINER') ?? 'access-data',
    connection: text(env, 'ACCESS_DATA_STORAGE') || identityBased ? 'ACCESS_DATA_STORAGE' : 'AzureWebJobsStorage',
    sweepSchedule: text(env, 'SWEEP_SCHEDULE') ?? DEFAULT_SWEEP_SCHEDULE,
    ingestSource: text(env, 'INGEST_TRIGGER_SOURCE') === 'EventGrid' ? 'EventGrid' : 'LogsAndContainerScan',
  };
}
