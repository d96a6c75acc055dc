// `sgrestore plan | apply`: argument parsing, the engine (describe → plan → apply), presentation, and the one place
// where outcomes become exit codes: 0 success, 2 invalid input or a failed precondition, 1 anything else.

import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { applyPlan } from '../cloud/apply.ts';
import type { ApplyProgress } from '../cloud/apply.ts';
import { CloudError } from '../cloud/errors.ts';
import { createEcsGateway, DEFAULT_TIMEOUT_MS, parseEndpoint } from '../cloud/gateway.ts';
import type { EcsGateway } from '../cloud/gateway.ts';
import { describeAndPlan } from '../cloud/restore.ts';
import { validateRequest } from '../plan/preconditions.ts';
import type { RestoreMode, RestoreRequest } from '../plan/types.ts';
import { createLogger } from '../observability/logger.ts';
import { applyJson, planJson, renderApplySummary, renderPlanTable } from './render.ts';
import { approveCommand, runCommand } from './operator.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_INVALID = 2;

export interface CliIo {
  readonly stdout: { write(text: string): unknown; isTTY?: boolean };
  readonly stderr: { write(text: string): unknown; isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Test seam: build the gateway from the resolved options. */
  readonly gatewayFactory?: typeof createEcsGateway;
}

const USAGE = `Usage:
  sgrestore plan  --region R --original SG --target SG [--mode complete|partial] [--output table|json] [--endpoint URL]
  sgrestore apply --region R --original SG --target SG [--mode complete|partial] (--yes | --approve PLANHASH)
                  [--output table|json] [--endpoint URL]
  sgrestore run [flags]                    the Kubernetes operator (sgrestore run --help)
  sgrestore approve NAME [-n NAMESPACE]    approve a Manual SecurityGroupRestore's previewed plan

Restores the rules of the target (backup) security group onto the original group.
  --mode partial   (default) only add the rules the original lacks; never remove or modify
  --mode complete  make the original hold exactly the target's rules (adds and updates first, then removals)
  --approve HASH   apply only if the fresh plan still has this planHash (what you saw with \`plan\`)
  --yes            apply whatever the fresh plan is
  --endpoint URL   ECS endpoint override (also env SGRESTORE_ECS_ENDPOINT), e.g. http://127.0.0.1:18080
  --timeout SEC    per-call timeout in seconds (default ${DEFAULT_TIMEOUT_MS / 1000})
  --log-format     human (default) or json; --log-level error|warn|info|debug (default info)
  --no-color       plain output (also when NO_COLOR is set or stdout is not a terminal)

Credentials come from the Alibaba Cloud default chain: ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET
(/ ALIBABA_CLOUD_SECURITY_TOKEN), RRSA (OIDC), ~/.aliyun/config.json, ~/.alibabacloud/credentials, the ECS RAM role.

Exit codes: 0 success, 2 invalid input or failed precondition, 1 any other failure.`;

const OPTIONS = {
  region: { type: 'string' },
  original: { type: 'string' },
  target: { type: 'string' },
  mode: { type: 'string' },
  output: { type: 'string' },
  endpoint: { type: 'string' },
  timeout: { type: 'string' },
  yes: { type: 'boolean' },
  approve: { type: 'string' },
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

class UsageError extends Error {}

interface CommonOptions {
  readonly request: RestoreRequest;
  readonly output: 'table' | 'json';
  readonly endpoint?: string;
  readonly timeoutMs: number;
  readonly color: boolean;
  readonly logFormat: 'human' | 'json';
  readonly logLevel: string;
}

function parseCommon(values: Record<string, string | boolean | undefined>, io: CliIo): CommonOptions {
  const str = (name: string): string | undefined => {
    const v = values[name];
    return typeof v === 'string' ? v : undefined;
  };
  const problems: string[] = [];
  const modeText = (str('mode') ?? 'partial').toLowerCase();
  const failures = validateRequest({ regionId: str('region'), originalGroupId: str('original'), targetGroupId: str('target'), mode: modeText });
  const flagOf: Record<string, string> = { regionId: '--region', originalSecurityGroupId: '--original', targetSecurityGroupId: '--target', mode: '--mode' };
  for (const f of failures) problems.push(`${f.field ? `${flagOf[f.field] ?? f.field}: ` : ''}${f.message}`);
  const output = str('output') ?? 'table';
  if (output !== 'table' && output !== 'json') problems.push(`--output: "${output}" is neither table nor json`);
  const endpoint = str('endpoint') ?? (io.env.SGRESTORE_ECS_ENDPOINT || undefined);
  if (endpoint !== undefined) {
    try {
      parseEndpoint(endpoint);
    } catch (error) {
      problems.push(`${str('endpoint') !== undefined ? '--endpoint' : 'SGRESTORE_ECS_ENDPOINT'}: ${(error as Error).message}`);
    }
  }
  const timeoutText = str('timeout');
  const timeoutSeconds = timeoutText === undefined ? DEFAULT_TIMEOUT_MS / 1000 : Number(timeoutText);
  if (!(timeoutSeconds > 0 && timeoutSeconds <= 600)) problems.push(`--timeout: "${timeoutText}" is not a number of seconds between 1 and 600`);
  const logFormat = str('log-format') ?? 'human';
  if (logFormat !== 'human' && logFormat !== 'json') problems.push(`--log-format: "${logFormat}" is neither human nor json`);
  const logLevel = str('log-level') ?? 'info';
  if (!['error', 'warn', 'info', 'debug'].includes(logLevel)) problems.push(`--log-level: "${logLevel}" is not one of error, warn, info, debug`);
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  const color = values['no-color'] !== true && !io.env.NO_COLOR && (Boolean(io.env.FORCE_COLOR) || io.stdout.isTTY === true);
  return {
    request: { regionId: str('region') ?? '', originalGroupId: str('original') ?? '', targetGroupId: str('target') ?? '', mode: modeText as RestoreMode },
    output: output === 'json' ? 'json' : 'table',
    ...(endpoint !== undefined && { endpoint }),
    timeoutMs: timeoutSeconds * 1000,
    color,
    logFormat: logFormat === 'json' ? 'json' : 'human',
    logLevel,
  };
}

function hintFor(error: CloudError): string {
  if (/^(SignatureDoesNotMatch|InvalidAccessKeyId|IncompleteSignature|InvalidSecurityToken)/.test(error.code)) {
    return '\nAuthentication failed: check ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET (or your credential profile). Nothing was changed.';
  }
  if (error.code === 'CredentialsUnavailable') return '\nNo credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or configure a profile or RAM role.';
  if (error.code.startsWith('Forbidden')) return '\nThe credentials lack a RAM permission for this ECS action; see docs/ram-policy.json.';
  return '';
}

export async function main(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(`${USAGE}\n`);
    return command === undefined ? EXIT_INVALID : EXIT_OK;
  }
  if (command === 'run') return runCommand(rest, io);
  if (command === 'approve') return approveCommand(rest, io);
  if (command !== 'plan' && command !== 'apply') {
    io.stderr.write(`sgrestore: unknown command "${command}"\n\n${USAGE}\n`);
    return EXIT_INVALID;
  }

  let options: CommonOptions;
  let values: Record<string, string | boolean | undefined>;
  try {
    const parsed = parseArgs({ args: [...rest], options: OPTIONS, allowPositionals: false, strict: true });
    values = parsed.values;
    if (values.help) {
      io.stdout.write(`${USAGE}\n`);
      return EXIT_OK;
    }
    options = parseCommon(values, io);
    if (command === 'apply') {
      if (values.yes !== true && typeof values.approve !== 'string') throw new UsageError('apply needs --yes, or --approve PLANHASH with the planHash printed by `sgrestore plan`');
      if (typeof values.approve === 'string' && !/^[0-9a-f]{16}$/.test(values.approve)) throw new UsageError(`--approve: "${values.approve}" is not a planHash (16 hex characters)`);
    }
  } catch (error) {
    io.stderr.write(`sgrestore ${command}: ${(error as Error).message}\n`);
    return EXIT_INVALID;
  }

  const logger = createLogger({
    format: options.logFormat,
    level: options.logLevel,
    stream: new Writable({ write: (chunk: Buffer, _encoding, done) => { io.stderr.write(chunk.toString()); done(); } }),
  });
  const gateway: EcsGateway = (io.gatewayFactory ?? createEcsGateway)({
    regionId: options.request.regionId,
    timeoutMs: options.timeoutMs,
    ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
  });
  const out = (text: string) => io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);

