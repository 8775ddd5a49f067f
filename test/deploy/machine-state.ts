import type { NspawnHost } from './nspawn-host.js';

/**
 * What a deploy leaves on a host, as sorted lines that two hosts can be compared by: every file and folder the
 * roles write (path, type, mode, owner, link target; content hash for files), the agent's user and groups, the
 * units' states and the packages. Secrets differ from host to host by design: of those only the owner and mode
 * count, and of Mosquitto's password file the user names. The credentials folder install.sh keeps on the Pi is
 * left out (a remote deploy keeps it on the desktop).
 */
const STATE_SCRIPT = String.raw`
set -u
paths="/etc/picam /etc/mosquitto /etc/systemd/system/picam-agent.service /etc/udev/rules.d/60-picam-camera.rules /opt/picam-mqtt"
secret='^/etc/picam/broker.password$|^/etc/mosquitto/picam.passwd$|^/etc/mosquitto/picam.passwd.stamp$'
find $paths -printf 'entry %p %y %m %u:%g %l\n' 2>&1
find $paths -path /opt/picam-mqtt -prune -o -type f -print 2>/dev/null | grep -Ev "$secret" | xargs -r sha256sum | sed 's/^/sha256 /'
for f in /etc/picam/broker.password /etc/mosquitto/picam.passwd.stamp; do [ -s "$f" ] && echo "non-empty $f"; done
cut -d: -f1 /etc/mosquitto/picam.passwd | sort | sed 's/^/broker-user /'
getent passwd picam | cut -d: -f1,5,6,7 | sed 's/^/passwd /'
echo "groups $(id -nG picam)"
for unit in picam-agent mosquitto; do echo "unit $unit $(systemctl is-enabled $unit) $(systemctl is-active $unit)"; done
dpkg-query -W -f='package ${'${Package} ${db:Status-Abbrev}'}\n' nodejs mosquitto mosquitto-clients procps ca-certificates 2>&1
`;

export async function machineState(host: NspawnHost): Promise<string[]> {
  const result = await host.sh(STATE_SCRIPT);
  return result.stdout.split('\n').filter(Boolean).sort();
}

/** Lines only on one side, for a readable assertion message. */
export function stateDiff(a: string[], b: string[]): { onlyFirst: string[]; onlySecond: string[] } {
  const inA = new Set(a);
  const inB = new Set(b);
  return { onlyFirst: a.filter((l) => !inB.has(l)), onlySecond: b.filter((l) => !inA.has(l)) };
}
