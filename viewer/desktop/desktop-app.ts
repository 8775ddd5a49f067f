import type { Stoppable } from '../../common/cli-runner.js';
import type { Logger } from '../../common/logger.js';
import { ConfigError, opt } from '../../common/options.js';
import { parseListen, viewerOptions } from '../config.js';
import { isLoopbackHost } from '../host-allow-list.js';
import { parseViewerCommandLine, startViewer, viewerLogger } from '../program.js';
import { SettingsRoutes } from '../settings/settings-routes.js';
import { SETTINGS_KEYS, type DesktopSettings, type SettingsStore } from '../settings/settings-store.js';
import type { Viewer } from '../viewer.js';

/** picam-viewer.exe's options: the viewer's, with the page opened by default (a double-click has no terminal to read a URL from). */
export const exeOptions = {
  ...viewerOptions,
  open: opt.boolean({ description: `${viewerOptions.open.description} On by default in picam-viewer.exe; --no-open keeps it closed.` }, true),
};

/**
 * The viewer a double-click starts: its settings come from the settings file (SettingsStore) and the page's
 * settings form, not from options. Without a usable file it starts with no broker and opens the form; a save
 * starts the viewer again with the new settings on the same address, so the open page carries on.
 */
export class DesktopApp implements Stoppable {
  private viewer: Viewer | undefined;
  private routes: SettingsRoutes | undefined;
  /** The page's address, kept across restarts once bound. */
  private listen: string | undefined;
  private queue: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | undefined;

  constructor(private readonly store: SettingsStore, private readonly env: NodeJS.ProcessEnv, private readonly logger: Logger) {}

  /** Where the page is, once started. */
  get url(): string {
    return this.viewer?.url ?? '';
  }

  async start(): Promise<void> {
    await this.launch(true);
  }

  stop(): Promise<void> {
    this.stopping ??= this.queue.then(() => this.halt());
    return this.stopping;
  }

  /** Starts the viewer again with what the settings file now says (after the form saved it). */
  restart(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.queue = this.queue.then(async () => {
      if (this.stopping) return;
      await this.halt();
      await this.launch(false);
    });
    return this.queue;
  }

  private async halt(): Promise<void> {
    this.routes?.stop();
    await this.viewer?.stop();
    this.viewer = undefined;
  }

  private async launch(first: boolean): Promise<void> {
    const pinned = this.listen ? ['--listen', this.listen] : [];
    let problems: string[] = [];
    if (this.store.exists()) {
      try {
        await this.run(['--config', this.store.file, ...pinned], first, []);
        return;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems = error.problems;
      }
    }
    // No settings yet, or ones that cannot start: the page opens on the form, with what was wrong.
    await this.run(pinned, first, problems);
  }

  private async run(argv: string[], first: boolean, problems: string[]): Promise<void> {
    const configured = argv[0] === '--config';
    const start = parseViewerCommandLine(exeOptions, argv, this.env);
    if (!start) throw new Error('unreachable: no --help in the desktop viewer\'s own arguments');
    const values = start.parsed.values;
    const current: DesktopSettings | undefined = configured ? pickSettings(values, start.password) : undefined;
    // A page shared on the network (listen set by hand) shows the settings but cannot change them.
    const local = isLoopbackHost(parseListen(values.listen).host);
    const routes = new SettingsRoutes({ store: local ? this.store : undefined, current, problems, onSaved: () => void this.restart().catch((error: Error) => this.logger.error('could not start again with the saved settings; start picam-viewer again', { error: error.message })) });
    const config = { ...values, open: first && values.open };
    const deps = { config, logger: viewerLogger(values), password: start.password, tls: start.tls, connect: configured, extraRoutes: routes, openPath: configured ? '/' : '/settings' };
    try {
      this.viewer = await startViewer(deps);
    } catch (error) {
      // Port 8080 taken by something else: a double-click must still work, on any free port.
      const listenFromDefault = start.parsed.origin.listen === 'default';
      if (!(error instanceof ConfigError && /^--listen /.test(error.problems[0] ?? '') && listenFromDefault && first)) throw error;
      this.viewer = await startViewer({ ...deps, config: { ...config, listen: '127.0.0.1:0' } });
    }
    this.routes = routes;
    this.listen = new URL(this.viewer.url).host;
  }
}

function pickSettings(values: Record<(typeof SETTINGS_KEYS)[number], unknown>, password: string | undefined): DesktopSettings {
  const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  return { broker: String(values.broker), username: text(values.username), password, caFile: text(values.caFile), mediaDir: text(values.mediaDir) };
}
