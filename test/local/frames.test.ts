/** The local gateway's frame-size check, over byte streams cut anywhere. */
import fc from 'fast-check';
import { FrameWatch } from '../../local/gateway/frames';

/** A client frame: masked, with the length in 7, 16 or 64 bits as the protocol requires. */
function frame(opcode: number, length: number, fin = true): Buffer {
  const head = [(fin ? 0x80 : 0) | opcode];
  if (length < 126) head.push(0x80 | length);
  else if (length < 65536) head.push(0x80 | 126, length >> 8, length & 0xff);
  else {
    head.push(0x80 | 127);
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(length));
    head.push(...big);
  }
  return Buffer.concat([Buffer.from(head), Buffer.from([1, 2, 3, 4]), Buffer.alloc(length, 0x61)]);
}

describe('FrameWatch', () => {
  it('finds the first data frame over the limit, wherever the stream is cut, and nothing in streams without one', () => {
    const LIMIT = 300;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            opcode: fc.constantFrom(0x0, 0x1, 0x2, 0x9, 0xa),
            length: fc.oneof(fc.nat(400), fc.constantFrom(125, 126, 300, 301, 70_000)),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.array(fc.nat(), { maxLength: 10 }),
        (frames, cuts) => {
          const stream = Buffer.concat(frames.map((f) => frame(f.opcode, f.length)));
          const oversize = frames.find((f) => f.opcode < 0x8 && f.length > LIMIT);
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const watch = new FrameWatch(LIMIT);
          let found: number | undefined;
          let from = 0;
          for (const to of [...points, stream.length]) {
            found ??= watch.feed(stream.subarray(from, to));
            from = to;
          }
          expect(found).toBe(oversize?.length);
        },
      ),
      { numRuns: 500 },
    );
  });
});
