// Types for the `systemd-notify` npm package (plain CommonJS, ships none). It spawns the systemd-notify
// binary with --ready/--status/--pid and settles when that process exits: rejects with an Error when the
// binary cannot be spawned, or with the binary's stderr text (a string) when it exits non-zero.
declare module 'systemd-notify' {
  import type { ChildProcess } from 'node:child_process';
  export interface SystemdNotifyOptions {
    ready?: boolean;
    status?: string;
    pid?: number;
    booted?: boolean;
  }
  function notify(options?: SystemdNotifyOptions): Promise<ChildProcess>;
  export default notify;
}
