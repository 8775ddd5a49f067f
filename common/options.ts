import { readConfigFile } from './config-file.js';
import { redactUrl } from './redact-url.js';

/**
 * One declarative table of options per program. From it come the typed values, the defaults, the
 * validation with errors that name the field, the `--help` text and the README reference table.
 * Precedence: flag > environment > config file > default.
 */

export interface OptionSpec<T> {
  kind: 'string' | 'integer' | 'number' | 'boolean' | 'enum' | 'list';
  description: string;
  default: T;
  /** Allowed values (enum). */
  values?: readonly string[];
  min?: number;
  max?: number;
  pattern?: RegExp;
  /** What the pattern means, for the error message. */
  patternHint?: string;
  /** Placeholder shown in help, e.g. URL or DIR. */
  arg?: string;
  /** Secrets are never accepted as flags (they would show in `ps`) and never printed. */
  secret?: boolean;
  /** How to show the default in help and docs when the value depends on the machine (e.g. "host name"). */
  defaultText?: string;
  /** Extra check after type conversion; returns an error text or undefined. */
  check?: (value: T) => string | undefined;
}

export type OptionTable = Record<string, OptionSpec<any>>;
export type OptionValues<S extends OptionTable> = { [K in keyof S]: S[K] extends OptionSpec<infer T> ? T : never };

type Base<T> = Omit<OptionSpec<T>, 'kind' | 'default'>;
export const opt = {
  string: (d: Base<string>, def: string): OptionSpec<string> => ({ kind: 'string', ...d, default: def }),
  optionalString: (d: Base<string | undefined>): OptionSpec<string | undefined> => ({ kind: 'string', ...d, default: undefined }),
  integer: (d: Base<number>, def: number): OptionSpec<number> => ({ kind: 'integer', ...d, default: def }),
  number: (d: Base<number>, def: number): OptionSpec<number> => ({ kind: 'number', ...d, default: def }),
  boolean: (d: Base<boolean>, def: boolean): OptionSpec<boolean> => ({ kind: 'boolean', ...d, default: def }),
  enum: <V extends string>(d: Base<V> & { values: readonly V[] }, def: V): OptionSpec<V> => ({ kind: 'enum', ...d, default: def }),
  list: (d: Base<string[]>, def: string[] = []): OptionSpec<string[]> => ({ kind: 'list', ...d, default: def }),
};

/** A configuration problem: names the field, what was wrong and how to fix it. Exit code 2 at the CLI. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(problems.join('; '));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export const flagName = (key: string): string => '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
export const envName = (envPrefix: string, key: string): string => envPrefix + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();

export interface ParseInput {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  /** Prefix of environment variables, e.g. `PICAM_`. */
  envPrefix: string;
}

export interface ParsedCommandLine<S extends OptionTable> {
  values: OptionValues<S>;
  /** Which layer set each option, for the start-up log. */
  origin: Record<keyof S, 'flag' | 'env' | 'file' | 'default'>;
  configFile?: string;
  help: boolean;
  version: boolean;
}

/**
 * Parses flags, environment and the config file named by `--config` (or `<envPrefix>CONFIG`). Collects every
 * problem and throws one ConfigError listing all of them, so a user fixes the whole file in one go.
 */
