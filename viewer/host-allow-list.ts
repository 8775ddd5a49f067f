import net from 'node:net';
import os from 'node:os';

/** True for every loopback address (the whole of 127.0.0.0/8 and ::1) and the name `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const name = bare(host);
  if (name === 'localhost' || name === '::1' || name === '0:0:0:0:0:0:0:1') return true;
  return net.isIPv4(name) && name.startsWith('127.');
}

/** True for the addresses that mean "every interface". */
export function isWildcardHost(host: string): boolean {
  const name = bare(host);
  return name === '0.0.0.0' || name === '::' || name === '';
}

/** Where the names and addresses of this computer come from; a parameter so tests can pin them. */
export interface MachineNames {
  hostname(): string;
  addresses(): string[];
}

export const thisMachine: MachineNames = {
  hostname: () => os.hostname(),
  addresses: () => Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((entry) => entry.address)),
};

/**
 * The Host names the page answers to. A browser sends the name it resolved in the Host header, so a foreign
 * name that an attacker's DNS points at this computer (DNS rebinding) shows up there and is refused. Always
 * allowed: loopback (127.0.0.0/8, ::1, localhost) and the names given with --allow-host. When the page listens
 * beyond loopback, also the listen address and this computer's host name (with and without `.local`) and
 * addresses, read at each check since an interface may change its address while the viewer runs.
 */
export class HostAllowList {
  private readonly extra: Set<string>;
  private readonly loopbackOnly: boolean;
  private readonly listenName: string | undefined;

  constructor(listenHost: string, extra: readonly string[] = [], private readonly machine: MachineNames = thisMachine) {
    this.extra = new Set(extra.map(normalise));
    this.loopbackOnly = isLoopbackHost(listenHost);
    this.listenName = isWildcardHost(listenHost) ? undefined : normalise(listenHost);
  }

  /** `name` is a Host header's host name (no port), as `new URL()` gives it: IPv6 in brackets. */
  allows(name: string): boolean {
    const host = normalise(name);
    if (isLoopbackHost(host) || this.extra.has(host) || host === this.listenName) return true;
    if (this.loopbackOnly) return false;
    return this.machineNames().has(host);
  }

  /** For the start-up log: what a person may type in the address bar. */
  describe(): string[] {
    const names = new Set(['127.0.0.1', 'localhost', '[::1]', ...this.extra]);
    if (this.listenName) names.add(this.listenName);
    if (!this.loopbackOnly) for (const name of this.machineNames()) names.add(name.includes(':') ? `[${name}]` : name);
    return [...names];
  }

  private machineNames(): Set<string> {
    const hostname = normalise(this.machine.hostname());
    const short = hostname.split('.')[0]!;
    const names = [hostname, short, `${short}.local`, ...this.machine.addresses()];
    return new Set(names.filter((n) => n !== '').map(normalise));
  }
}

function bare(host: string): string {
  return host.replace(/^\[|\]$/g, '').toLowerCase();
}

/** Lower case, no brackets around IPv6, no trailing dot (`example.com.` is `example.com`), no zone id. */
function normalise(host: string): string {
  return bare(host).replace(/\.$/, '').replace(/%.*$/, '');
}
