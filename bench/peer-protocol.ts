import type { ContenderName } from './contenders.js';

/** Messages between the benchmark's orchestrator and its sender/receiver processes (Node IPC). */

export type PeerRole = 'sender' | 'receiver';

export interface PeerInit {
  role: PeerRole;
  contender: ContenderName;
  brokerUrl: string;
  namespace: string;
  /** Folder of the frames (JPEG files) this peer sends or checks against. */
  frameDir: string;
  chunkSize: number;
  /** Disable Nagle's algorithm on the client socket (TCP_NODELAY). */
  noDelay: boolean;
}

/** Send as fast as back-pressure allows from startUs to windowEndUs; measure inside the window only. */
export interface ThroughputCommand {
  type: 'throughput';
  startUs: number;
  windowStartUs: number;
  windowEndUs: number;
  chunkSize?: number;
}

/** Sender: `frames` frames at `fps` from startUs. Receiver: record arrivals until endUs and then quiet. */
export interface PacedCommand {
  type: 'paced';
  startUs: number;
  fps: number;
  frames: number;
  endUs: number;
  chunkSize?: number;
}

export interface FinishCommand {
  type: 'finish';
}

export type PeerCommand = ThroughputCommand | PacedCommand | FinishCommand;
export type Request = { id: number } & PeerCommand;

export interface ThroughputResult {
  /** Frames sent (sender) or received and verified (receiver) inside the window. */
  frames: number;
  elapsedUs: number;
  cpuUs: number;
  wireBytes: number;
  /** Receiver: completed messages whose bytes matched no original frame. */
  invalid: number;
}

export interface PacedResult {
  /** [frame index, monotonic µs] per frame sent or per frame received and verified, in order. */
  events: Array<[number, number]>;
  cpuUs: number;
  wireBytes: number;
  /** JPEG bytes of the frames sent, or of the frames received and verified. */
  jpegBytes: number;
  invalid: number;
}

export interface FinishResult {
  maxRssKb: number;
}

export type Reply =
  | { type: 'ready' }
  | { type: 'result'; id: number; result: ThroughputResult | PacedResult | FinishResult }
  | { type: 'error'; id?: number; message: string };
