import { describe, expect, it } from 'vitest';
import { GraphRequestError } from '../../src/core/errors';
import { DEFAULT_RETRY_POLICY, parseRetryAfter, planRetry, withRetry, type RetryPolicy } from '../../src/core/retry';
import { ManualClock } from '../support/manualClock';

const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, random: () => 0.5, retryAfterMarginMs: 50 };
const NOW = Date.UTC(2026, 10, 23, 10, 0, 0);

describe('parseRetryAfter', () => {
  it('reads integer seconds', () => expect(parseRetryAfter('2', NOW)).toBe(2000));
  it('reads fractional seconds exactly, rounding up to the millisecond', () => {
    expect(parseRetryAfter('2.128', NOW)).toBe(2128);
    expect(parseRetryAfter('0.0004', NOW)).toBe(1);
  });
  it('reads an HTTP-date relative to now', () => {
    expect(parseRetryAfter(new Date(NOW + 7000).toUTCString(), NOW)).toBe(7000);
  });
  it('gives 0 for a date in the past', () => expect(parseRetryAfter(new Date(NOW - 60_000).toUTCString(), NOW)).toBe(0));
  it('ignores absent and unreadable values', () => {
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
    expect(parseRetryAfter('', NOW)).toBeUndefined();
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter('-3', NOW)).toBeUndefined();
    expect(parseRetryAfter('12abc', NOW)).toBeUndefined();
  });
});

describe('planRetry', () => {
  it('waits exactly the server-given time plus the margin', () => {
    expect(planRetry({ retryable: true, retryAfterMs: 2128 }, 1, NOW, NOW, policy)).toEqual({ retry: true, waitMs: 2178, serverGiven: true });
  });
  it('backs off exponentially with equal jitter and a cap when the server says nothing', () => {
    const waits = [1, 2, 3, 4, 5, 6, 7].map((n) => planRetry({ retryable: true }, n, NOW, NOW, policy));
    expect(waits.map((w) => (w.retry ? w.waitMs : -1))).toEqual([750, 1500, 3000, 6000, 12000, 24000, 48000]);
    const capped = planRetry({ retryable: true }, 7, NOW, NOW, { ...policy, maxDelayMs: 10_000, maxAttempts: 20 });
    expect(capped).toEqual({ retry: true, waitMs: 10_000, serverGiven: false });
  });
  it('stops rather than retry early when Retry-After exceeds the per-wait cap', () => {
    expect(planRetry({ retryable: true, retryAfterMs: 200_000 }, 1, NOW, NOW, policy)).toEqual({ retry: false, stop: 'retryAfterTooLong' });
  });
  it('stops on non-retryable failures, spent attempts, budget and deadline', () => {
    expect(planRetry({ retryable: false }, 1, NOW, NOW, policy)).toEqual({ retry: false, stop: 'notRetryable' });
    expect(planRetry({ retryable: true }, policy.maxAttempts, NOW, NOW, policy)).toEqual({ retry: false, stop: 'attempts' });
    expect(planRetry({ retryable: true, retryAfterMs: 5000 }, 1, NOW, NOW + policy.budgetMs - 1000, policy)).toEqual({ retry: false, stop: 'budget' });
    expect(planRetry({ retryable: true, retryAfterMs: 5000 }, 1, NOW, NOW, policy, NOW + 3000)).toEqual({ retry: false, stop: 'deadline' });
  });
});

describe('withRetry on a manual clock', () => {
  const throttled = (retryAfterSeconds: number) =>
    new GraphRequestError('graph.throttled', 'throttled', 'retry', { status: 429, retryAfterSeconds });

  it('follows the planned schedule for integer, fractional and date forms, then succeeds', async () => {
    const clock = new ManualClock(NOW);
    const failures = [throttled(2), throttled(2.128), throttled(7)];
    const attempts: number[] = [];
    const result = await withRetry(
      async () => {
        attempts.push(clock.now());
        const next = failures.shift();
        if (next) throw next;
        return 'ok';
      },
      {
        policy,
        clock,
        classify: (e) => ({ retryable: true, retryAfterMs: Math.ceil((e as GraphRequestError).context.retryAfterSeconds! * 1000) }),
      },
    );
    expect(result).toBe('ok');
    expect(clock.sleeps).toEqual([2050, 2178, 7050]);
    // Each attempt starts no earlier than the previous response plus its Retry-After.
    expect(attempts.map((t) => t - NOW)).toEqual([0, 2050, 4228, 11278]);
  });

  it('hands the last error to onGiveUp with the reason and attempt count', async () => {
    const clock = new ManualClock(NOW);
    const seen: unknown[] = [];
    await expect(
      withRetry(
        async () => {
          throw throttled(1);
        },
        {
          policy: { ...policy, maxAttempts: 3 },
          clock,
          classify: () => ({ retryable: true, retryAfterMs: 1000 }),
          onGiveUp: (error, stop, attempts) => {
            seen.push(stop, attempts);
            return error;
          },
        },
      ),
    ).rejects.toMatchObject({ code: 'graph.throttled' });
    expect(seen).toEqual(['attempts', 3]);
    expect(clock.sleeps).toEqual([1050, 1050]);
  });

  it('does not start another attempt once the signal has aborted', async () => {
    const clock = new ManualClock(NOW);
    const controller = new AbortController();
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          controller.abort();
          throw throttled(1);
        },
        { policy, clock, classify: () => ({ retryable: true }), signal: controller.signal },
      ),
    ).rejects.toMatchObject({ code: 'aborted' });
    expect(calls).toBe(1);
  });
});
