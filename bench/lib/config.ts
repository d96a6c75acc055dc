// Sizes and settings of the benchmarks: the full sizes, and the chaos run shared by npm run bench and
// npm run soak.

export const FULL = { restores: 500, changes: 20, memoryRestores: 5000, latencySamples: 20, concurrency: 16 } as const;

/**
 * Faults of the chaos run: the 5 % 503s and 2 % connections dropped before the call is served, plus every
 * 50th mutating call applied and its response lost (the case ClientTokens exist for). The disruptions happen when
 * these fractions of the restores are Ready.
 */
export const CHAOS = { errorRate: 0.05, dropRate: 0.02, lostResponseEveryNthMutating: 50, operatorKillsAt: [0.2, 0.6], apiserverRestartAt: [0.4] } as const;

/** (2)'s settings plus CHAOS. */
export function chaosOptions(restores: number, concurrency: number) {
  return {
    part: 'chaos',
    restores,
    changes: FULL.changes,
    namespaces: 5,
    concurrency,
    ecsRateLimit: 50,
    latencyMs: 30,
    rateLimitPerSecond: 50,
    chaos: CHAOS,
  };
}

export function intEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${text}"`);
  return n;
}
