/** Pusher socket ids: every API Gateway connection id has one, of the form Pusher's libraries accept, and maps back to it. */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { connectionIdOf, pusherSocketId } from '../../../lambda/auth/pusher';

describe('Pusher socket ids', () => {
  it('round-trip every base64 id of 1 to 12 bytes, leading zero bytes included, in the form \\d+.\\d+', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 12 }), (bytes) => {
        const id = Buffer.from(bytes).toString('base64');
        const socketId = pusherSocketId(id)!;
        expect(socketId).toMatch(/^\d+\.\d+$/);
        expect(connectionIdOf(socketId)).toBe(id);
      }),
      { numRuns: 2000 },
    );
    const apiGatewayLike = randomBytes(11).toString('base64');
    expect(connectionIdOf(pusherSocketId(apiGatewayLike)!)).toBe(apiGatewayLike);
  });

  it.each(['', 'abc', '1.2.3', '99999999999999999.1', '123.456', '-1.5', `${13n << 48n}.0`, `${1n << 48n}.${2n ** 48n}`])(
    'maps %j to no connection: it is not one of ours',
    (socketId) => {
      expect(connectionIdOf(socketId)).toBeUndefined();
    },
  );

  it('gives no socket id to what is not a base64 connection id', () => {
    expect(pusherSocketId('not base64!')).toBeUndefined();
    expect(pusherSocketId(randomBytes(13).toString('base64'))).toBeUndefined();
  });
});
