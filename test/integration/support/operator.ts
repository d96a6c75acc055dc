// Runs the operator as its own process (`sgrestore run`, from source) against the test control plane and the ECS
// emulator, so tests can SIGKILL and restart it like a crashing pod.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('../../../src/cli/entry.ts', import.meta.url));

export interface OperatorProcess {
  readonly child: ChildProcess;
  /** Every log line so far (JSON lines). */
  readonly logs: string[];
  healthPort(): Promise<number>;
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM (graceful) or SIGKILL (crash); resolves with the exit code or signal. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export function startOperator(options: { kubeconfig: string; ecsEndpoint: string; args?: readonly string[]; env?: Record<string, string> }): OperatorProcess {
  const child = spawn(
    process.execPath,
    [
      ENTRY,
      'run',
      `--kubeconfig=${options.kubeconfig}`,
      `--ecs-endpoint=${options.ecsEndpoint}`,
      '--metrics-bind-address=127.0.0.1:0',
      '--health-probe-bind-address=127.0.0.1:0',
      '--log-level=debug',
      '--shutdown-grace-period=10s',
      ...(options.args ?? []),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true', ALIBABA_CLOUD_CLI_PROFILE_DISABLED: 'true', ...options.env },
    },
  );
  return superviseOperator(child, { echo: Boolean(process.env.SGRESTORE_TEST_OPERATOR_LOGS) });
}

/** How a supervised operator's output is kept: which lines to remember, and whether to echo them to stderr. */
export interface SuperviseOptions {
  /** Keep this line in `logs`? (default: every line) */
  readonly keep?: (line: string, logs: readonly string[]) => boolean;
  readonly echo?: boolean;
}

/** Log capture, waiting for log lines, the health port, and stopping, for an operator process however it was spawned. */
export function superviseOperator(child: ChildProcess, options: SuperviseOptions = {}): OperatorProcess {
  const logs: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  let buffer = '';
  const onData = (chunk: Buffer) => {
    buffer += chunk.toString();
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      if (options.keep?.(line, logs) ?? true) logs.push(line);
      if (options.echo) process.stderr.write(`operator: ${line}\n`);
      for (const w of [...waiters]) {
        if (w.pattern.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code ?? -1)));

  const waitForLog = (pattern: RegExp, timeoutMs = 60_000): Promise<string> => {
    const seen = logs.find((l) => pattern.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`operator did not log ${pattern} within ${timeoutMs} ms; last lines:\n${logs.slice(-20).join('\n')}`)), timeoutMs);
      waiters.push({ pattern, resolve: (line) => { clearTimeout(timer); resolve(line); } });
      void exited.then((code) => { clearTimeout(timer); reject(new Error(`operator exited (${code}) before logging ${pattern}; last lines:\n${logs.slice(-30).join('\n')}`)); });
    });
  };

  return {
    child,
    logs,
    waitForLog,
    healthPort: async () => {
      const line = await waitForLog(/probes listening/);
      return (JSON.parse(line) as { healthPort: number }).healthPort;
    },
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/** Polls `probe` until it returns a value (not undefined) or the bound passes; the bound is a hang guard, not a timing assertion. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
