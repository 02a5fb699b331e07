/**
 * A tiny HTTPS client for the emulator tests: node:https with the emulator's CA trusted per request (no global
 * NODE_EXTRA_CA_CERTS), a token helper, and a multipart body builder.
 */
import { randomUUID } from 'node:crypto';
import https from 'node:https';
import type { GraphEmulator } from '../../emulator/index';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Parsed JSON, when the body was JSON. */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- test convenience: assertions read into it freely
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  token?: string;
}

/** Sends one request to the emulator; rejects only on a transport error (for example a reset). */
export function call(emulator: Pick<GraphEmulator, 'graphUrl' | 'caCertificatePem'>, path: string, options: RequestOptions = {}): Promise<HttpAnswer> {
  const url = new URL(path, emulator.graphUrl);
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: options.method ?? 'GET', headers, ca: emulator.caCertificatePem, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Gets an app-only token with client credentials. */
export async function getToken(emulator: GraphEmulator, clientId = emulator.clientId, clientSecret = emulator.clientSecret): Promise<string> {
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'https://graph.microsoft.com/.default' }).toString();
  const answer = await call(emulator, emulator.tokenUrl, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  if (answer.status !== 200) throw new Error(`token request failed: ${answer.status} ${answer.text}`);
  return (answer.json as { access_token: string }).access_token;
}

/** A multipart/form-data body with the given parts (file parts have a filename). */
export function multipart(parts: { name: string; filename?: string; content: string | Buffer; contentType?: string }[], boundary = '----emu7f3a9c'): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\nContent-Type: ${part.contentType ?? 'application/octet-stream'}\r\n\r\n`));
    chunks.push(Buffer.isBuffer(part.content) ? part.content : Buffer.from(part.content));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Path helpers for the three upload-session families. */
export const paths = {
  p3: (c: string, r: string) => `/v1.0/identityGovernance/entitlementManagement/catalogs/${c}/resources/${r}/uploadSessions`,
  p2: (c: string, r: string) => `/beta/identityGovernance/catalogs/${c}/accessPackageResources/${r}/uploadSessions`,
  p1: (c: string, r: string) => `/beta/identityGovernance/entitlementManagement/accessPackageCatalogs/${c}/accessPackageResources/${r}/uploadSessions`,
};

/** The current create body. */
export function currentBody(reviewDefinitionId: string, reviewInstanceId: string): string {
  return JSON.stringify({
    '@odata.type': '#microsoft.graph.customDataProvidedResourceAccessReviewUploadSession',
    data: { '@odata.type': '#microsoft.graph.customDataProvidedResourcePayloads.accessReviewContextData', reviewDefinitionId, reviewInstanceId },
  });
}

/** The original (Oct 2025 beta) create body. */
export function originalBody(source: string, accessReviewId: string, accessReviewInstanceId: string): string {
  return JSON.stringify({ source, type: '#microsoft.graph.accessReviewDataUploadTriggerCallbackData', data: { accessReviewId, accessReviewInstanceId } });
}

export const JSON_HEADERS = { 'content-type': 'application/json' };

/** Ids of a freshly seeded catalog with one CDPR, a catalog review definition and one instance in `Initializing`. */
export interface Review {
  catalogId: string;
  resourceId: string;
  source: string;
  definitionId: string;
  instanceId: string;
}

/**
 * Seeds a new, isolated review (random ids) so that tests can share one emulator without seeing each other's
 * sessions. `extraResources` adds more CDPRs to the same catalog.
 */
export function seedReview(emulator: GraphEmulator, extraResources = 0): Review & { extraResourceIds: string[] } {
  const catalogId = randomUUID();
  const resourceId = randomUUID();
  const definitionId = randomUUID();
  const extraResourceIds = Array.from({ length: extraResources }, () => randomUUID());
  emulator.admin.seed({
    catalogs: [{ id: catalogId, displayName: 'Test catalog' }],
    resources: [resourceId, ...extraResourceIds].map((id, i) => ({ id, catalogId, displayName: `Source${i}` })),
    definitions: [{ id: definitionId, displayName: 'Test review', catalogIds: [catalogId] }],
  });
  const instance = emulator.admin.startInstance(definitionId);
  return { catalogId, resourceId, source: 'Source0', definitionId, instanceId: instance.id, extraResourceIds };
}
