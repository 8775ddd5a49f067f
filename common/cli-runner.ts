import { ConfigError } from './options.js';

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
