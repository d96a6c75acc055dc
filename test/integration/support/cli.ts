// Drives the sgrestore CLI in-process (the same main() the bin runs) with captured output, the real ECS SDK and
// the emulator's endpoint; credentials come through the real default chain from the environment.

import { main } from '../../../src/cli/main.ts';
import type { EcsEmulator } from '../../emulator/server.ts';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  json<T = Record<string, unknown>>(): T;
}

export const TEST_CREDENTIALS = { accessKeyId: 'test-ak', accessKeySecret: 'test-secret' };

/** Runs `sgrestore ...args` against the emulator with the given access key secret (default: the right one). */
export async function runCli(emulator: EcsEmulator, args: readonly string[], options: { secret?: string; accessKeyId?: string } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const saved = { id: process.env.ALIBABA_CLOUD_ACCESS_KEY_ID, secret: process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET };
  process.env.ALIBABA_CLOUD_ACCESS_KEY_ID = options.accessKeyId ?? TEST_CREDENTIALS.accessKeyId;
  process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET = options.secret ?? TEST_CREDENTIALS.accessKeySecret;
  try {
    const code = await main(args, {
      stdout: { write: (t: string) => (stdout += t), isTTY: false },
      stderr: { write: (t: string) => (stderr += t), isTTY: false },
      env: { SGRESTORE_ECS_ENDPOINT: emulator.url },
    });
    return {
      code,
      stdout,
      stderr,
      json: <T>() => {
        try {
          return JSON.parse(stdout) as T;
        } catch {
          throw new Error(`stdout is not JSON (exit ${code}):\n${stdout}\nstderr:\n${stderr}`);
        }
      },
    };
  } finally {
    for (const [key, value] of [['ALIBABA_CLOUD_ACCESS_KEY_ID', saved.id], ['ALIBABA_CLOUD_ACCESS_KEY_SECRET', saved.secret]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}