  try {
    const outcome = await describeAndPlan(gateway, options.request, {
      retryHooks: { onRetry: (error, attempt, delayMs) => logger.warn('retrying ECS call', { action: error.action, attempt, delayMs, code: error.code, requestId: error.requestId }) },
    });
    if (outcome.kind === 'blocked') {
      io.stderr.write(`sgrestore ${command}: ${outcome.failure.message}\n`);
      return EXIT_INVALID;
    }
    const { plan } = outcome;
    if (command === 'plan') {
      out(options.output === 'json' ? JSON.stringify(planJson(plan), null, 2) : renderPlanTable(plan, options));
      return EXIT_OK;
    }

    if (typeof values.approve === 'string' && values.approve !== plan.planHash) {
      io.stderr.write(
        `sgrestore apply: the plan changed since it was approved (approved ${values.approve}, now ${plan.planHash}); nothing was changed. ` +
          'Run `sgrestore plan` again, review it, and approve the new planHash.\n',
      );
      return EXIT_INVALID;
    }
    if (options.output === 'table') out(renderPlanTable(plan, options));
    const progress = progressPrinter(io);
    const result = await applyPlan(gateway, plan, { applyId: randomUUID(), logger, onProgress: progress.update });
    progress.done();
    out(options.output === 'json' ? JSON.stringify(applyJson(plan, result), null, 2) : `\n${renderApplySummary(plan, result, options)}`);
    if (result.aborted) io.stderr.write(`sgrestore apply: ${result.aborted.describe()}${hintFor(result.aborted)}\n`);
    return result.complete ? EXIT_OK : EXIT_FAILURE;
  } catch (error) {
    const cloud = error instanceof CloudError ? error : undefined;
    io.stderr.write(`sgrestore ${command}: ${cloud ? cloud.describe() + hintFor(cloud) : (error as Error).stack ?? String(error)}\n`);
    return EXIT_FAILURE;
  }
}

/** A live progress line on a terminal's stderr; silent elsewhere (the per-call log lines carry the same facts). */
function progressPrinter(io: CliIo): { update: (p: ApplyProgress) => void; done: () => void } {
  if (io.stderr.isTTY !== true) return { update: () => undefined, done: () => undefined };
  let shown = false;
  return {
    update: (p) => {
      shown = true;
      io.stderr.write(`\r\x1b[2K${p.phase}: ${p.done}/${p.total}`);
    },
    done: () => {
      if (shown) io.stderr.write('\r\x1b[2K');
    },
  };
}
