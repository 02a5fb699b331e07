/**
 * Retry as a small pure policy (the Azure SDK habit): `planRetry` decides, `withRetry` runs an operation under it.
 * All waiting goes through the injected Clock, so tests assert the planned schedule without sleeping.
 *
 * Rules:
 * - A server's Retry-After is honoured exactly: nothing is sent before it (plus a small margin for timer and
 *   clock granularity). A Retry-After longer than the per-wait cap, or past the budget or deadline, ends the
 *   retries: waiting less would be an early retry, and waiting that long is not this call's to spend.
 * - Without Retry-After: exponential backoff with jitter, capped per wait.
 * - Every wait fits inside the call's budget and before its deadline (the review's two-hour window).
 */
import { AbortedError } from './errors';
import type { Clock } from './ports';

export interface RetryPolicy {
  /** Total attempts, the first included. */
  maxAttempts: number;
  /** First backoff wait when the server gave no Retry-After. */
  baseDelayMs: number;
  /** The longest single wait (the Graph SDK's own ceiling is 180 s). */
  maxDelayMs: number;
  /** Total time one call may take, waits included. */
  budgetMs: number;
  /** Added to every server-given wait so that timer and clock granularity never make a retry early. */
  retryAfterMarginMs: number;
  /** Jitter source in [0, 1); injectable for exact schedules in tests. */
  random: () => number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 1_000,
  maxDelayMs: 180_000,
  budgetMs: 30 * 60_000,
  retryAfterMarginMs: 50,
  random: Math.random,
};

/**
 * Parses a Retry-After header value into milliseconds from `now`: delay-seconds as an integer (`2`) or, as Graph
 * sometimes sends, a fraction (`2.128`); or an HTTP-date. Returns undefined for an absent or unreadable value.
 * A date in the past gives 0.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  // An HTTP-date always names a weekday and GMT; requiring the latter keeps numbers like "12abc" from Date.parse.
  if (!/GMT$/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** What `planRetry` needs to know about a failure. */
export interface FailureFacts {
  retryable: boolean;
  /** The server's requested wait, already converted to ms from the moment the response arrived. */
  retryAfterMs?: number;
}

export type RetryStop = 'notRetryable' | 'attempts' | 'budget' | 'deadline' | 'retryAfterTooLong';
export type RetryDecision = { retry: true; waitMs: number; serverGiven: boolean } | { retry: false; stop: RetryStop };

/**
 * Decides whether attempt number `attemptsMade + 1` happens and after what wait.
 * @param attemptsMade attempts already made (1 after the first failure)
 * @param startedAt when the first attempt started (epoch ms)
 */
export function planRetry(
  failure: FailureFacts,
  attemptsMade: number,
  startedAt: number,
  now: number,
  policy: RetryPolicy,
  deadline?: number,
): RetryDecision {
  if (!failure.retryable) return { retry: false, stop: 'notRetryable' };
  if (attemptsMade >= policy.maxAttempts) return { retry: false, stop: 'attempts' };
  let waitMs: number;
  const serverGiven = failure.retryAfterMs !== undefined;
  if (failure.retryAfterMs !== undefined) {
    if (failure.retryAfterMs > policy.maxDelayMs) return { retry: false, stop: 'retryAfterTooLong' };
    waitMs = failure.retryAfterMs + policy.retryAfterMarginMs;
  } else {
    const exponential = policy.baseDelayMs * 2 ** (attemptsMade - 1);
    // "Equal jitter": half fixed, half random, so waits never collapse to zero under load.
    waitMs = Math.min(policy.maxDelayMs, Math.round(exponential / 2 + (exponential / 2) * policy.random()));
  }
  if (now + waitMs > startedAt + policy.budgetMs) return { retry: false, stop: 'budget' };
  if (deadline !== undefined && now + waitMs > deadline) return { retry: false, stop: 'deadline' };
  return { retry: true, waitMs, serverGiven };
}

export interface RetryEvent {
  attempt: number;
  waitMs: number;
  serverGiven: boolean;
  error: unknown;
}

export interface WithRetryOptions {
  policy: RetryPolicy;
  clock: Clock;
  /** Maps a thrown error to the facts the policy needs. */
  classify: (error: unknown) => FailureFacts;
  /** Called before each wait, e.g. to log `graph.throttled`. */
  onRetry?: (event: RetryEvent) => void;
  /**
   * Called when retries stop, with the last error; returns the error to throw (e.g. the same error annotated with
   * the attempt count).
   */
  onGiveUp?: (error: unknown, stop: RetryStop, attempts: number) => unknown;
  deadline?: number;
  signal?: AbortSignal;
}

/** Runs `operation` until it succeeds or the policy stops; `operation` receives the 1-based attempt number. */
export async function withRetry<T>(operation: (attempt: number) => Promise<T>, options: WithRetryOptions): Promise<T> {
  const startedAt = options.clock.now();
  for (let attempt = 1; ; attempt++) {
    if (options.signal?.aborted) throw new AbortedError('request');
    try {
      return await operation(attempt);
    } catch (error) {
      const decision = planRetry(options.classify(error), attempt, startedAt, options.clock.now(), options.policy, options.deadline);
      if (!decision.retry) throw options.onGiveUp ? options.onGiveUp(error, decision.stop, attempt) : error;
      options.onRetry?.({ attempt, waitMs: decision.waitMs, serverGiven: decision.serverGiven, error });
      await options.clock.sleep(decision.waitMs, options.signal);
    }
  }
}