export function parseOptions<S extends OptionTable>(table: S, input: ParseInput): ParsedCommandLine<S> {
  const problems: string[] = [];
  const byFlag = new Map(Object.keys(table).map((key) => [flagName(key), key]));
  const fromFlags = new Map<string, unknown>();
  let help = false;
  let version = false;
  let configFile: string | undefined = input.env[input.envPrefix + 'CONFIG'] || undefined;

  const argv = [...input.argv];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--help' || token === '-h') { help = true; continue; }
    if (token === '--version' || token === '-V') { version = true; continue; }
    if (!token.startsWith('--')) { problems.push(`unexpected argument "${redactUrl(token)}": options start with --, see --help`); continue; }
    const eq = token.indexOf('=');
    let flag = eq > 0 ? token.slice(0, eq) : token;
    let inline = eq > 0 ? token.slice(eq + 1) : undefined;
    let negated = false;
    if (!byFlag.has(flag) && flag.startsWith('--no-') && table[byFlag.get('--' + flag.slice(5)) ?? '']?.kind === 'boolean') {
      flag = '--' + flag.slice(5);
      negated = true;
    }
    if (flag === '--config') {
      const value = inline ?? argv[++i];
      if (value === undefined) problems.push('--config needs a file path');
      else configFile = value;
      continue;
    }
    const key = byFlag.get(flag);
    if (!key) {
      problems.push(`unknown option ${flag}: see --help for the list`);
      if (inline === undefined && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) i++; // its value
      continue;
    }
    const spec = table[key]!;
    if (spec.secret) {
      problems.push(`${flag} cannot be given on the command line (it would show in ps): use ${envName(input.envPrefix, key)} or the config file`);
      if (inline === undefined && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) i++;
      continue;
    }
    if (spec.kind === 'boolean') {
      if (negated) fromFlags.set(key, false);
      else if (inline !== undefined) fromFlags.set(key, inline);
      else fromFlags.set(key, true);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) {
      problems.push(`${flag} needs a value${spec.arg ? ` (${spec.arg})` : ''}`);
      if (value !== undefined) i--;
      continue;
    }
    if (spec.kind === 'list') fromFlags.set(key, [...((fromFlags.get(key) as string[] | undefined) ?? []), ...splitList(value)]);
    else fromFlags.set(key, value);
  }

  let fromFile: Record<string, unknown> = {};
  if (configFile && !help && !version) {
    try {
      fromFile = readConfigFile(configFile, Object.keys(table));
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  for (const key of Object.keys(fromFile)) {
    if (!(key in table)) problems.push(`config file ${configFile}: unknown key "${key}"${suggest(key, Object.keys(table))}`);
  }

  const values: Record<string, unknown> = {};
  const origin: Record<string, 'flag' | 'env' | 'file' | 'default'> = {};
  for (const [key, spec] of Object.entries(table)) {
    const envKey = envName(input.envPrefix, key);
    let raw: unknown;
    let where: string;
    if (fromFlags.has(key)) { raw = fromFlags.get(key); where = flagName(key); origin[key] = 'flag'; }
    else if (input.env[envKey] !== undefined && input.env[envKey] !== '') { raw = input.env[envKey]; where = envKey; origin[key] = 'env'; }
    else if (fromFile[key] !== undefined) { raw = fromFile[key]; where = `"${key}" in ${configFile}`; origin[key] = 'file'; }
    else { values[key] = spec.default; origin[key] = 'default'; continue; }
    const converted = convert(spec, raw);
    if (typeof converted === 'object' && converted !== null && 'problem' in converted) {
      problems.push(`${where}: ${converted.problem}`);
      values[key] = spec.default;
    } else {
      values[key] = converted;
      const extra = spec.check?.(converted);
      if (extra) problems.push(`${where}: ${extra}`);
    }
  }
  if (problems.length > 0 && !help && !version) throw new ConfigError(problems);
  return { values: values as OptionValues<S>, origin: origin as Record<keyof S, 'flag' | 'env' | 'file' | 'default'>, configFile, help, version };
}

function splitList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

type Converted = unknown | { problem: string };

function convert(spec: OptionSpec<unknown>, raw: unknown): Converted {
  // A URL's password is masked even in a value that fails its check (a broker URL with a typo).
  const shown = spec.secret ? 'a value that is not shown (secret)' : typeof raw === 'string' ? `"${redactUrl(raw)}"` : JSON.stringify(raw);
  switch (spec.kind) {
    case 'string': {
      if (typeof raw !== 'string' && typeof raw !== 'number') return { problem: `expected text, got ${shown}` };
      const value = String(raw);
      if (spec.pattern && !spec.pattern.test(value)) return { problem: `${spec.secret ? 'the value' : shown} is not ${spec.patternHint ?? `matching ${spec.pattern}`}` };
      return value;
    }
    case 'enum': {
      if (typeof raw !== 'string' || !spec.values!.includes(raw)) return { problem: `${shown} is not allowed; use one of ${spec.values!.join(', ')}` };
      return raw;
    }
    case 'integer':
    case 'number': {
      const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(value) || (spec.kind === 'integer' && !Number.isInteger(value))) {
        return { problem: `expected ${spec.kind === 'integer' ? 'a whole number' : 'a number'}, got ${shown}` };
      }
      if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) {
        return { problem: `${value} is out of range; use ${spec.min ?? '-∞'} to ${spec.max ?? '∞'}` };
      }
      return value;
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string' && /^(true|1|yes|on)$/i.test(raw)) return true;
      if (typeof raw === 'string' && /^(false|0|no|off)$/i.test(raw)) return false;
      return { problem: `expected true or false, got ${shown}` };
    }
    case 'list': {
      if (typeof raw === 'string') return splitList(raw);
      if (Array.isArray(raw) && raw.every((v) => typeof v === 'string')) return raw as string[];
      return { problem: `expected a list of text values, got ${shown}` };
    }
  }
}

