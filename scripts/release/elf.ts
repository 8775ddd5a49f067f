/** Just enough ELF reading to tell which machine a native file was built for. */

export interface ElfInfo {
  machine: number;
  bits: 32 | 64;
  /** e_flags; for ARM it carries the float ABI. */
  flags: number;
}

/** EF_ARM_ABI_FLOAT_HARD: the file passes floats in VFP registers (Debian armhf, Raspberry Pi OS). */
export const EF_ARM_ABI_FLOAT_HARD = 0x400;

export function readElf(head: Uint8Array): ElfInfo | undefined {
  if (head.length < 52 || head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return undefined;
  const bits = head[4] === 2 ? 64 : head[4] === 1 ? 32 : undefined;
  const little = head[5] === 1;
  if (!bits) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const machine = view.getUint16(18, little);
  const flagsAt = bits === 64 ? 48 : 36;
  return { machine, bits, flags: view.getUint32(flagsAt, little) };
}

export function machineName(machine: number): string {
  switch (machine) {
    case 40: return 'arm';
    case 62: return 'x86-64';
    case 183: return 'aarch64';
    case 3: return 'i386';
    default: return `machine ${machine}`;
  }
}
