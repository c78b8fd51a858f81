/** A frame's `rid` comes back on its reply, so a client can match answers to requests; nothing else is touched. */
import { echoRequestId } from '../../../lambda/edge/websocket';
import { messageEvent } from '../../helpers/gateway-events';

const reply = (body: string) => ({ statusCode: 200, body });

describe('echoRequestId', () => {
  it('puts the frame’s rid first on a JSON reply, error replies included', () => {
    const event = messageEvent('c=', { action: 'history', channel: 'a', rid: 'r-17' });
    expect(JSON.parse(echoRequestId(event, reply('{"type":"history","messages":[]}')).body!)).toEqual({
      rid: 'r-17',
      type: 'history',
      messages: [],
    });
    expect(JSON.parse(echoRequestId(event, reply('{"type":"error","code":"x","message":"y"}')).body!)).toMatchObject({
      rid: 'r-17',
      type: 'error',
    });
    expect(JSON.parse(echoRequestId(event, reply('{}')).body!)).toEqual({ rid: 'r-17' });
  });

  it.each([
    ['no rid', { action: 'ping' }],
    ['a rid that is not a string', { action: 'ping', rid: 5 }],
    ['a rid too long', { action: 'ping', rid: 'x'.repeat(65) }],
    ['a rid with a quote', { action: 'ping', rid: 'a"b' }],
  ])('leaves the reply alone for %s', (_, frame) => {
    expect(echoRequestId(messageEvent('c=', frame), reply('{"type":"pong"}'))).toEqual(reply('{"type":"pong"}'));
  });

  it('leaves a text reply and an empty one alone', () => {
    const event = messageEvent('c=', { action: 'ping', rid: 'r1' });
    expect(echoRequestId(event, reply('pong'))).toEqual(reply('pong'));
    expect(echoRequestId(event, { statusCode: 200 })).toEqual({ statusCode: 200 });
  });
});
