/** The real `pusher` SDK's request signer, which the tests use to sign Pusher REST requests as Pusher's backends do. */
declare module 'pusher/lib/token' {
  export default class Token {
    constructor(key: string, secret: string);
    sign(text: string): string;
  }
}
declare module 'pusher/lib/requests' {
  import type Token from 'pusher/lib/token';
  export function createSignedQueryString(
    token: Token,
    request: { method: string; path: string; body?: string; params?: Record<string, string> },
  ): string;
}
