/** Fulfils the open review requests of one source (after a file of it was staged). */
import { fulfilRequest, type FulfilDeps, type FulfilOutcome } from './fulfil';
import { errorLogFields } from './log';
import { KIND_REQUEST, type ReviewRequest } from './requests';

export async function fulfilPendingForSource(source: string, deps: FulfilDeps): Promise<Record<string, FulfilOutcome>> {
  const keys: string[] = [];
  for await (const r of deps.ledger.list<ReviewRequest>(KIND_REQUEST, { states: ['pending', 'uploading'] })) if (r.value.source === source) keys.push(r.key);
  const outcomes: Record<string, FulfilOutcome> = {};
  for (const key of keys) {
    try {
      outcomes[key] = await fulfilRequest(key, deps);
    } catch (error) {
      deps.logger.log('error', 'fulfil.crashed', { source, ...errorLogFields(error) });
      outcomes[key] = 'retryLater';
    }
  }
  return outcomes;
}
