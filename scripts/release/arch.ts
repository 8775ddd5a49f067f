/**
 * The architectures a release is built for, and how each one is named by the tools that care:
 * npm's `--cpu`, Debian's architecture, the ELF machine of native code, and the qemu that emulates it.
 */

export const RELEASE_ARCHES = ['arm64', 'armhf', 'x64'] as const;
export type ReleaseArch = (typeof RELEASE_ARCHES)[number];

export interface ArchInfo {
  arch: ReleaseArch;
  /** `process.arch` on that machine, and npm's `--cpu` value. */
  nodeArch: 'arm64' | 'arm' | 'x64';
  debianArch: 'arm64' | 'armhf' | 'amd64';
  /** ELF e_machine of native code that can run there. */
  elfMachine: number;
  /** Who runs this release. */
  machines: string;
  /** qemu user-mode emulator and the CPU model closest to the smallest Pi of that kind; none for x64. */
  qemu?: { binary: string; cpu: string };
}

export const EM_ARM = 40;
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;

const TABLE: Record<ReleaseArch, ArchInfo> = {
  arm64: {
    arch: 'arm64', nodeArch: 'arm64', debianArch: 'arm64', elfMachine: EM_AARCH64,
    machines: 'Raspberry Pi 3, 4, 5, Zero 2 W with 64-bit Raspberry Pi OS',
    qemu: { binary: 'qemu-aarch64-static', cpu: 'cortex-a72' },
  },
  armhf: {
    arch: 'armhf', nodeArch: 'arm', debianArch: 'armhf', elfMachine: EM_ARM,
    machines: 'Raspberry Pi 2, 3, 4, 5, Zero 2 W with 32-bit Raspberry Pi OS (ARMv7; not Pi 1 or Zero)',
    // Cortex-A7 is the Pi 2's core: the oldest ARMv7 a 32-bit release is meant to run on.
    qemu: { binary: 'qemu-arm-static', cpu: 'cortex-a7' },
  },
  x64: {
    arch: 'x64', nodeArch: 'x64', debianArch: 'amd64', elfMachine: EM_X86_64,
    machines: 'x86-64 Linux hosts (viewer machines, CI)',
  },
};

export class UnknownArchError extends Error {
  constructor(readonly given: string) {
    super(`unknown architecture "${given}": use one of ${RELEASE_ARCHES.join(', ')}`);
    this.name = 'UnknownArchError';
  }
}

export function archInfo(arch: string): ArchInfo {
  if (!(RELEASE_ARCHES as readonly string[]).includes(arch)) throw new UnknownArchError(arch);
  return TABLE[arch as ReleaseArch];
}
