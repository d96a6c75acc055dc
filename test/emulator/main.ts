// Standalone ECS emulator: `npm run emulator -- --seed test/fixtures/demo.yaml [--port 18080] ...`.
import { parseArgs } from 'node:util';
import { EcsEmulator, SeedError } from './server.ts';
import type { CallRecord, FaultOptions } from './server.ts';

const USAGE = `usage: npm run emulator -- --seed FILE.yaml [options]

  --seed FILE                      seed file (YAML); see docs/emulator.md
  --port N                         listen on 127.0.0.1:N (default 18080; 0 = a free port)
  --page-cap N                     DescribeSecurityGroupAttribute serves at most N rules per page
  --identity-includes-priority     rules differing only in Priority are distinct rules
  --latency-ms N                   delay every response by N ms
  --throttle-every-nth-mutating N  every Nth Authorize/Revoke/Modify → 400 Throttling.User
  --error-every-nth-call N         every Nth call → 503 ServiceUnavailable
  --drop-every-nth-call N          every Nth call → connection dropped, nothing applied
  --apply-then-drop-every-nth-mutating N
                                   every Nth mutating call is applied, then its connection dropped
  --rate-limit N                   at most N calls per second, beyond it 400 Throttling.User
  --log-calls                      print one line per call on stderr
  -h, --help                       this help
`;

function positiveInt(name: string, text: string | undefined, allowZero = false): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) {
    process.stderr.write(`ecs-emulator: --${name} needs ${allowZero ? 'a non-negative' : 'a positive'} integer, got "${text}"\n`);
    process.exit(2);
  }
  return n;
}

function describeCall(c: CallRecord): string {
  const outcome = c.fault ? `fault=${c.fault}` : c.replay ? 'replay' : c.code ?? 'ok';
  const group = c.params['SecurityGroupId'] ? ` ${c.params['SecurityGroupId']}` : '';
  return `#${c.seq} ${c.action || '-'}${group} → ${c.status} ${outcome}${c.changed ? ' (changed)' : ''} ${c.requestId}\n`;
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        seed: { type: 'string' },
        port: { type: 'string' },
        'page-cap': { type: 'string' },
        'identity-includes-priority': { type: 'boolean' },
        'latency-ms': { type: 'string' },
        'throttle-every-nth-mutating': { type: 'string' },
        'error-every-nth-call': { type: 'string' },
        'drop-every-nth-call': { type: 'string' },
        'apply-then-drop-every-nth-mutating': { type: 'string' },
        'rate-limit': { type: 'string' },
        'log-calls': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`ecs-emulator: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (!values.seed) {
    process.stderr.write(`ecs-emulator: --seed is required\n\n${USAGE}`);
    process.exit(2);
  }
  const faults: FaultOptions = {};
  const set = (key: keyof FaultOptions, flag: string, allowZero = false): void => {
    const n = positiveInt(flag, values[flag as keyof typeof values] as string | undefined, allowZero);
    if (n !== undefined) faults[key] = n;
  };
  set('latencyMs', 'latency-ms', true);
  set('throttleEveryNthMutating', 'throttle-every-nth-mutating');
  set('errorEveryNthCall', 'error-every-nth-call');
  set('dropEveryNthCall', 'drop-every-nth-call');
  set('applyThenDropEveryNthMutating', 'apply-then-drop-every-nth-mutating');
  set('rateLimitPerSecond', 'rate-limit');

  const pageCap = positiveInt('page-cap', values['page-cap']);
  const port = positiveInt('port', values.port, true) ?? 18080;
  let emulator: EcsEmulator;
  try {
    emulator = await EcsEmulator.start({
      port,
      identityIncludesPriority: values['identity-includes-priority'] ?? false,
      faults,
      ...(pageCap !== undefined ? { pageCap } : {}),
      ...(values['log-calls'] ? { onCall: (c: CallRecord) => process.stderr.write(describeCall(c)) } : {}),
    });
  } catch (err) {
    const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
    process.stderr.write(`ecs-emulator: cannot listen on 127.0.0.1:${port}: ${inUse ? 'the port is in use (--port 0 picks a free one)' : (err as Error).message}\n`);
    process.exit(1);
  }
  try {
    emulator.loadSeedFile(values.seed);
  } catch (err) {
    await emulator.stop();
    process.stderr.write(`ecs-emulator: ${err instanceof SeedError ? err.message : (err as Error).stack}\n`);
    process.exit(2);
  }

  const credential = emulator.credentials[0];
  const groupLines = emulator
    .listGroups()
    .map((g) => `  ${g.regionId}  ${g.id.padEnd(20)} ${g.type.padEnd(10)} ${(g.vpcId || 'classic').padEnd(10)} ${g.rules.length} rules  ${g.name}`);
  process.stdout.write(
    [
      `ECS emulator (API 2014-05-26) serving ${values.seed}`,
      ...groupLines,
      `endpoint=${emulator.url}`,
      `Use it with:`,
      `SGRESTORE_ECS_ENDPOINT=${emulator.url} ALIBABA_CLOUD_ACCESS_KEY_ID=${credential?.accessKeyId ?? ''} ALIBABA_CLOUD_ACCESS_KEY_SECRET=${credential?.accessKeySecret ?? ''}`,
      `Ctrl-C stops it.`,
      '',
    ].join('\n'),
  );

  const shutdown = (signal: string): void => {
    process.stderr.write(`ecs-emulator: ${signal}, stopping\n`);
    emulator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

await main();
