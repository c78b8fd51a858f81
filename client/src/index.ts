/**
 * The browser and Node client: one connection that stays up. It reconnects with capped, jittered
 * backoff; resubscribes every channel, recovering what was missed on channels that keep history
 * (and dropping what arrives twice); pings before API Gateway's idle timeout; moves to a new
 * connection before the 2-hour limit; and gets a fresh token before connecting when the old one
 * is about to expire or was refused. No runtime dependencies: it uses the global `WebSocket`
 * (browsers, Node ≥ 22), or the one given (`ws` on older Node).
 *
 * @example
 * const client = new RealtimeClient('wss://…/production', { getToken: () => fetch('/token').then((r) => r.text()) });
 * const room = client.subscribe('chat:room-1');
 * room.on('message', (m) => console.log(m.event, m.data));
 * await client.publish('chat:room-1', 'say', { text: 'hi' });
 */

/**
 * What the client needs of a WebSocket: the standard browser interface.
 * @example
 * new RealtimeClient(url, { WebSocket: MyWebSocket }); // MyWebSocket's instances are SocketLike
 */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: { code?: number; reason?: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
}
/**
 * A WebSocket class: the browser's, Node's (22+), or `ws`'s.
 * @example
 * import WebSocket from 'ws';
 * new RealtimeClient(url, { WebSocket });
 */
export type SocketFactory = new (url: string, protocols?: string | string[]) => SocketLike;

/**
 * The connection's state, as `on('state')` reports it.
 * @example
 * client.on('state', (state: State) => console.log(state));
 */
export type State = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/**
 * How the client connects, reconnects and authenticates.
 * @example
 * new RealtimeClient(url, { getToken: () => fetch('/token').then((r) => r.text()), pingIntervalMs: 120_000 });
 */
export interface ClientOptions {
  /** A client token (your backend signs it). */
  readonly token?: string;
  /** Gets a token: called before connecting when there is none, it expires within a minute, or the last was refused. */
  readonly getToken?: () => Promise<string>;
  /** The project, for anonymous connections to open projects. */
  readonly projectId?: string;
  /** The WebSocket class: the global one by default; pass `ws`'s on Node < 22. */
  readonly WebSocket?: SocketFactory;
  /** Ping this often (API Gateway closes connections idle 10 minutes). @default 300000 */
  readonly pingIntervalMs?: number;
  /** …and this often while in a presence channel (members silent 5 minutes are dropped). @default 60000 */
  readonly presencePingIntervalMs?: number;
  /** Move to a new connection after this long (API Gateway closes every connection at 2 hours). @default 6900000 */
  readonly maxConnectionMs?: number;
  /** Reconnect backoff: full jitter between 0 and min(max, initial × 2^attempt). @default { initialMs: 500, maxMs: 30000 } */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** How long a request (publish, presence, history) waits for its answer. @default 10000 */
  readonly requestTimeoutMs?: number;
  /**
   * Pusher-style channel auth for `private-` and `presence-` channels, from an auth endpoint you
   * already have (`pusher.authorizeChannel`, Laravel's `/broadcasting/auth`): it gets
   * `socket_id=…&channel_name=…` (form-encoded, as from pusher-js) and answers `{auth, channel_data?}`.
   * Or a function doing the same. Without it, restricted channels need a token's `channels` grant.
   */
  readonly channelAuthorization?:
    | { readonly endpoint: string; readonly headers?: Record<string, string> }
    | ((socketId: string, channel: string) => Promise<{ auth: string; channel_data?: string }>);
}

import type { ChannelMessage, Counts, Member, Notice, Reply, RoutedMessage, ServerMessage, StreamState } from './messages';

export type { ChannelMessage, Counts, Member, Notice, Reply, RoutedMessage, ServerMessage, StreamState };

/** Any event's listener: each type's set holds only listeners of that type's values. */
type Listener = (value: never) => void;