function suggest(key: string, known: string[]): string {
  const lower = key.toLowerCase().replace(/[-_]/g, '');
  const match = known.find((k) => k.toLowerCase() === lower);
  return match ? ` (did you mean "${match}"?)` : '; see --help for the list';
}

/** What --help says around the option list. */
export interface HelpPage {
  /** One line: the program and what it does. */
  title: string;
  /** Command lines (arguments after the program name) shown first, so a reader can copy one and go. */
  examples: readonly (readonly string[])[];
  /** The usage line. */
  usage: string;
  footer?: string;
}

/** Quotes an argument for a POSIX shell or PowerShell only where it needs it (both take '...'). */
export function shellWord(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The --help text: title, examples, usage line, then each option with its flag, environment variable and default. */
export function helpText<S extends OptionTable>(table: S, page: HelpPage, program: string, envPrefix: string): string {
  const lines = [page.title, '', 'Examples:', ...page.examples.map((argv) => `  ${program} ${argv.map(shellWord).join(' ')}`), ''];
  lines.push(page.usage, '', 'Options (flag > environment > config file > default):', '');
  lines.push(`  --config FILE`, `      Read options from a YAML or JSON file (keys as in the table below). Env: ${envPrefix}CONFIG`);
  for (const [key, spec] of Object.entries(table)) {
    const arg = spec.kind === 'boolean' ? '' : ` ${spec.arg ?? (spec.kind === 'enum' ? spec.values!.join('|') : spec.kind.toUpperCase())}`;
    const flag = spec.secret ? `(no flag)` : `${flagName(key)}${arg}`;
    lines.push(`  ${flag}`);
    lines.push(`      ${spec.description}`);
    const def = spec.defaultText ?? (spec.default === undefined || (Array.isArray(spec.default) && spec.default.length === 0) ? 'none' : String(spec.default));
    lines.push(`      Env: ${envName(envPrefix, key)}   File key: ${key}   Default: ${def}`);
  }
  lines.push('', '  -h, --help       Show this help and exit', '  -V, --version    Show the version and exit');
  if (page.footer) lines.push('', page.footer);
  return lines.join('\n') + '\n';
}

/** The reference table in docs/OPTIONS.md (Markdown) for an option table. */
export function markdownTable<S extends OptionTable>(table: S, envPrefix: string): string {
  const rows = ['| Option (file key) | Flag | Environment | Default | Meaning |', '|---|---|---|---|---|'];
  for (const [key, spec] of Object.entries(table)) {
    const def = spec.defaultText ?? (spec.default === undefined || (Array.isArray(spec.default) && spec.default.length === 0) ? '—' : `\`${String(spec.default)}\``);
    const allowed = spec.values ? ` One of: ${spec.values.map((v: string) => `\`${v}\``).join(', ')}.` : spec.min !== undefined || spec.max !== undefined ? ` Range ${spec.min ?? ''}–${spec.max ?? ''}.` : '';
    const meaning = `${spec.description}${allowed}`.replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '\\|');
    rows.push(`| \`${key}\` | ${spec.secret ? '(none: secret)' : `\`${flagName(key)}\``} | \`${envName(envPrefix, key)}\` | ${def} | ${meaning} |`);
  }
  return rows.join('\n') + '\n';
}
