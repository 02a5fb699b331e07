/**
 * Reads Graph responses of every era into the core's types (contract "Decisions" 1 and §6): `Active` or `active`,
 * `expirationDateTime` present or not, `files` with or without `id`, `referenceId` present or not, the review ids
 * under `data` by either generation's names, sizes as numbers or (Int64 in JSON) strings.
 */
import type { UploadSession, UploadSessionStatus, UploadedFile } from '../../core/reviewGraph';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return undefined;
}

export function parseStatus(value: unknown): UploadSessionStatus {
  const s = typeof value === 'string' ? value.toLowerCase() : '';
  return s === 'active' || s === 'complete' || s === 'expired' ? s : 'unknown';
}

export function parseFile(value: unknown): UploadedFile | undefined {
  if (!isObject(value)) return undefined;
  const name = str(value.name);
  const size = num(value.size);
  if (name === undefined || size === undefined) return undefined;
  const file: UploadedFile = { name, size };
  const id = str(value.id);
  if (id) file.id = id;
  const uploaded = str(value.uploadedDateTime);
  if (uploaded) file.uploadedDateTime = uploaded;
  return file;
}

/** Parses one session; throws a plain Error (mapped by the caller) when the response has no id. */
export function parseSession(value: unknown): UploadSession {
  if (!isObject(value) || !str(value.id)) throw new Error('The upload session in the response has no id');
  const data = isObject(value.data) ? value.data : {};
  const stats = isObject(value.stats) ? value.stats : undefined;
  const files = Array.isArray(value.files) ? value.files.map(parseFile).filter((f): f is UploadedFile => f !== undefined) : undefined;
  return {
    id: str(value.id) as string,
    reviewInstanceId: str(value.referenceId) ?? str(data.reviewInstanceId) ?? str(data.accessReviewInstanceId),
    reviewDefinitionId: str(data.reviewDefinitionId) ?? str(data.accessReviewId),
    status: parseStatus(value.status),
    isUploadDone: value.isUploadDone === true,
    createdDateTime: str(value.createdDateTime),
    files,
    stats: stats ? { filesUploaded: num(stats.filesUploaded) ?? 0, totalBytesUploaded: num(stats.totalBytesUploaded) ?? 0 } : undefined,
  };
}

/** The `value` array of a collection response (empty when absent). */
export function collection(value: unknown): unknown[] {
  return isObject(value) && Array.isArray(value.value) ? value.value : [];
}

/** The `@odata.nextLink` of a collection page, if any. */
export function nextLink(value: unknown): string | undefined {
  return isObject(value) ? str(value['@odata.nextLink']) : undefined;
}

export { isObject, str };
