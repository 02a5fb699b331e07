/**
 * Reconciliation: the storage inventory against the ledger (reliability §7, "nothing lost"). Every blob version the
 * ledger knows must sit in exactly one terminal place with its copy present, and every file in the data folders
 * must be accounted for by the ledger. Returns the problems found; an empty list is a clean bill.
 */
import type { BlobStore } from './blobStore';
import { ARCHIVE, INBOX, REJECTED, STAGED } from './layout';
import type { Ledger } from './ledger';
import { KIND_BLOB, KIND_REQUEST, KIND_SNAPSHOT, type BlobVersion, type ReviewRequest, type Snapshot } from './requests';

export async function reconcile(store: BlobStore, ledger: Ledger): Promise<string[]> {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const prefix of [INBOX, STAGED, ARCHIVE, REJECTED]) for await (const b of store.list(prefix)) names.add(b.name);

  const accounted = new Set<string>();
  for await (const rec of ledger.list<BlobVersion>(KIND_BLOB)) {
    const v = rec.value;
    const inInbox = names.has(v.name);
    switch (rec.state) {
      case 'staged':
      case 'uploaded':
        if (!v.archivedAs || !names.has(v.archivedAs)) problems.push(`${rec.state} version of ${v.name} has no received copy in the archive`);
        else accounted.add(v.archivedAs);
        if (inInbox) problems.push(`${v.name} is ${rec.state} but still in the inbox`);
        break;
      case 'superseded':
        // Replaced in the snapshot (its original archived), or overwritten by its producer before it was staged.
        if (v.stagedName && (!v.archivedAs || !names.has(v.archivedAs))) problems.push(`superseded version of ${v.name} has no received copy in the archive`);
        if (v.archivedAs) accounted.add(v.archivedAs);
        break;
      case 'rejected':
        if (!v.rejectedAs || !names.has(v.rejectedAs)) problems.push(`rejected version of ${v.name} has no quarantined copy`);
        else accounted.add(v.rejectedAs);
        if (!v.reportName || !names.has(v.reportName)) problems.push(`rejected version of ${v.name} has no report`);
        if (inInbox) problems.push(`${v.name} is rejected but still in the inbox`);
        break;
      case 'failed':
        // A failed version keeps its original where it was (unless the failure was that it disappeared).
        break;
      case 'claimed':
        if (!inInbox) problems.push(`${v.name} is claimed but no longer in the inbox and has no terminal state`);
        break;
      default:
        problems.push(`${v.name} has an unknown ledger state ${rec.state}`);
    }
    if (v.stagedName) accounted.add(v.stagedName);
  }

  for await (const s of ledger.list<Snapshot>(KIND_SNAPSHOT)) {
    for (const f of s.value.files) if (!names.has(f.stagedName)) problems.push(`snapshot of ${s.value.source} lists ${f.uploadName}, which is not staged`);
  }
  for await (const r of ledger.list<ReviewRequest>(KIND_REQUEST, { states: ['done'] })) {
    const folder = r.value.archiveFolder ?? '';
    if (!names.has(`${folder}manifest.json`)) problems.push(`done request for ${r.value.reviewInstanceId} has no manifest`);
    for (const f of r.value.plan ?? []) {
      if (!names.has(`${folder}${f.uploadName}`)) problems.push(`done request for ${r.value.reviewInstanceId} has no archived ${f.uploadName}`);
      accounted.add(`${folder}${f.uploadName}`);
      accounted.add(f.stagedName);
    }
    accounted.add(`${folder}manifest.json`);
  }

  for (const name of names) {
    if (name.startsWith(INBOX)) continue; // not yet processed is not lost; a sweep takes it
    if (accounted.has(name)) continue;
    if (name.startsWith(REJECTED) && /\/report\.(json|csv)$/.test(name)) continue;
    if (name.startsWith(`${STAGED}`) && name.includes('/_pending/')) problems.push(`${name} is a leftover pending file`);
    else if (!name.startsWith(STAGED)) problems.push(`${name} is not accounted for by the ledger`);
  }
  return problems;
}
