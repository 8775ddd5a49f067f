import type { Logger } from '../common/logger.js';
import type { ControlChanges } from '../protocol/control.js';
import type { AdjustableSetting, FrameSink, FrameSource } from './capture/frame-source.js';
import type { CaptureSettings } from './capture/registry.js';

/** Why a change was refused; nothing was changed. */
export class ChangeRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChangeRejected';
  }
}

const ALL_SETTINGS: readonly AdjustableSetting[] = ['fps', 'width', 'height', 'quality', 'rotation', 'hflip', 'vflip'];

/**
 * Owns the running frame source and its settings. Changes are applied one at a time: live when the
 * source can, otherwise by stopping it and starting a new one with the new settings.
 */
export class CameraControl {
  private current: CaptureSettings;
  private source: FrameSource;
  private sink: FrameSink | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  restarts = 0;

  constructor(
    source: FrameSource,
    settings: CaptureSettings,
    /** Builds a source for new settings; without it, changes that need a restart are refused. */
    private readonly recreate: ((settings: CaptureSettings) => FrameSource) | undefined,
    private readonly logger: Logger,
    private readonly onChanged: () => void = () => {},
  ) {
    this.source = source;
    this.current = { ...settings };
  }

  get settings(): Readonly<CaptureSettings> {
    return this.current;
  }

  get activeSource(): FrameSource {
    return this.source;
  }

  /** Which settings this source can change at all. */
  get adjustable(): readonly AdjustableSetting[] {
    return this.source.adjustable ?? ALL_SETTINGS;
  }

  async start(sink: FrameSink): Promise<void> {
    this.sink = sink;
    await this.source.start(sink);
  }

  async stop(): Promise<void> {
    this.sink = undefined;
    await this.queue.catch(() => undefined);
    await this.source.stop();
  }

  /** Applies changes; resolves with whether the source was restarted, rejects with ChangeRejected. */
  apply(changes: ControlChanges): Promise<{ restarted: boolean; settings: CaptureSettings }> {
    const run = this.queue.then(() => this.applyNow(changes));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(changes: ControlChanges): Promise<{ restarted: boolean; settings: CaptureSettings }> {
    const wanted = Object.entries(changes).filter(([key, value]) => value !== undefined && this.current[key as AdjustableSetting] !== value);
    if (wanted.length === 0) return { restarted: false, settings: this.current };
    const refused = wanted.map(([key]) => key).filter((key) => !this.adjustable.includes(key as AdjustableSetting));
    if (refused.length > 0) {
      throw new ChangeRejected(`the ${this.source.kind} source cannot change ${refused.join(', ')} (it can change: ${this.adjustable.join(', ')})`);
    }
    const delta = Object.fromEntries(wanted) as Partial<CaptureSettings>;
    const next: CaptureSettings = { ...this.current, ...delta };
    if (this.source.update?.(delta as Partial<Record<AdjustableSetting, number | boolean>>)) {
      this.current = next;
      this.logger.info('camera settings changed live', delta as Record<string, number | boolean>);
      this.onChanged();
      return { restarted: false, settings: next };
    }
    if (!this.recreate) throw new ChangeRejected(`the ${this.source.kind} source cannot be restarted with new settings`);
    const previous = this.current;
    await this.source.stop();
    this.restarts++;
    try {
      this.source = this.recreate(next);
      if (this.sink) await this.source.start(this.sink);
    } catch (error) {
      // Put the camera back as it was, so a bad request never leaves it dark.
      this.logger.warn('camera did not start with the new settings; restoring the previous ones', { error: (error as Error).message });
      this.source = this.recreate(previous);
      if (this.sink) await this.source.start(this.sink);
      throw new ChangeRejected(`the camera did not start with the new settings: ${(error as Error).message}`);
    }
    this.current = next;
    this.logger.info('camera restarted with new settings', delta as Record<string, number | boolean>);
    this.onChanged();
    return { restarted: true, settings: next };
  }
}