class Emitter<Events extends Record<string, unknown>> {
  private readonly listeners = new Map<keyof Events, Set<Listener>>();

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof Events>(type: K, listener: (value: Events[K]) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  protected emit<K extends keyof Events>(type: K, value: Events[K]): void {
    for (const listener of this.listeners.get(type) ?? []) (listener as (value: Events[K]) => void)(value);
  }
}

/**
 * A channel the client is subscribed to; it stays subscribed across reconnects until `unsubscribe`.
 * @example
 * const room = client.subscribe('chat:room-1');
 * room.on('message', (m) => render(m));
 * room.unsubscribe();
 */
export class Subscription extends Emitter<{
  message: ChannelMessage;
  member_added: Member;
  member_removed: Member;
  subscribed: StreamState;
  error: { code: string; message: string };
}> {
  /** The last offset seen on a channel that keeps history, and its epoch: where recovery starts. */
  offset?: number;
  epoch?: string;

  constructor(
    readonly channel: string,
    private readonly client: RealtimeClient,
  ) {
    super();
  }

  unsubscribe(): void {
    this.client.unsubscribe(this.channel);
  }

  /** pusher-js style: `fn(data)` for each message with this event name. Returns the function that unbinds it. */
  bind(event: string, fn: (data: unknown, message: ChannelMessage) => void): () => void {
    return this.on('message', (message) => message.event === event && fn(message.data, message));
  }

  /**
   * Messages held while a recovery is under way: the replay and live messages can arrive in either
   * order until the subscription's reply, which comes after the last replayed one; then they are
   * delivered in offset order, each once.
   */
  private held?: ChannelMessage[];
  private holdTimer?: ReturnType<typeof setTimeout>;

  /** @internal A subscribe that recovers (`since`) was sent: hold messages until its reply. */
  hold(timeoutMs: number): void {
    this.held ??= [];
    clearTimeout(this.holdTimer);
    // A reply that never comes (the connection went) must not hold messages for ever.
    this.holdTimer = setTimeout(() => this.release(), timeoutMs);
    // In Node, a closed client's timer must not keep the process up.
    (this.holdTimer as { unref?: () => void }).unref?.();
  }

  private release(): void {
    clearTimeout(this.holdTimer);
    const held = this.held ?? [];
    this.held = undefined;
    held.sort((a, b) => (a.epoch === b.epoch && a.offset !== undefined && b.offset !== undefined ? a.offset - b.offset : 0));
    for (const message of held) this.deliver(message);
  }

  /** @internal */
  deliver(message: ChannelMessage): void {
    if (this.held) {
      if (this.held.length < MAX_HELD) return void this.held.push(message);
      this.release();
    }
    if (message.offset !== undefined) {
      // A replayed message may arrive live too, with the same offset; and a new epoch starts over.
      if (message.epoch === this.epoch && this.offset !== undefined && message.offset <= this.offset) return;
      this.offset = message.offset;
      this.epoch = message.epoch;
    }
    this.emit('message', message);
  }

  /** @internal */
  notify(type: 'member_added' | 'member_removed', member: Member): void;
  notify(type: 'subscribed', stream: StreamState): void;
  notify(type: 'error', error: { code: string; message: string }): void;
  notify(
    type: 'member_added' | 'member_removed' | 'subscribed' | 'error',
    value: Member | StreamState | { code: string; message: string },
  ): void {
    if (type === 'subscribed') {
      const stream = value as StreamState;
      if (stream.epoch !== undefined && (stream.recovered === false || this.epoch === undefined || stream.epoch !== this.epoch)) {
        // Nothing to recover from (or it could not be): start from where the stream is now.
        this.offset = stream.offset;
        this.epoch = stream.epoch;
      }
    }
    if (type === 'subscribed' || type === 'error') this.release();
    this.emit(type, value);
  }
}

/** Held messages past this many are delivered as they are: a recovery's reply is long overdue. */
const MAX_HELD = 10_000;

const OPEN = 1;
const SUBPROTOCOL = 'rb.v1';
/** Remembered message ids, to drop one delivered on both connections while moving to a new one. */
const SEEN_IDS = 1000;

/**
 * One connection that stays up: see the module's description.
 * @example
 * const client = new RealtimeClient('wss://abc.execute-api.eu-west-1.amazonaws.com/production', { token });
 * client.subscribe('news').bind('update', (data) => console.log(data));
 */
export class RealtimeClient extends Emitter<{
  state: State;
  /** A message sent to this connection alone (no channel). */
  message: Omit<ChannelMessage, 'channel'>;
  /** A routed message between typed clients (`{type, payload, from}`). */
  routed: RoutedMessage;
  /** What the server says on its own: `connected`, `client_left`, … (members go to their channel's subscription). */
  system: Notice;
  error: { code: string; message: string };
}> {
  state: State = 'disconnected';
  private socket?: SocketLike;
  /** This connection's Pusher-style socket id (from `connected`), for channel auth; waited for by those who need it. */
  private socketId?: string;
  private socketIdWaiters: ((socketId: string) => void)[] = [];
  private token?: string;
  private tokenRefused = false;
  private attempt = 0;
  private closed = false;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly pending = new Map<
    string,
    { resolve: (reply: Reply) => void; reject: (error: Error) => void; timer: ReturnType<typeof setTimeout> }
  >();
  private readonly seen: string[] = [];
  private requests = 0;
  private pingTimer?: ReturnType<typeof setTimeout>;
  private rotateTimer?: ReturnType<typeof setTimeout>;
  private retryTimer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly url: string,
    private readonly options: ClientOptions = {},
  ) {
    super();
    this.token = options.token;
    void this.connect();
  }

