import fs from 'node:fs';
import path from 'node:path';
import YAML, { type Document } from 'yaml';

/**
 * Reads a YAML or JSON config file into a mapping of option names to values. Every problem is an Error
 * whose message is one line naming the file, and the key where it can be told, and never quoting the
 * file's text: the file may hold the password.
 *
 * YAML warnings count as errors. Left as warnings, `password: !Hunter2` (a tag YAML cannot resolve) would
 * be printed by the yaml library, whole line included, and run with an empty password.
 */
export function readConfigFile(file: string, knownKeys: readonly string[]): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`config file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): check the path given to --config`);
  }
  const parsed = /\.json$/i.test(path.extname(file)) ? parseJson(file, text) : parseYaml(file, text, knownKeys);
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`config file ${file} must hold a mapping of option names to values`);
  return parsed as Record<string, unknown>;
}

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    // Only the parser's first line, without its excerpt of the text.
    const reason = (error as Error).message.split('\n')[0]!.replace(/,\s*(\.\.\.)?".*$/, '').replace(/Unexpected token '.*'/, 'unexpected character');
    throw new Error(`config file ${file} is not valid JSON: ${reason}`);
  }
}

/** What each YAML problem means for someone writing a config file, where the library's own text would quote it. */
const YAML_PROBLEMS: Partial<Record<string, string>> = {
  TAG_RESOLVE_FAILED: 'a value starts with !, which YAML reads as a tag; put the value in quotes',
  BAD_ALIAS: 'a value starts with *, which YAML reads as an alias; put the value in quotes',
  DUPLICATE_KEY: 'a key is given twice; keep one',
  TAB_AS_INDENT: 'a tab indents a line; indent with spaces',
};

function parseYaml(file: string, text: string, knownKeys: readonly string[]): unknown {
  const doc = YAML.parseDocument(text);
  const first = [...doc.errors, ...doc.warnings][0] ?? unresolvedAlias(doc);
  if (first) throw new Error(yamlProblem(file, text, first.code, first.pos[0], knownKeys));
  try {
    return doc.toJS();
  } catch {
    // e.g. aliases that expand beyond the library's limit: its message may quote the file, so it is not used.
    throw new Error(`config file ${file} is not valid YAML: its anchors and aliases cannot be expanded; write the values out`);
  }
}

/** An alias without its anchor (`password: *secret`): the library reports it only while converting, quoting the name. */
function unresolvedAlias(doc: Document): { code: string; pos: [number, number] } | undefined {
  let found: { code: string; pos: [number, number] } | undefined;
  YAML.visit(doc, {
    Alias(_key, node) {
      if (node.resolve(doc) !== undefined) return undefined;
      found = { code: 'BAD_ALIAS', pos: [node.range?.[0] ?? 0, node.range?.[1] ?? 0] };
      return YAML.visit.BREAK;
    },
  });
  return found;
}

function yamlProblem(file: string, text: string, code: string, at: number, knownKeys: readonly string[]): string {
  const lineNumber = text.slice(0, at).split('\n').length;
  // The key of that line is named only when it is an option name: any other text on it could be a secret.
  const key = /^\s*["']?([A-Za-z][A-Za-z0-9]*)["']?\s*:/.exec(text.split('\n')[lineNumber - 1] ?? '')?.[1];
  const where = `line ${lineNumber}${key !== undefined && knownKeys.includes(key) ? ` ("${key}")` : ''}`;
  const what = YAML_PROBLEMS[code] ?? `${code.toLowerCase().replace(/_/g, ' ')}; check the YAML syntax there`;
  return `config file ${file} is not valid YAML at ${where}: ${what}`;
}
