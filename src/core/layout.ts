/**
 * Where things live in the data container, and the names the job gives them. One container, four folders:
 *
 * - `inbox/{source}/…`: the drop zone the HR or badge system writes to;
 * - `staged/{source}/{uploadName}`: validated canonical CSVs; the source's snapshot is the set the ledger lists;
 * - `archive/{source}/{reviewInstanceId}/…`: what each review received, with `manifest.json`; and
 *   `archive/{source}/_received/{stamp}-{etag}/{file}`: the original bytes of every accepted drop;
 * - `rejected/{source}/{stamp}-{etag}/{file}`: a refused original, with `report.json` and `report.csv` beside it;
 * - `status/latest.json` and `status/latest.md`: the sweep's report.
 *
 * Upload names are content-addressed (`{source}-{name hash}-{content hash}.csv`): the same name always means the same
 * bytes, so "is this file already in the session?" is a name-and-size check, and names reveal nothing of the export's
 * own file name (which may itself be personal data).
 */
import { createHash } from 'node:crypto';

export const INBOX = 'inbox/';
export const STAGED = 'staged/';
export const ARCHIVE = 'archive/';
export const REJECTED = 'rejected/';
export const STATUS_JSON = 'status/latest.json';
export const STATUS_MD = 'status/latest.md';

const sha = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** A short stable reference to a blob name for logs: the name itself may be personal data. */
export function blobRef(name: string): string {
  return sha(name).slice(0, 12);
}

/** Splits `inbox/{source}/{rest}`; undefined for anything else (a blob at the inbox root has no source). */
export function parseInboxName(name: string): { source: string; relativePath: string; fileName: string } | undefined {
  if (!name.startsWith(INBOX)) return undefined;
  const rest = name.slice(INBOX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  const relativePath = rest.slice(slash + 1);
  return { source: rest.slice(0, slash), relativePath, fileName: relativePath.split('/').pop() ?? relativePath };
}

/** The name a snapshot file has in Graph and in `staged/`: deterministic from the source file name and the content. */
export function uploadNameFor(source: string, fileName: string, canonicalSha256: string): string {
  const safeSource = source.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60) || 'source';
  return `${safeSource}-${sha(fileName.normalize('NFC')).slice(0, 8)}-${canonicalSha256.slice(0, 16)}.csv`;
}

export function stagedName(source: string, uploadName: string): string {
  return `${STAGED}${source}/${uploadName}`;
}

/** A temporary name for a canonical CSV while it is still being validated. */
export function pendingName(source: string, blobKey: string): string {
  return `${STAGED}${source}/_pending/${sha(blobKey).slice(0, 32)}.csv`;
}

function versionFolder(receivedAt: number, etag: string): string {
  const stamp = new Date(receivedAt).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${etag.replace(/[^A-Za-z0-9]/g, '').slice(-12)}`;
}

/** Azure's limit on a blob name, in characters. */
const MAX_NAME = 1024;

/**
 * `folder + relativePath`, shortened when it would pass Azure's name limit: an inbox name near the limit would
 * otherwise have no archive or quarantine copy at all. The end of the name and a hash of the whole keep it
 * recognisable and unique.
 */
export function fitBlobName(folder: string, relativePath: string): string {
  const full = `${folder}${relativePath}`;
  if (full.length <= MAX_NAME) return full;
  const tail = `~${sha(relativePath).slice(0, 16)}${/\.[A-Za-z0-9]{1,8}$/.exec(relativePath)?.[0] ?? ''}`;
  let head = relativePath.slice(0, Math.max(0, MAX_NAME - folder.length - tail.length));
  // Never cut a surrogate pair in half: a lone surrogate is not a storable name.
  if (/[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1);
  return `${folder}${head}${tail}`;
}

/** Where the original bytes of an accepted drop are kept. */
export function receivedArchiveName(source: string, relativePath: string, receivedAt: number, etag: string): string {
  return fitBlobName(`${ARCHIVE}${source}/_received/${versionFolder(receivedAt, etag)}/`, relativePath);
}

/** The quarantine folder of a refused drop; the original keeps its relative path inside it. */
export function rejectedFolder(source: string, receivedAt: number, etag: string): string {
  return `${REJECTED}${source}/${versionFolder(receivedAt, etag)}/`;
}

export function reviewArchiveFolder(source: string, reviewInstanceId: string): string {
  return `${ARCHIVE}${source}/${reviewInstanceId}/`;
}

/** The ledger key of one blob version. */
export function blobVersionKey(name: string, etag: string): string {
  return `${name}\n${etag}`;
}

/** The ledger key of one review request: one per (review instance, source). */
export function requestKey(reviewInstanceId: string, source: string): string {
  return `${reviewInstanceId.toLowerCase()}\n${source}`;
}
