// winston loggers: JSON lines for the operator and machines, a short human format for the CLI. Both write to stderr
// (stdout is the CLI's output) and redact anything that looks like a secret, whatever the caller passes.

import winston from 'winston';

export type LogFormat = 'json' | 'human';

const SECRET_KEY = /secret|password|authorization|securitytoken|accesskeysecret|^token$|bearer/i;
const REDACTED = '[redacted]';

function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = SECRET_KEY.test(k) ? REDACTED : redact(v, depth + 1);
  }
  return out;
}

const redactSecrets = winston.format((info) => {
  for (const key of Object.keys(info)) {
    if (SECRET_KEY.test(key)) info[key] = REDACTED;
    else info[key] = redact(info[key]);
  }
  return info;
});

const human = winston.format.printf((info) => {
  const { level, message, timestamp: _t, ...meta } = info;
  const extras = Object.entries(meta)
    .filter(([k]) => typeof k === 'string')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${level}: ${String(message)}${extras ? ` ${extras}` : ''}`;
});

export function createLogger(options: { format: LogFormat; level?: string; silent?: boolean; stream?: NodeJS.WritableStream }): winston.Logger {
  return winston.createLogger({
    level: options.level ?? 'info',
    silent: options.silent ?? false,
    format:
      options.format === 'json'
        ? winston.format.combine(redactSecrets(), winston.format.timestamp(), winston.format.json())
        : winston.format.combine(redactSecrets(), human),
    transports: [new winston.transports.Stream({ stream: options.stream ?? process.stderr })],
  });
}

export type Logger = winston.Logger;
