import type { Logger } from './logger.js';

/**
 * Subscribers to one kind of event. A subscriber that throws is logged and the others still hear the event:
 * a feature's bug must not stop the frame's way.
 */
export class Listeners<Args extends unknown[]> {
  private readonly listeners = new Set<(...args: Args) => void>();

  constructor(private readonly logger: Logger, private readonly what: string) {}

  /** Returns the unsubscribe function. */
  add(listener: (...args: Args) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  emit(...args: Args): void {
    for (const listener of this.listeners) {
      try {
        listener(...args);
      } catch (error) {
        this.logger.error(`${this.what} failed`, { error: (error as Error).message });
      }
    }
  }
}
