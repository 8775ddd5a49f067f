import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Finds V4L2 capture devices that can give pictures through ffmpeg. A Raspberry Pi has many /dev/video* nodes
 * that are not cameras (the codec, ISP and HEVC blocks, and on the libcamera stack the raw CSI receiver, which
 * gives Bayer data only libcamera can process), and a UVC webcam has a second node for metadata. sysfs tells
 * them apart: the node's name, its driver and, for UVC, the interface index.
 */

export interface V4l2Device {
  path: string;
  /** sysfs name (the card name), when known. */
  name?: string;
  driver?: string;
  /** Why the device was skipped; undefined for a usable one. */
  skipped?: string;
}

export interface V4l2Paths {
  devDir: string;
  sysDir: string;
}

export const SYSTEM_V4L2_PATHS: V4l2Paths = { devDir: '/dev', sysDir: '/sys/class/video4linux' };

/** Pi-internal nodes: memory-to-memory codecs/ISP, and raw CSI receivers fed through libcamera. */
const NOT_A_CAMERA = /^(bcm2835-codec|bcm2835-isp|bcm2835-jpeg|rpi-hevc|rpivid|pispbe|rp1-cfe|unicam|hevc)/i;

async function readTrimmed(file: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

async function driverOf(sysNode: string): Promise<string | undefined> {
  try {
    return path.basename(await fs.readlink(path.join(sysNode, 'device', 'driver')));
  } catch {
    const uevent = await readTrimmed(path.join(sysNode, 'device', 'uevent'));
    return uevent?.match(/^DRIVER=(.+)$/m)?.[1];
  }
}

/** All /dev/video* nodes in numeric order, each either usable or with the reason it was skipped. */
export async function listV4l2Devices(paths: V4l2Paths = SYSTEM_V4L2_PATHS): Promise<V4l2Device[]> {
  let names: string[];
  try {
    names = (await fs.readdir(paths.devDir)).filter((n) => /^video\d+$/.test(n));
  } catch {
    return [];
  }
  names.sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  const devices: V4l2Device[] = [];
  for (const node of names) {
    const sysNode = path.join(paths.sysDir, node);
    const name = await readTrimmed(path.join(sysNode, 'name'));
    const driver = await driverOf(sysNode);
    const index = await readTrimmed(path.join(sysNode, 'index'));
    const device: V4l2Device = { path: path.join(paths.devDir, node), name, driver };
    if (name && NOT_A_CAMERA.test(name)) device.skipped = `${name} is not a camera`;
    else if (driver === 'uvcvideo' && index !== undefined && index !== '0') device.skipped = 'UVC metadata node';
    devices.push(device);
  }
  return devices;
}

/** Whether this process may open the device for capture; the reason when not. */
export async function checkDeviceAccess(devicePath: string): Promise<string | undefined> {
  try {
    await fs.access(devicePath, fs.constants.R_OK | fs.constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') return `no permission to open ${devicePath}: add the service user to the video group`;
    if (code === 'ENOENT') return `${devicePath} does not exist`;
    return `${devicePath}: ${(error as Error).message}`;
  }
}
