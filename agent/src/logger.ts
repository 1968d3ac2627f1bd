/**
 * One line per event: `2025-01-02T03:04:05.678Z info link connected relay=https://r agent=a1`.
 * Callers never pass secrets; as a second line of defence, fields whose name mentions a token
 * or credential are masked.
 */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
}

const SECRET_KEY = /token|credential|secret|password|authorization/i;

export function parseLogLevel(value: string): LogLevel {
  if ((LOG_LEVELS as readonly string[]).includes(value)) return value as LogLevel;
  throw new Error(`log level must be one of ${LOG_LEVELS.join(', ')}, got "${value}"`);
}

export function formatFields(fields: LogFields | undefined): string {
  if (!fields) return '';
  let out = '';
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    const shown = SECRET_KEY.test(k) ? '[redacted]' : String(v);
    out += ` ${k}=${/[\s"=]/.test(shown) || shown === '' ? JSON.stringify(shown) : shown}`;
  }
  return out;
}

export function createLogger(level: LogLevel, write: (line: string) => void, now: () => Date = () => new Date()): Logger {
  const rank = LOG_LEVELS.indexOf(level);
  const at = (l: LogLevel) => (message: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(l) > rank) return;
    write(`${now().toISOString()} ${l} ${message.replace(/\n/g, ' ')}${formatFields(fields)}\n`);
  };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

export const silentLogger: Logger = { error() {}, warn() {}, info() {}, debug() {} };
