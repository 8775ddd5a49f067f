/**
 * A broker URL (or any text that may be one) fit for logs and error messages: its password shown as ***.
 * The one place both programs mask credentials, so that every message masks them the same way.
 *
 * The user information runs to the last `@` before the host, as the URL parser and MQTT.js read it, so
 * `mqtt://user:Sup3r@Secret@host` is shown as `mqtt://user:***@host`, never with part of the password.
 * Text that has no host to parse (a typo, a malformed URL) has everything up to its last `@` hidden, since
 * where a password would end there cannot be known.
 */
export function redactUrl(text: string): string {
  if (!text.includes('@')) return text; // no user information, so no password
  try {
    const url = new URL(text);
    if (url.host !== '') {
      if (url.password) url.password = '***';
      return url.toString().replace(/\/$/, '');
    }
  } catch {
    // masked below
  }
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[\s\S]*@/i, '$1***@');
}
