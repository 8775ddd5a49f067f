import type { Logger } from '../common/logger.js';
import type { ControlChanges } from '../protocol/control.js';
import { APPLIES_ALL, type AdjustableSetting, type CameraApplies, type FrameSink, type FrameSource } from './capture/frame-source.js';
import type { CaptureSettings } from './capture/registry.js';
import type { ProcessingRequest } from './processing/processing-plan.js';

/** Why a change was refused; nothing was changed. */
export class ChangeRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChangeRejected';
  }
}

const ALL_SETTINGS: readonly AdjustableSetting[] = ['fps', 'width', 'height', 'quality', 'rotation', 'hflip', 'vflip'];
/** What the processing step can do to any source's frames. */
const PROCESSED_SETTINGS: readonly AdjustableSetting[] = ['width', 'height', 'quality', 'rotation', 'hflip', 'vflip'];

/** Settings the user chose (rather than defaults); frames must then have them, see processing-plan.ts. */
export interface ExactSettings {
  size: boolean;
  quality: boolean;
}

/** Who asks for a change: only the user's own choices become exact. */
export type ChangeOrigin = 'user' | 'adaptive';

/**
 * Owns the running frame source and its settings. Changes are applied one at a time: by the processing step
 * alone when the camera program would be told nothing new, live when the source can, otherwise by stopping it
 * and starting a new one with the new settings.
 */
export class CameraControl {
  private current: CaptureSettings;
  private source: FrameSource;
  private sink: FrameSink | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly exactSettings: ExactSettings;
  restarts = 0;

  constructor(
    source: FrameSource,
    settings: CaptureSettings,
    exact: ExactSettings,
    /** Builds a source for new settings; without it, changes that need a restart are refused. */
    private readonly recreate: ((settings: CaptureSettings) => FrameSource) | undefined,
    private readonly logger: Logger,
    private readonly onChanged: () => void = () => {},
  ) {
    this.source = source;
    this.current = { ...settings };
    this.exactSettings = { ...exact };
  }

  get exact(): Readonly<ExactSettings> {
    return this.exactSettings;
  }

  /** What the running camera does itself of the settings (the processing step does the rest). */
  get applies(): CameraApplies {
    return this.source.applies ?? APPLIES_ALL;
  }

  get settings(): Readonly<CaptureSettings> {
    return this.current;
  }

  get activeSource(): FrameSource {
    return this.source;
  }

  /** What the processing step is asked to do to this camera's frames now (see processing-plan.ts). */
  processingRequest(overlay: boolean): ProcessingRequest {
    return { wanted: this.current, exact: this.exactSettings, overlay, applies: this.applies };
  }

  /** Which settings can change at all: the camera's own, and what the processing step does to any frame. */
  get adjustable(): readonly AdjustableSetting[] {
    const own = this.cameraAdjustable;
    return ALL_SETTINGS.filter((key) => own.includes(key) || PROCESSED_SETTINGS.includes(key));
  }

  /** Settings the camera itself changes (no re-encoding in the agent): what adaptive quality may use. */
  get cameraAdjustable(): readonly AdjustableSetting[] {
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
  apply(changes: ControlChanges, origin: ChangeOrigin = 'user'): Promise<{ restarted: boolean; settings: CaptureSettings }> {
    const run = this.queue.then(() => this.applyNow(changes, origin));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(changes: ControlChanges, origin: ChangeOrigin): Promise<{ restarted: boolean; settings: CaptureSettings }> {
    const wanted = Object.entries(changes).filter(([key, value]) => value !== undefined && this.current[key as AdjustableSetting] !== value);
    const refused = wanted.map(([key]) => key).filter((key) => !this.adjustable.includes(key as AdjustableSetting));
    if (refused.length > 0) {
      throw new ChangeRejected(`the ${this.source.kind} source cannot change ${refused.join(', ')} (it can change: ${this.adjustable.join(', ')})`);
    }
    if (origin === 'user') this.markExact(Object.keys(changes).filter((key) => changes[key as keyof ControlChanges] !== undefined));
    if (wanted.length === 0) return { restarted: false, settings: this.current };
    const delta = Object.fromEntries(wanted) as Partial<CaptureSettings>;
    const next: CaptureSettings = { ...this.current, ...delta };
    if (sameView(this.seenBySource(this.current), this.seenBySource(next))) {
      // The camera program would be told nothing new: the processing step alone makes the change.
      this.current = next;
      this.logger.info('picture settings changed (processing step)', delta as Record<string, number | boolean>);
      this.onChanged();
      return { restarted: false, settings: next };
    }
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

  private seenBySource(settings: CaptureSettings): Record<string, unknown> {
    return this.source.settingsSeen?.(settings) ?? { ...settings };
  }

  private markExact(keys: string[]): void {
    if (keys.includes('width') || keys.includes('height')) this.exactSettings.size = true;
    if (keys.includes('quality')) this.exactSettings.quality = true;
  }
}

function sameView(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if (a[key] !== b[key]) return false;
  return true;
}
