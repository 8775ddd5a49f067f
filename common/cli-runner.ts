import { ConfigError, helpText, parseOptions, type HelpPage, type OptionTable, type ParsedCommandLine } from './options.js';
import { refusePasswordInFlagUrl, refusePasswordWithoutUsername, resolvePassword } from './password.js';
import { loadTlsFiles, type TlsFileOptions, type TlsMaterial } from './tls-files.js';
import { packageVersion } from './version.js';

/** Exit codes shared by both programs; the systemd unit relies on 2 (RestartPreventExitStatus=2). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_CONFIG = 2;

export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * The process edge: turns errors into one clear line and an exit code, and stops the program once on
 * SIGINT/SIGTERM (a second signal, a second or more later, forces the exit). Windows delivers Ctrl-C as SIGINT too.
 */
export async function runCli(program: string, main: () => Promise<Stoppable | undefined>): Promise<void> {
  let running: Stoppable | undefined;
  let stopping = false;
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    // A signal within a second of the first is the same request arriving twice (Ctrl-C reaches the whole
    // process group, and a parent such as `npm run demo` forwards it too); a later one means "now".
    if (stopping && Date.now() - firstSignalAt < 1000) return;
    if (stopping) {
      process.stderr.write(`${program}: ${signal} again, exiting now\n`);
      process.exit(EXIT_FAILURE);
    }
    stopping = true;
    firstSignalAt = Date.now();
    const timer = setTimeout(() => {
      process.stderr.write(`${program}: did not stop within 10 s, exiting\n`);
      process.exit(EXIT_FAILURE);
    }, 10_000);
    timer.unref();
    void (running?.stop() ?? Promise.resolve()).then(
      () => { process.exitCode ??= EXIT_OK; },
      (error: Error) => { process.stderr.write(`${program}: error while stopping: ${error.message}\n`); process.exitCode = EXIT_FAILURE; },
    ).finally(() => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      clearTimeout(timer);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    running = await main();
    if (!running) {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    } else if (stopping) {
      await running.stop();
    }
  } catch (error) {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    if (error instanceof ConfigError) {
      for (const problem of error.problems) process.stderr.write(`${program}: config error: ${problem}\n`);
      process.exitCode = EXIT_CONFIG;
    } else {
      process.stderr.write(`${program}: ${(error as Error).message}\n`);
      process.exitCode = EXIT_FAILURE;
    }
    await running?.stop().catch(() => undefined);
  }
}

/** What a broker client program (agent, viewer) needs to know about itself for its command line. */
export interface ProgramDescription<S extends OptionTable> {
  program: string;
  table: S;
  envPrefix: string;
  help: HelpPage;
}

/** Options every broker client has (common/broker-account-options.ts plus --broker). */
interface BrokerClientValues extends TlsFileOptions {
  username?: string;
  password?: string;
  passwordFile?: string;
}

export interface BrokerClientStart<S extends OptionTable> {
  parsed: ParsedCommandLine<S>;
  /** From the environment, the config file or passwordFile; never a flag. */
  password: string | undefined;
  tls: TlsMaterial | undefined;
}

/**
 * The start both programs share: parse flags, environment and config file; answer --help and --version
 * (undefined: nothing to run); refuse a password in a --broker URL, or one without a user name; read the
 * password and the TLS files.
 * Every problem is a ConfigError, which runCli turns into one line and exit code 2.
 */
export function startBrokerClient<S extends OptionTable>(description: ProgramDescription<S>, argv: readonly string[], env: NodeJS.ProcessEnv): BrokerClientStart<S> | undefined {
  const { program, table, envPrefix } = description;
  const parsed = parseOptions(table, { argv, env, envPrefix });
  if (parsed.help) { process.stdout.write(helpText(table, description.help, program, envPrefix)); return undefined; }
  if (parsed.version) { process.stdout.write(`${program} ${packageVersion()}\n`); return undefined; }
  const values = parsed.values as unknown as BrokerClientValues;
  refusePasswordInFlagUrl(values.broker, parsed.origin.broker ?? 'default', `${envPrefix}PASSWORD`);
  const password = resolvePassword(values.password, values.passwordFile);
  refusePasswordWithoutUsername(password, values.username, values.broker, envPrefix);
  return { parsed, password, tls: loadTlsFiles(values) };
}