  /** Subscribes (now, and again after every reconnect); `since` recovers from an offset you kept. */
  subscribe(channel: string, options: { since?: { offset: number; epoch: string } } = {}): Subscription {
    let subscription = this.subscriptions.get(channel);
    if (!subscription) {
      subscription = new Subscription(channel, this);
      if (options.since) {
        subscription.offset = options.since.offset;
        subscription.epoch = options.since.epoch;
      }
      this.subscriptions.set(channel, subscription);
      if (this.state === 'connected') this.sendSubscribe(this.socket!, subscription);
      this.schedulePing();
    }
    return subscription;
  }

  unsubscribe(channel: string): void {
    if (!this.subscriptions.delete(channel)) return;
    if (this.state === 'connected') this.write(this.socket!, { action: 'unsubscribe', channel });
  }

  /** Publishes to a channel (where the project lets clients); resolves with the server's counts. */
  publish(channel: string, event: string, data?: unknown): Promise<Extract<Reply, { type: 'send_success' }>> {
    return this.request({ action: 'send', channel, event, data });
  }

  /** The members of a presence channel. */
  presence(channel: string): Promise<Extract<Reply, { type: 'presence' }>> {
    return this.request({ action: 'presence', channel });
  }

  /** Stored messages of a channel that keeps history, oldest first. */
  history(channel: string, options: { since?: number; limit?: number } = {}): Promise<Extract<Reply, { type: 'history' }>> {
    return this.request({ action: 'history', channel, ...options });
  }

  /** Sends a routed message to typed clients: `to: { type }` or `{ id }`, or everyone of the project. */
  route(type: string, payload: unknown, to?: { type?: string; id?: string }): void {
    if (this.state === 'connected') this.write(this.socket!, { type, payload, ...(to && { to }) });
  }

  /** Closes for good: no reconnect. */
  close(): void {
    this.closed = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = undefined;
    socket?.close(1000, 'closed by client');
    this.failPending(new Error('client closed'));
    this.setState('disconnected');
  }

