import { ConfigError, helpText, parseOptions, type OptionTable, type OptionValues } from '../common/options.js';

/**
 * A benchmark's command line: its options, or the exit code when there is nothing to run (`--help` printed:
 * 0; bad options, each printed as one line: 2).
 */
export function benchCommandLine<S extends OptionTable>(table: S, name: string, envPrefix: string): OptionValues<S> | number {
  try {
    const parsed = parseOptions(table, { argv: process.argv.slice(2), env: process.env, envPrefix });
    if (!parsed.help) return parsed.values;
    process.stdout.write(helpText(table, { title: `picam ${name}: a benchmark`, examples: [[], ['--quick']], usage: `Usage: npm run ${name} [-- --quick] [options]` }, `npm run ${name} --`, envPrefix));
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) process.stderr.write(`picam ${name}: ${problem}\n`);
    return 2;
  }
}
