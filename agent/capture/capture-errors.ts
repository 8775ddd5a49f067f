/** Errors of the capture layer. Each carries what a user needs to act on it. */

/** A camera program could not be started or kept running. */
export class CameraProcessError extends Error {
  readonly command: string;
  /** The last lines the program wrote to stderr, oldest first. */
  readonly stderrTail: string[];
  constructor(message: string, command: string, stderrTail: string[] = [], options?: { cause?: unknown }) {
    const tail = stderrTail.length > 0 ? ` (last output: ${stderrTail.slice(-3).join(' | ')})` : '';
    super(`${message}${tail}`, options);
    this.name = 'CameraProcessError';
    this.command = command;
    this.stderrTail = stderrTail;
  }
}

/** `--source auto` found nothing to capture from. */
export class NoCameraError extends Error {
  /** One line per backend: what was checked and why it was not used. */
  readonly checked: string[];
  constructor(checked: string[]) {
    super(
      `no camera found (${checked.join('; ')}). Connect a camera and check the service user's permissions ` +
        `(video group, /dev/dma_heap), choose a source with --source rpicam|raspistill|v4l2[:DEVICE], ` +
        `or use --source synthetic for a test pattern.`,
    );
    this.name = 'NoCameraError';
    this.checked = checked;
  }
}

/** A setting the chosen backend cannot do; `field` is the setting's name (as in the config file). The agent's CLI says `--field: problem`. */
export class UnsupportedSetting extends Error {
  readonly code = 'UNSUPPORTED_SETTING';
  constructor(readonly field: string, readonly problem: string) {
    super(`${field}: ${problem}`);
    this.name = 'UnsupportedSetting';
  }
}

/** A source name that names no backend, or names one without the argument it needs. */
export class UnknownSource extends Error {
  readonly code = 'UNKNOWN_SOURCE';
  constructor(readonly spec: string, readonly forms: readonly string[]) {
    super(`unknown source '${spec}'; use one of ${forms.join(', ')}`);
    this.name = 'UnknownSource';
  }
}
