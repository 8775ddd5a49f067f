import type { Logger } from '../../common/logger.js';

/**
 * Turns a child's stderr bytes into log lines. A chatty or looping program must not flood the journal, so lines
 * beyond a budget per window are counted and reported as one line; the last lines are kept for error messages.
 */
export interface StderrLinesOptions {
  logger: Logger;
  /** Fields added to every line, e.g. the pid. */
  fields?: Record<string, string | number>;
  maxLinesPerWindow?: number;
  windowMs?: number;
  tailLines?: number;
  maxLineLength?: number;
}

export class StderrLines {
  private readonly logger: Logger;
  private readonly fields: Record<string, string | number>;
  private readonly maxLinesPerWindow: number;
  private readonly windowMs: number;
  private readonly tailLines: number;
  private readonly maxLineLength: number;
  private partial = '';
  private windowStart = 0;
  private linesInWindow = 0;
  private suppressed = 0;
  private readonly recent: string[] = [];

  constructor(options: StderrLinesOptions) {
    this.logger = options.logger;
    this.fields = options.fields ?? {};
    this.maxLinesPerWindow = options.maxLinesPerWindow ?? 40;
    this.windowMs = options.windowMs ?? 10_000;
    this.tailLines = options.tailLines ?? 20;
    this.maxLineLength = options.maxLineLength ?? 500;
  }

  push(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const lines = text.split(/\r?\n|\r/);
    this.partial = lines.pop() ?? '';
    if (this.partial.length > this.maxLineLength) {
      this.line(this.partial);
      this.partial = '';
    }
    for (const line of lines) this.line(line);
  }

  /** Logs a last unterminated line (call when the stream ends). */
  flush(): void {
    if (this.partial) this.line(this.partial);
    this.partial = '';
    this.reportSuppressed();
  }

  /** The most recent lines, oldest first. */
  tail(): string[] {
    return [...this.recent];
  }

  private line(raw: string): void {
    const line = raw.trimEnd().slice(0, this.maxLineLength);
    if (!line.trim()) return;
    this.recent.push(line);
    if (this.recent.length > this.tailLines) this.recent.shift();
    const now = Date.now();
    if (now - this.windowStart >= this.windowMs) {
      this.reportSuppressed();
      this.windowStart = now;
      this.linesInWindow = 0;
    }
    if (this.linesInWindow >= this.maxLinesPerWindow) {
      this.suppressed += 1;
      return;
    }
    this.linesInWindow += 1;
    this.logger.info(line, this.fields);
  }

  private reportSuppressed(): void {
    if (this.suppressed > 0) {
      this.logger.warn('stderr lines suppressed', { ...this.fields, lines: this.suppressed });
      this.suppressed = 0;
    }
  }
}
