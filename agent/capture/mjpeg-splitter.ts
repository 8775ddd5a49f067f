/**
 * Cuts a byte stream of concatenated JPEG images (what `rpicam-vid --codec mjpeg -o -`, `raspistill -tl -o -` and
 * `ffmpeg -f mjpeg pipe:1` write) into whole images.
 *
 * Why not search for FF D9: an EXIF thumbnail is a complete JPEG inside the APP1 segment, so its EOI would end
 * the frame early. Instead the splitter follows the JPEG structure: from SOI it walks marker segments by their
 * length fields (skipping APPn payloads, thumbnails included) up to SOS, then scans entropy-coded data, where FF
 * is always followed by 00 (stuffing), D0-D7 (RST), FF (fill) or a real marker. A marker other than EOI after
 * a scan (DHT, SOS of a progressive image, ...) returns to segment walking.
 *
 * Speed: scanning uses Buffer.indexOf (memchr) and skips segments arithmetically; only marker bytes are looked
 * at one by one. A frame that lies inside one input chunk is handed out as a view of that chunk (no copy); a
 * frame spanning chunks is copied once, at its end.
 */

export interface MjpegSplitterOptions {
  /** Called with each complete frame (SOI .. EOI). */
  onFrame: (frame: Buffer) => void;
  /** Frames larger than this are dropped (and counted) so a broken stream cannot exhaust memory. */
  maxFrameBytes?: number;
}

export interface MjpegSplitterStats {
  /** Frames handed to onFrame. */
  frames: number;
  /** Bytes not part of any emitted frame: junk between frames and the bytes of dropped frames. */
  garbageBytes: number;
  /** Frames abandoned because their structure broke off (a truncated frame, a new SOI inside a frame, ...). */
  brokenFrames: number;
  /** Frames dropped for exceeding maxFrameBytes. */
  oversizeFrames: number;
}

export const DEFAULT_MAX_FRAME_BYTES = 32 * 1024 * 1024;

const enum State {
  /** Outside a frame, looking for FF. */
  Seek,
  /** Outside a frame, saw FF, D8 would start a frame. */
  SeekD8,
  /** In the header, a marker's FF must come next. */
  MarkerFF,
  /** In the header, saw FF, reading the marker code. */
  MarkerCode,
  LengthHigh,
  LengthLow,
  /** Skipping a segment payload. */
  Skip,
  /** In entropy-coded data, looking for FF. */
  Entropy,
  /** In entropy-coded data, saw FF. */
  EntropyFF,
}

const FF = 0xff;
const ONE_FF = Buffer.from([FF]);

export class MjpegSplitter {
  private readonly onFrame: (frame: Buffer) => void;
  private readonly maxFrameBytes: number;

  private state: State = State.Seek;
  /** Where the current segment leads once its payload is skipped. */
  private afterSegment: State = State.MarkerFF;
  private segmentRemaining = 0;
  private lengthHigh = 0;
  private sawScan = false;

  private inFrame = false;
  /** Bytes of the current frame that arrived in earlier chunks (kept in `parts` unless discarding). */
  private frameBytesBefore = 0;
  private parts: Buffer[] = [];
  /** Start of the current frame in the chunk being parsed (0 when it began in an earlier chunk). */
  private frameStart = 0;
  /** An oversize frame is still parsed, to find its true end, but its bytes are not kept. */
  private discarding = false;
  /** The FF belonging to the byte at position 0 of this chunk lay at the end of the previous chunk. */
  private ffInPreviousChunk = false;

  private readonly counters: MjpegSplitterStats = { frames: 0, garbageBytes: 0, brokenFrames: 0, oversizeFrames: 0 };