  private async connect(replacing?: SocketLike): Promise<void> {
    if (this.closed) return;
    if (!replacing) this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    let socket: SocketLike;
    try {
      const token = await this.currentToken();
      const url =
        this.options.projectId && !token
          ? `${this.url}${this.url.includes('?') ? '&' : '?'}projectId=${encodeURIComponent(this.options.projectId)}`
          : this.url;
      const Socket = this.options.WebSocket ?? (globalThis as { WebSocket?: SocketFactory }).WebSocket ?? (await nodeWebSocket());
      if (!Socket) throw new Error('No WebSocket: install ws (Node < 22), or pass options.WebSocket');
      socket = new Socket(url, token ? [SUBPROTOCOL, `rb.token.${token}`] : [SUBPROTOCOL]);
    } catch (error) {
      this.emit('error', { code: 'connect_failed', message: (error as Error).message });
      return this.retry();
    }
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.tokenRefused = false;
      this.attempt = 0;
      const old = this.socket;
      this.socket = socket;
      this.socketId = undefined;
      for (const subscription of this.subscriptions.values()) this.sendSubscribe(socket, subscription);
      this.setState('connected');
      this.schedulePing();
      // Before API Gateway's 2-hour limit: a new connection first, then the old one goes.
      clearTimeout(this.rotateTimer);
      this.rotateTimer = setTimeout(() => void this.connect(socket), this.options.maxConnectionMs ?? 115 * 60_000);
      if (replacing && old === replacing) setTimeout(() => replacing.close(1000, 'replaced'), 2000);
    };
    // Both connections deliver while one replaces the other: duplicates are dropped by id and offset.
    socket.onmessage = (event) => {
      if (!this.closed) this.receive(String(event.data));
    };
    socket.onerror = () => undefined;
    socket.onclose = () => {
      if (this.closed) return;
      if (!opened) {
        // Refused before opening: perhaps the token (browsers cannot see the 401); get a new one next
        // time. A failed replacement leaves the current connection as it is.
        this.tokenRefused = true;
        if (!replacing) this.retry();
        return;
      }
      // A replaced connection closing is expected; only the current one's loss is a reconnect.
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.failPending(new Error('connection lost'));
      this.retry();
    };
  }

  private retry(): void {
    if (this.closed) return;
    this.clearTimers();
    this.setState('reconnecting');
    const { initialMs = 500, maxMs = 30_000 } = this.options.backoff ?? {};
    const delay = Math.random() * Math.min(maxMs, initialMs * 2 ** this.attempt++);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private async currentToken(): Promise<string | undefined> {
    const { getToken } = this.options;
    if (getToken && (!this.token || this.tokenRefused || expiresWithin(this.token, 60))) this.token = await getToken();
    return this.token;
  }

  private sendSubscribe(socket: SocketLike, subscription: Subscription): void {
    const { channel } = subscription;
    const since =
      subscription.offset !== undefined && subscription.epoch !== undefined
        ? { offset: subscription.offset, epoch: subscription.epoch }
        : undefined;
    const frame = { action: 'subscribe', channel, ...(since && { since }) };
    if (since) subscription.hold(this.options.requestTimeoutMs ?? 10_000);
    const authorize = this.options.channelAuthorization;
    if (!authorize || !/^(private|presence)-/.test(channel)) return this.write(socket, frame);
    void this.currentSocketId()
      .then((socketId) =>
        typeof authorize === 'function'
          ? authorize(socketId, channel)
          : fetch(authorize.endpoint, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded', ...authorize.headers },
              body: `socket_id=${encodeURIComponent(socketId)}&channel_name=${encodeURIComponent(channel)}`,
            }).then((r) =>
              r.ok
                ? (r.json() as Promise<{ auth: string; channel_data?: string }>)
                : Promise.reject(new Error(`channel auth answered ${r.status}`)),
            ),
      )
      .then((signed: { auth: string; channel_data?: string }) =>
        this.write(socket, { ...frame, auth: signed.auth, ...(signed.channel_data && { channel_data: signed.channel_data }) }),
      )
      .catch((error: Error) => subscription.notify('error', { code: 'channel_auth_failed', message: error.message }));
  }

  private currentSocketId(): Promise<string> {
    return this.socketId ? Promise.resolve(this.socketId) : new Promise((resolve) => this.socketIdWaiters.push(resolve));
  }

  private request<T extends Reply>(frame: Record<string, unknown>): Promise<T> {
    if (this.state !== 'connected') return Promise.reject(new Error(`not connected (${this.state})`));
    const rid = `r${++this.requests}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(new Error('request timed out'));
      }, this.options.requestTimeoutMs ?? 10_000);
      this.pending.set(rid, { resolve: resolve as (reply: Reply) => void, reject, timer });
      this.write(this.socket!, { ...frame, rid });
    });
  }

  private receive(text: string): void {
    if (text === 'pong') return;
    let message: ServerMessage;
    try {
      message = JSON.parse(text) as ServerMessage;
    } catch {
      return;
    }
    switch (message.kind) {
      case 'message':
        return this.receiveMessage(message);
      case 'routed':
        return this.emit('routed', message);
      case 'reply':
        return this.receiveReply(message);
      case 'notice':
        return this.receiveNotice(message);
    }
  }

  private receiveMessage(message: ChannelMessage): void {
    // Delivered on both connections while moving to a new one: keep the first.
    if (this.seen.includes(message.id)) return;
    this.seen.push(message.id);
    if (this.seen.length > SEEN_IDS) this.seen.shift();
    if (message.channel === undefined) return this.emit('message', message);
    this.subscriptions.get(message.channel)?.deliver(message);
  }

  private receiveReply(message: Reply): void {
    const waiting = message.rid !== undefined ? this.pending.get(message.rid) : undefined;
    if (waiting) {
      this.pending.delete(message.rid!);
      clearTimeout(waiting.timer);
      if (message.type === 'error') waiting.reject(Object.assign(new Error(message.message), { code: message.code }));
      else waiting.resolve(message);
      return;
    }
    if (message.type === 'subscription_succeeded') this.subscriptions.get(message.channel)?.notify('subscribed', message);
    else if (message.type === 'error') this.emit('error', { code: message.code, message: message.message });
  }

  private receiveNotice(message: Notice): void {
    if (message.type === 'member_added' || message.type === 'member_removed') {
      return this.subscriptions.get(message.channel)?.notify(message.type, message.member);
    }
    if (message.type === 'connected' && message.socketId !== undefined) {
      this.socketId = message.socketId;
      for (const resolve of this.socketIdWaiters.splice(0)) resolve(message.socketId);
    }
    this.emit('system', message);
  }

  private schedulePing(): void {
    clearTimeout(this.pingTimer);
    if (this.state !== 'connected') return;
    // Presence needs a ping within its timeout; namespaces with presence are not known here, so
    // a `:` channel counts too (a ping a minute is cheap).
    const presence = [...this.subscriptions.keys()].some((c) => c.startsWith('presence-') || c.includes(':'));
    const every = presence ? (this.options.presencePingIntervalMs ?? 60_000) : (this.options.pingIntervalMs ?? 300_000);
    const tick = () => {
      if (this.socket?.readyState === OPEN) this.socket.send('ping');
      this.pingTimer = setTimeout(tick, every);
    };
    this.pingTimer = setTimeout(tick, every);
  }

  private write(socket: SocketLike, frame: object): void {
    if (socket.readyState === OPEN) socket.send(JSON.stringify(frame));
  }

  private setState(state: State): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }

  private failPending(error: Error): void {
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(error);
    }
    this.pending.clear();
  }

  private clearTimers(): void {
    clearTimeout(this.pingTimer);
    clearTimeout(this.rotateTimer);
    clearTimeout(this.retryTimer);
  }
}

/** On Node without a global WebSocket (< 22): the `ws` package, if installed. Never loaded in browsers. */
async function nodeWebSocket(): Promise<SocketFactory | undefined> {
  const node = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
  if (!node) return undefined;
  try {
    // A name in a variable: bundlers leave it alone, so browser builds never look for `ws`.
    const name = 'ws';
    return ((await import(/* webpackIgnore: true */ /* @vite-ignore */ name)) as { default: SocketFactory }).default;
  } catch {
    return undefined;
  }
}

/** Whether a JWT expires within `seconds` (an unreadable one is treated as expiring). */
function expiresWithin(token: string, seconds: number): boolean {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const { exp } = JSON.parse(atob(payload)) as { exp?: number };
    return typeof exp !== 'number' || exp - Date.now() / 1000 < seconds;
  } catch {
    return true;
  }
}
