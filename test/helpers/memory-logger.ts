import { createLogger, type Logger } from '../../common/logger.js';

/** A real logger whose lines are kept in memory (and printed when PICAM_TEST_LOG is set). */
export function memoryLogger(component = 'test'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    component,
    write: (line) => {
      lines.push(line);
      if (process.env.PICAM_TEST_LOG) process.stderr.write(line + '\n');
    },
  });
  return { logger, lines };
}
