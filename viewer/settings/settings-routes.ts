import os from 'node:os';
import path from 'node:path';
import { ConfigError, envName } from '../../common/options.js';
import { VIEWER_ENV_PREFIX, viewerOptions } from '../config.js';
import { parseViewerCommandLine } from '../program.js';
import { HttpError, parseJsonObject, type ExtraRoutes } from '../web-server.js';
import { SETTINGS_KEYS, SettingsFileError, type DesktopSettings, type SettingsStore } from './settings-store.js';

/** The form's labels, used in place of option names in what the form is told. */
const LABELS: Record<(typeof SETTINGS_KEYS)[number], string> = {
  broker: 'Broker URL',
  username: 'User name',
  password: 'Password',
  caFile: 'CA file',
  mediaDir: 'Folder for snapshots and recordings',
};

/** What GET /api/settings answers; the page's settings module reads it. */
export interface SettingsView {
  /** False when the viewer was started with options or a config file of its own: the form cannot change those. */
  editable: boolean;
  /** A saved settings file is in use (false on the first start: the page opens the form). */
  configured: boolean;
  file?: string;
  values: Omit<DesktopSettings, 'password'>;
  hasPassword: boolean;
  /** Why the saved settings could not be used, when they could not. */
  problems: string[];
  suggestedMediaDir: string;
}

export interface SettingsRoutesOptions {
  /** Where settings are saved; undefined when the form may only show what runs. */
  store: SettingsStore | undefined;
  /** The settings in use now (undefined on the first start). */
  current: DesktopSettings | undefined;
  problems?: string[];
  /** Called once the answer to a save has been sent: the viewer starts again with the new settings. */
  onSaved: (settings: DesktopSettings) => void;
}

/** Delay between answering a save and restarting, so the answer leaves before the page server closes. */
const RESTART_AFTER_MS = 300;

/** `GET /api/settings` (what the form shows) and `POST /api/settings` (check, save, restart). */
export class SettingsRoutes implements ExtraRoutes {
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SettingsRoutesOptions) {}

  answer(method: 'GET' | 'POST', pathname: string, body: string | undefined): Promise<Record<string, unknown>> | undefined {
    if (pathname !== '/api/settings') return undefined;
    return method === 'GET' ? Promise.resolve({ ...this.view() }) : this.save(body ?? '');
  }

  /** Cancels a restart not yet begun (the viewer is stopping). */
  stop(): void {
    clearTimeout(this.restartTimer);
  }

  private view(): SettingsView {
    const { password, ...values } = this.options.current ?? { broker: '' };
    return {
      editable: this.options.store !== undefined,
      configured: this.options.current !== undefined,
      file: this.options.store?.file,
      values,
      hasPassword: password !== undefined && password !== '',
      problems: this.options.problems ?? [],
      suggestedMediaDir: path.join(os.homedir(), 'Pictures', 'picam-viewer'),
    };
  }

  private async save(body: string): Promise<Record<string, unknown>> {
    const store = this.options.store;
    if (!store) throw new HttpError(409, 'the settings can be changed only in picam-viewer.exe started without options, from a page on this computer (listen on loopback)');
    const settings = parseForm(body, this.options.current);
    checkSettings(settings);
    let restriction;
    try {
      restriction = await store.save(settings);
    } catch (error) {
      if (error instanceof SettingsFileError) throw new HttpError(500, error.message);
      throw error;
    }
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => this.options.onSaved(settings), RESTART_AFTER_MS);
    return { saved: store.file, protection: restriction.how };
  }
}

/** The form's JSON: strings only, each at most 1,024 characters; an empty password keeps the saved one. */
export function parseForm(body: string, current: DesktopSettings | undefined): DesktopSettings {
  const form = parseJsonObject(body);
  const problems: string[] = [];
  const out: Record<string, string | undefined> = {};
  for (const key of Object.keys(form)) if (!(SETTINGS_KEYS as readonly string[]).includes(key)) problems.push(`unknown field "${key.slice(0, 40)}"`);
  for (const key of SETTINGS_KEYS) {
    const v = form[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || v.length > 1024) { problems.push(`${LABELS[key]}: must be text of at most 1,024 characters`); continue; }
    // Passwords keep their spaces; names and paths do not need leading or trailing ones.
    const text = key === 'password' ? v : v.trim();
    if (text !== '') out[key] = text;
  }
  if (problems.length > 0) throw new HttpError(400, problems.join('; '));
  if (out.password === undefined && out.username !== undefined) out.password = current?.password;
  return { ...out, broker: out.broker ?? '' };
}

/**
 * The same checks as at start-up (the URL, a password needs a user name, the CA file is readable and holds a
 * certificate), so a form that saves is a form that starts. Problems are told by the form's labels.
 */
export function checkSettings(settings: DesktopSettings): void {
  if (settings.broker === '') throw new HttpError(400, `${LABELS.broker}: required, e.g. mqtt://raspberrypi.local:1883`);
  const env: NodeJS.ProcessEnv = {};
  for (const key of SETTINGS_KEYS) if (settings[key] !== undefined) env[envName(VIEWER_ENV_PREFIX, key)] = settings[key];
  try {
    parseViewerCommandLine(viewerOptions, [], env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new HttpError(400, error.problems.map(formWords).join('; '));
  }
}

function formWords(problem: string): string {
  let text = problem.replace(/ \(--[a-z-]+ or [A-Z_]+\)/g, '');
  for (const key of SETTINGS_KEYS) text = text.replaceAll(envName(VIEWER_ENV_PREFIX, key), LABELS[key]);
  for (const key of ['username', 'caFile', 'mediaDir'] as const) text = text.replace(new RegExp(`(?<![-\\w])${key}\\b`, 'g'), LABELS[key]);
  return text;
}
