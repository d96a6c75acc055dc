// Bounded retries with exponential backoff and (equal) jitter for transient failures (throttling, 5xx, timeouts,
// resets), honouring the server's retry-after. Mutating calls are safe to retry because each carries a ClientToken.

import { toCloudError } from './errors.ts';
import type { CloudError } from './errors.ts';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 20_000 };

export interface RetryHooks {
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly onRetry?: (error: CloudError, attempt: number, delayMs: number) => void;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Delay before retry number `attempt` (1-based): half fixed, half random, of base·2^(attempt-1), capped; retry-after wins. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxDelayMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export async function withRetries<T>(action: string, call: () => Promise<T>, policy: RetryPolicy = DEFAULT_RETRY_POLICY, hooks: RetryHooks = {}): Promise<T> {
  const wait = hooks.sleep ?? sleep;
  const random = hooks.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (raw) {
      const error = toCloudError(action, raw);
      if (error.kind !== 'transient' || attempt >= policy.maxAttempts) throw error;
      const delay = backoffDelay(policy, attempt, random, error.retryAfterMs);
      hooks.onRetry?.(error, attempt, delay);
      await wait(delay);
    }
  }
}
