/**
 * A small structured logger: one line per event, `level component message key=value...`, to stderr so
 * stdout stays free for data. Quiet by default (info). Under systemd the journal adds time stamps, so
 * lines carry none unless asked (`timestamps`).
 */

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, string | number | boolean | undefined | null>;

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  child(component: string): Logger;
  enabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  level: LogLevel;
  component: string;
  timestamps?: boolean;
  write?: (line: string) => void;
}

const rank = (level: LogLevel): number => LOG_LEVELS.indexOf(level);

function formatValue(value: string | number | boolean): string {
  const text = String(value);
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const max = rank(options.level);
  const log = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (rank(level) > max) return;
    let line = `${level.padEnd(5)} ${options.component}: ${message}`;
    if (fields) {
      for (const [key, value] of Object.entries(fields)) {
        if (value !== undefined && value !== null) line += ` ${key}=${formatValue(value)}`;
      }
    }
    write(options.timestamps ? `${new Date().toISOString()} ${line}` : line);
  };
  return {
    error: (m, f) => log('error', m, f),
    warn: (m, f) => log('warn', m, f),
    info: (m, f) => log('info', m, f),
    debug: (m, f) => log('debug', m, f),
    child: (component) => createLogger({ ...options, write, component: `${options.component}/${component}` }),
    enabled: (level) => rank(level) <= max,
  };
}

export const silentLogger: Logger = createLogger({ level: 'error', component: 'silent', write: () => {} });
