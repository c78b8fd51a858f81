/**
 * Watches the frame headers of a client's WebSocket byte stream, as API Gateway checks each frame:
 * `ws` limits a whole message, but API Gateway also refuses any single frame over 32 KB (1009),
 * so a message is only accepted up to 128 KB when the client splits it into small frames.
 */
export class FrameWatch {
  private header = Buffer.alloc(0);
  /** Payload bytes of the current frame still to pass. */
  private skip = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** Reads a chunk of the stream; returns the size of a data frame over the limit, if one starts in it. */
  feed(chunk: Buffer): number | undefined {
    let at = 0;
    for (;;) {
      const size = this.headerSize();
      if (size !== undefined && this.header.length === size) {
        const opcode = this.header[0] & 0x0f;
        const length7 = this.header[1] & 0x7f;
        const length = length7 === 126 ? this.header.readUInt16BE(2) : length7 === 127 ? Number(this.header.readBigUInt64BE(2)) : length7;
        this.header = Buffer.alloc(0);
        // Control frames (close, ping, pong) are small by the protocol; data and continuation frames count.
        if (opcode < 0x8 && length > this.maxFrameBytes) return length;
        this.skip = length;
      }
      if (at >= chunk.length) return undefined;
      if (this.skip > 0) {
        const passed = Math.min(this.skip, chunk.length - at);
        this.skip -= passed;
        at += passed;
        continue;
      }
      // Header bytes: the first two say how many more there are.
      const take = Math.min((size ?? 2) - this.header.length, chunk.length - at);
      this.header = Buffer.concat([this.header, chunk.subarray(at, at + take)]);
      at += take;
    }
  }

  /** The full header's size once its first two bytes are known. */
  private headerSize(): number | undefined {
    if (this.header.length < 2) return undefined;
    const length7 = this.header[1] & 0x7f;
    const masked = (this.header[1] & 0x80) !== 0;
    return 2 + (length7 === 126 ? 2 : length7 === 127 ? 8 : 0) + (masked ? 4 : 0);
  }
}
