/// <reference lib="dom" />
// The desktop viewer's settings, in two places: on the settings page (/settings) it drives the form; on the
// cameras page it adds a Settings button, and opens the form on a first start (no settings saved yet). It
// reads and writes /api/settings only; a viewer without that route (started with options) shows no button.

interface SettingsView {
  editable: boolean;
  configured: boolean;
  file?: string;
  values: { broker: string; username?: string; caFile?: string; mediaDir?: string };
  hasPassword: boolean;
  problems: string[];
  suggestedMediaDir: string;
}

async function loadSettings(): Promise<SettingsView | undefined> {
  try {
    const response = await fetch('/api/settings', { cache: 'no-store' });
    return response.ok ? ((await response.json()) as SettingsView) : undefined;
  } catch {
    return undefined;
  }
}

const TLS_URL = /^(mqtts|wss):/i;

function field(form: HTMLFormElement, name: string): HTMLInputElement {
  return form.elements.namedItem(name) as HTMLInputElement;
}

function showTlsRow(form: HTMLFormElement): void {
  const tls = TLS_URL.test(field(form, 'broker').value.trim());
  document.getElementById('ca-row')!.hidden = !tls;
  document.getElementById('ca-hint')!.hidden = !tls;
}

function showProblems(lines: string[]): void {
  const box = document.getElementById('settings-problems')!;
  box.hidden = lines.length === 0;
  box.textContent = lines.join('\n');
}

/** After a save the viewer starts again on the same address: wait for it, then show the cameras. */
async function waitForRestart(status: HTMLElement): Promise<void> {
  for (let i = 0; i < 60; i++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const view = await loadSettings();
    if (view?.configured) {
      location.assign('/');
      return;
    }
    if (view && view.problems.length > 0) {
      status.textContent = '';
      showProblems(view.problems);
      return;
    }
  }
  status.textContent = 'The viewer did not come back; look at its console window.';
}

async function settingsPage(form: HTMLFormElement): Promise<void> {
  const view = await loadSettings();
  const status = document.getElementById('settings-status')!;
  if (!view) {
    status.textContent = 'This viewer has no settings form (it was started from a command line).';
    form.querySelector('button')!.disabled = true;
    return;
  }
  document.getElementById('back')!.hidden = !view.configured;
  document.getElementById('settings-intro')!.hidden = view.configured;
  field(form, 'broker').value = view.values.broker;
  field(form, 'username').value = view.values.username ?? '';
  field(form, 'password').placeholder = view.hasPassword ? '(saved; type to change)' : '';
  field(form, 'caFile').value = view.values.caFile ?? '';
  field(form, 'mediaDir').value = view.values.mediaDir ?? (view.configured ? '' : view.suggestedMediaDir);
  document.getElementById('file-hint')!.textContent = view.file ? `Saved in ${view.file}, readable by you only.` : '';
  showProblems(view.problems);
  showTlsRow(form);
  field(form, 'broker').addEventListener('input', () => showTlsRow(form));
  if (!view.editable) {
    status.textContent = 'These settings can be changed only on the computer the viewer runs on (its page is shared on the network).';
    form.querySelector('button')!.disabled = true;
    return;
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const body: Record<string, string> = {};
    for (const name of ['broker', 'username', 'password', 'caFile', 'mediaDir']) body[name] = field(form, name).value;
    if (!TLS_URL.test(body.broker!.trim())) body.caFile = '';
    status.textContent = 'Saving…';
    showProblems([]);
    void fetch('/api/settings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      .then(async (response) => {
        const answer = (await response.json()) as { error?: string; saved?: string };
        if (!response.ok) {
          status.textContent = '';
          showProblems([answer.error ?? `error ${response.status}`]);
          return;
        }
        status.textContent = `Saved in ${answer.saved}. Connecting…`;
        await waitForRestart(status);
      })
      .catch(() => { status.textContent = 'The viewer did not answer; is it still running?'; });
  });
}

async function camerasPage(): Promise<void> {
  const view = await loadSettings();
  if (!view) return;
  if (view.editable && !view.configured) {
    location.assign('/settings');
    return;
  }
  const button = document.createElement('button');
  button.type = 'button';
  button.id = 'settings';
  button.textContent = '⚙ Settings';
  button.title = view.editable ? 'Broker, user, password, folder' : 'The settings this viewer was started with';
  button.addEventListener('click', () => location.assign('/settings'));
  document.querySelector('header h1')?.after(button);
}

const form = document.getElementById('settings-form') as HTMLFormElement | null;
void (form ? settingsPage(form) : camerasPage());
export {};