  constructor(options: MjpegSplitterOptions) {
    this.onFrame = options.onFrame;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  get stats(): Readonly<MjpegSplitterStats> {
    return { ...this.counters };
  }

  /** Bytes received but neither emitted nor counted as garbage yet (a frame in progress). */
  get pendingBytes(): number {
    if (this.inFrame) return this.frameBytesBefore;
    return this.state === State.SeekD8 ? 1 : 0;
  }

  /**
   * Forgets a partly received frame (counted as broken) and waits for a new SOI. Call when the producer changes,
   * e.g. after the camera process restarted, so the tail of the old stream is never glued to the new one.
   */
  reset(): void {
    if (this.inFrame) {
      this.frameStart = 0;
      this.abandonFrame(0);
    } else if (this.state === State.SeekD8) {
      this.counters.garbageBytes += 1;
    }
    this.state = State.Seek;
    this.ffInPreviousChunk = false;
  }

  /** Same as reset(): the end of a stream drops a partial frame. */
  end(): void {
    this.reset();
  }

  push(chunk: Buffer): void {
    const length = chunk.length;
    let pos = 0;
    this.frameStart = 0;
    while (pos < length) {
      switch (this.state) {
        case State.Seek: {
          const ff = chunk.indexOf(FF, pos);
          if (ff < 0) {
            this.counters.garbageBytes += length - pos;
            pos = length;
          } else {
            this.counters.garbageBytes += ff - pos;
            pos = ff + 1;
            this.state = State.SeekD8;
          }
          break;
        }
        case State.SeekD8: {
          const byte = chunk[pos]!;
          if (byte === 0xd8) {
            this.beginFrame(pos);
            pos += 1;
          } else {
            // The FF was junk. A following FF may still start an SOI; any other byte is looked at again by Seek.
            this.counters.garbageBytes += 1;
            if (byte === FF) pos += 1;
            else this.state = State.Seek;
          }
          break;
        }
        case State.MarkerFF: {
          if (chunk[pos] === FF) {
            this.state = State.MarkerCode;
            pos += 1;
          } else {
            // A segment must start here, so the frame is broken. The search resumes at this very byte.
            this.abandonFrame(pos);
          }
          break;
        }
        case State.MarkerCode: {
          const code = chunk[pos]!;
          pos += 1;
          if (code !== FF) pos = this.onMarker(chunk, pos, code); // FF is a fill byte
          break;
        }
        case State.LengthHigh: {
          this.lengthHigh = chunk[pos]!;
          this.state = State.LengthLow;
          pos += 1;
          break;
        }
        case State.LengthLow: {
          const segmentLength = (this.lengthHigh << 8) | chunk[pos]!;
          pos += 1;
          if (segmentLength < 2) {
            this.abandonFrame(pos);
          } else {
            this.segmentRemaining = segmentLength - 2;
            this.state = this.segmentRemaining > 0 ? State.Skip : this.afterSegment;
          }
          break;
        }
        case State.Skip: {
          const step = Math.min(this.segmentRemaining, length - pos);
          pos += step;
          this.segmentRemaining -= step;
          if (this.segmentRemaining === 0) this.state = this.afterSegment;
          break;
        }
        case State.Entropy: {
          // Hot loop: stuffed bytes (FF 00) and restart markers are skipped here without leaving the case.
          let ff = chunk.indexOf(FF, pos);
          while (ff >= 0 && ff + 1 < length) {
            const next = chunk[ff + 1]!;
            if (next !== 0x00 && (next < 0xd0 || next > 0xd7)) break;
            ff = chunk.indexOf(FF, ff + 2);
          }
          if (ff < 0) {
            pos = length;
          } else {
            pos = ff + 1;
            this.state = State.EntropyFF;
          }
          break;
        }
        case State.EntropyFF: {
          const code = chunk[pos]!;
          pos += 1;
          if (code === 0x00 || (code >= 0xd0 && code <= 0xd7)) {
            this.state = State.Entropy; // stuffed FF or restart marker
          } else if (code !== FF) {
            pos = this.onMarker(chunk, pos, code);
          }
          break;
        }
      }
      this.ffInPreviousChunk = false;
      if (this.inFrame && !this.discarding && this.frameBytesBefore + pos - this.frameStart > this.maxFrameBytes) {
        this.discarding = true;
        this.parts = [];
        this.counters.oversizeFrames += 1;
      }
    }
    this.ffInPreviousChunk =
      this.state === State.SeekD8 || this.state === State.MarkerCode || this.state === State.EntropyFF;
    if (this.inFrame) {
      if (!this.discarding) this.parts.push(chunk.subarray(this.frameStart, length));
      this.frameBytesBefore += length - this.frameStart;
    }
  }

  /** Handles a marker whose code byte was at pos-1. Returns the position to continue from. */
  private onMarker(chunk: Buffer, pos: number, code: number): number {
    if (code === 0xd8) {
      // A new image starts inside this one, so the current frame was cut short. The new one is kept; its FF
      // (at pos-2, or at the end of the previous chunk when pos-2 is -1) is its first byte.
      this.abandonFrame(pos - 2);
      this.beginFrame(pos - 1);
    } else if (code === 0xd9) {
      if (this.sawScan) this.finishFrame(chunk, pos);
      else this.abandonFrame(pos); // tables only, no image
    } else if ((code >= 0xd0 && code <= 0xd7) || code === 0x01) {
      // Markers without a length field.
      this.state = this.state === State.EntropyFF ? State.Entropy : State.MarkerFF;
    } else if (code === 0x00) {
      this.abandonFrame(pos); // not a marker: the header is corrupt
    } else {
      // A segment with a length field. After SOS comes entropy-coded data; after anything else, another marker.
      if (code === 0xda) this.sawScan = true;
      this.afterSegment = code === 0xda ? State.Entropy : State.MarkerFF;
      this.state = State.LengthHigh;
    }
    return pos;
  }

  /** Starts a frame whose SOI code byte (D8) is at pos; its FF is at pos-1 or ended the previous chunk. */
  private beginFrame(pos: number): void {
    this.inFrame = true;
    this.discarding = false;
    this.sawScan = false;
    if (pos === 0 && this.ffInPreviousChunk) {
      this.parts = [ONE_FF];
      this.frameBytesBefore = 1;
      this.frameStart = 0;
    } else {
      this.parts = [];
      this.frameBytesBefore = 0;
      this.frameStart = pos - 1;
    }
    this.state = State.MarkerFF;
  }

  private finishFrame(chunk: Buffer, end: number): void {
    const total = this.frameBytesBefore + end - this.frameStart;
    if (this.discarding || total > this.maxFrameBytes) {
      if (!this.discarding) this.counters.oversizeFrames += 1;
      this.counters.garbageBytes += total;
      this.clearFrame();
      return;
    }
    const tail = chunk.subarray(this.frameStart, end);
    const frame = this.parts.length === 0 ? tail : Buffer.concat([...this.parts, tail], total);
    this.clearFrame();
    this.counters.frames += 1;
    this.onFrame(frame);
  }

  /** Drops the frame being collected; its bytes up to `end` (in this chunk) become garbage. */
  private abandonFrame(end: number): void {
    if (!this.discarding) this.counters.brokenFrames += 1;
    this.counters.garbageBytes += this.frameBytesBefore + end - this.frameStart;
    this.clearFrame();
  }

  private clearFrame(): void {
    this.inFrame = false;
    this.discarding = false;
    this.parts = [];
    this.frameBytesBefore = 0;
    this.state = State.Seek;
  }
}
