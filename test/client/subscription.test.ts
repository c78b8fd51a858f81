/**
 * A recovering subscription's ordering, without a server: the replay and live messages may arrive
 * in either order until the subscription's reply; the application sees them in offset order, once.
 */
import { ChannelMessage, RealtimeClient, Subscription } from '../../client/src';

const message = (offset: number, epoch = 'e1'): ChannelMessage => ({
  kind: 'message',
  id: `m${offset}`,
  timestamp: '',
  channel: 'chat:x',
  event: 'tick',
  data: offset,
  offset,
  epoch,
});

function subscription() {
  const sub = new Subscription('chat:x', {} as RealtimeClient);
  const got: number[] = [];
  sub.on('message', (m) => got.push(m.offset!));
  return { sub, got };
}

it('holds what arrives during a recovery and delivers it in offset order, each once, at the reply', () => {
  const { sub, got } = subscription();
  sub.deliver(message(1));
  sub.deliver(message(2));
  sub.hold(10_000);
  // A live message overtakes the replay; one arrives both ways.
  for (const offset of [5, 3, 4, 5]) sub.deliver(message(offset));
  expect(got).toEqual([1, 2]);
  sub.notify('subscribed', { channel: 'chat:x', epoch: 'e1', offset: 5, recovered: true } as never);
  expect(got).toEqual([1, 2, 3, 4, 5]);
  // After the reply, messages go straight through.
  sub.deliver(message(6));
  expect(got).toEqual([1, 2, 3, 4, 5, 6]);
});

it('lets held messages go if the reply never comes', () => {
  jest.useFakeTimers();
  try {
    const { sub, got } = subscription();
    sub.hold(10_000);
    sub.deliver(message(2));
    sub.deliver(message(1));
    jest.advanceTimersByTime(9_999);
    expect(got).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(got).toEqual([1, 2]);
  } finally {
    jest.useRealTimers();
  }
});
