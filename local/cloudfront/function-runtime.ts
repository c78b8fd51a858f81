/**
 * A CloudFront Function run as CloudFront runs one on viewer request (runtime cloudfront-js-2.0),
 * for `npm start`: the event CloudFront builds from a request, a sandbox with only what the runtime
 * documents, and CloudFront's checks on what the function returns.
 *
 * - The event: `version`, `context` (`eventType: 'viewer-request'`), `viewer.ip`, and the request's
 *   `method`, `uri`, `querystring`, `headers` (lower-case names) and `cookies`, each a `{ value }`
 *   with `multiValue` when repeated. Query values as received (not decoded). Headers CloudFront never
 *   shows a function (Connection, Upgrade, X-Forwarded-Proto, …) are left out, as on AWS.
 * - The sandbox: a fresh node:vm context per run holding only the runtime's globals
 *   (cloudfront-js-2.0.json): no timers, `process`, `Buffer`, `fetch` or modules but `crypto` and
 *   `querystring`; `eval` and `new Function` throw; a run is stopped after `timeoutMs`. It is not a
 *   security boundary (node:vm is none): it makes a function that uses what CloudFront lacks fail here.
 * - The result: a request (its method and read-only headers unchanged, no header CloudFront hides,
 *   a URI under 8,192 characters) or a response. A function that throws or runs too long gives 503
 *   (FunctionExecutionError), an invalid result 502 (FunctionValidationError), as CloudFront answers.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import * as path from 'node:path';
import * as querystring from 'node:querystring';
import vm from 'node:vm';
import type {
  CloudFrontFunctionsCookies,
  CloudFrontFunctionsEvent,
  CloudFrontFunctionsHeaders,
  CloudFrontFunctionsQuerystring,
} from 'aws-lambda';
import * as z from 'zod';
import { sourceIpOf } from '../gateway/aws-shapes';

/** What cloudfront-js-2.0 offers, as data eslint.config.mjs reads too. */
const runtime = JSON.parse(readFileSync(path.join(__dirname, 'cloudfront-js-2.0.json'), 'utf8')) as {
  readonly globals: readonly string[];
  readonly modules: readonly string[];
};

export type ViewerRequestEvent = Omit<CloudFrontFunctionsEvent, 'response'>;
export type ViewerRequest = ViewerRequestEvent['request'];

/** A response the function generated, ready to write: status, header lines, body. */
export interface GeneratedResponse {
  readonly statusCode: number;
  readonly statusDescription?: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

export type FunctionOutcome =
  | { readonly kind: 'request'; readonly request: ViewerRequest }
  | { readonly kind: 'response'; readonly response: GeneratedResponse }
  | {
      readonly kind: 'error';
      readonly statusCode: 502 | 503;
      readonly error: 'FunctionValidationError' | 'FunctionExecutionError';
      readonly reason: string;
    };

/** Headers CloudFront neither shows a function nor lets it add ("disallowed headers"). */
const HIDDEN_HEADER =
  /^(connection|expect|keep-alive|proxy-authenticate|proxy-authorization|proxy-connection|trailer|upgrade|x-accel-(buffering|charset|limit-rate|redirect)|x-amz-cf-.*|x-amzn-(auth|cf-billing|cf-id|cf-xff|errortype|fle-profile|header-count|header-order|lambda-integration-tag|requestid)|x-cache|x-edge-.*|x-forwarded-proto|x-real-ip)$/;
/** Headers a viewer-request function may read but not add, change or remove. */
const READ_ONLY_HEADERS = ['content-length', 'host', 'transfer-encoding', 'via'];
/** CloudFront's limit on a request's URI with its query string. */
const MAX_URI_CHARACTERS = 8192;
/** The modules `require` loads here: the two of cloudfront-js-2.0's that the local sandbox offers. */
const MODULES: Record<string, object> = {
  crypto: Object.freeze({
    createHash: (algorithm: string) => createHash(supportedAlgorithm(algorithm)),
    createHmac: (algorithm: string, key: string) => createHmac(supportedAlgorithm(algorithm), key),
  }),
  querystring: Object.freeze({
    parse: querystring.parse,
    decode: querystring.decode,
    stringify: querystring.stringify,
    encode: querystring.encode,
    escape: querystring.escape,
    unescape: querystring.unescape,
  }),
};

function supportedAlgorithm(algorithm: string): string {
  if (!['md5', 'sha1', 'sha256'].includes(algorithm)) throw new Error(`crypto: ${algorithm} is not one of md5, sha1, sha256`);
  return algorithm;
}

const field = z.object({ value: z.string(), multiValue: z.array(z.object({ value: z.string() })).optional() });
const fields = z.record(z.string(), field);
const cookies = z.record(z.string(), field.extend({ attributes: z.string().optional() }));
const returnedRequest = z.object({ method: z.string(), uri: z.string(), querystring: fields, headers: fields, cookies });
const returnedResponse = z.object({
  statusCode: z.number().int().min(200).max(599),
  statusDescription: z.string().max(256).optional(),
  headers: fields.optional(),
  cookies: cookies.optional(),
  body: z.union([z.string(), z.object({ data: z.string(), encoding: z.enum(['text', 'base64']) })]).optional(),
});

export interface CloudFrontFunctionOptions {
  /** Where `console.log` lines go (CloudWatch Logs on AWS). */
  readonly log?: (line: string) => void;
  /** How long one run may take before it is stopped. @default 100 */
  readonly timeoutMs?: number;
}

/** A CloudFront Function's code, compiled once and run in a fresh sandbox per request. */
export class CloudFrontFunction {
  private readonly script: vm.Script;

  /** Throws, as CloudFront refuses to publish it, if the code does not compile or defines no `handler`. */
  constructor(
    code: string,
    filename: string,
    private readonly options: CloudFrontFunctionOptions = {},
  ) {
    this.script = new vm.Script(code, { filename });
    const context = this.sandbox();
    this.script.runInContext(context, { timeout: this.timeoutMs });
    if (vm.runInContext('typeof handler', context) !== 'function') {
      throw new Error(`${filename} defines no function handler(event), which CloudFront calls`);
    }
  }

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 100;
  }

  /** Runs the function on an event: the request to send on, the response it generated, or how it failed. */
  async run(event: ViewerRequestEvent): Promise<FunctionOutcome> {
    let returned: unknown;
    try {
      const context = this.sandbox();
      this.script.runInContext(context, { timeout: this.timeoutMs });
      // The event is made inside the sandbox, from JSON: objects of its own realm, as CloudFront's are.
      context.__event = JSON.stringify(event);
      const result: unknown = vm.runInContext(
        '(function (json) { delete globalThis.__event; return handler(JSON.parse(json)); })(globalThis.__event)',
        context,
        { timeout: this.timeoutMs },
      );
      // An async handler: nothing in the sandbox can wait (no timers, no network), so it settles at once or never.
      returned = await settledWithin(result, this.timeoutMs);
      returned = JSON.parse(JSON.stringify(returned ?? null)) as unknown;
    } catch (error) {
      return {
        kind: 'error',
        statusCode: 503,
        error: 'FunctionExecutionError',
        reason: `the function failed: ${(error as Error)?.message ?? String(error)}`,
      };
    }
    return checkReturned(event.request, returned);
  }

  /** A fresh context with only the runtime's globals, `console.log` and `require`. */
  private sandbox(): vm.Context {
    const context = vm.createContext(Object.create(null) as object, {
      name: 'cloudfront-js-2.0',
      codeGeneration: { strings: false, wasm: false },
    });
    // V8 gives every context its standard globals (Map, Symbol, Proxy, WebAssembly, …): keep only the documented ones.
    vm.runInContext(
      `(function (keep) { Object.getOwnPropertyNames(globalThis).forEach(function (name) { if (keep.indexOf(name) < 0) delete globalThis[name]; }); })(${JSON.stringify(runtime.globals)})`,
      context,
    );
    const log = this.options.log ?? (() => undefined);
    Object.assign(context, {
      console: Object.freeze({
        log: (...args: unknown[]) => log(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' ')),
      }),
      require: (name: string) => {
        const loaded = MODULES[name];
        if (!loaded) {
          const offered = runtime.modules.includes(name)
            ? `CloudFront offers ${name}, but the local sandbox only ${Object.keys(MODULES).join(' and ')}`
            : `cloudfront-js-2.0 has no module ${name}`;
          throw new Error(`require('${name}'): ${offered}`);
        }
        return loaded;
      },
    });
    return context;
  }
}

async function settledWithin(value: unknown, timeoutMs: number): Promise<unknown> {
  if (typeof (value as { then?: unknown } | null)?.then !== 'function') return value;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`its promise did not settle within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([value as Promise<unknown>, late]);
  } finally {
    clearTimeout(timer);
  }
}

const invalid = (reason: string): FunctionOutcome => ({ kind: 'error', statusCode: 502, error: 'FunctionValidationError', reason });

/** What CloudFront checks of a function's result before it acts on it. */
function checkReturned(original: ViewerRequest, returned: unknown): FunctionOutcome {
  if (typeof returned === 'object' && returned !== null && 'statusCode' in returned) {
    const parsed = returnedResponse.safeParse(returned);
    if (!parsed.success) return invalid(`the response it returned is malformed: ${z.prettifyError(parsed.error)}`);
    const { statusCode, statusDescription, headers = {}, body } = parsed.data;
    const problem = headerProblem(headers);
    if (problem) return invalid(problem);
    const text = body === undefined ? '' : typeof body === 'string' ? body : body.data;
    const encoding = typeof body === 'object' ? body.encoding : 'text';
    if (encoding === 'base64' && !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return invalid('its body is not valid base64');
    return {
      kind: 'response',
      response: {
        statusCode,
        statusDescription,
        headers: Object.entries(headers).flatMap(([name, { value, multiValue }]) =>
          (multiValue ?? [{ value }]).map((each) => [headerCase(name), each.value] as const),
        ),
        body: Buffer.from(text, encoding === 'base64' ? 'base64' : 'utf8'),
      },
    };
  }
  const parsed = returnedRequest.safeParse(returned);
  if (!parsed.success) return invalid(`it returned neither a request nor a response: ${z.prettifyError(parsed.error)}`);
  const request = parsed.data;
  if (request.method !== original.method) return invalid('it changed the method, which is read-only');
  if (!request.uri.startsWith('/')) return invalid(`the URI it returned does not start with /: ${request.uri.slice(0, 100)}`);
  const problem = headerProblem(request.headers);
  if (problem) return invalid(problem);
  for (const name of READ_ONLY_HEADERS) {
    if (JSON.stringify(request.headers[name]) !== JSON.stringify(original.headers[name]))
      return invalid(`it changed ${name}, which is read-only`);
  }
  const query = queryString(request.querystring);
  if (/[\s#\p{Cc}]/u.test(query)) return invalid('its query string holds spaces, control characters or #');
  if (request.uri.length + 1 + query.length >= MAX_URI_CHARACTERS)
    return invalid(`its URI and query string reach ${MAX_URI_CHARACTERS} characters`);
  return { kind: 'request', request };
}

function headerProblem(headers: CloudFrontFunctionsHeaders): string | undefined {
  for (const name of Object.keys(headers)) {
    if (name !== name.toLowerCase()) return `header names are lower-case, and ${name} is not`;
    if (HIDDEN_HEADER.test(name)) return `it set ${name}, a header CloudFront does not let functions add`;
  }
  return undefined;
}

/** `sec-websocket-key` → `Sec-Websocket-Key`: how CloudFront writes the names a function returns. */
export const headerCase = (name: string): string =>
  name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());

/** A query string from the function's `querystring`, each value as given (the function's are plain). */
export function queryString(query: CloudFrontFunctionsQuerystring): string {
  return Object.entries(query)
    .flatMap(([name, { value, multiValue }]) =>
      (multiValue ?? [{ value }]).map((each) => (each.value === '' ? name : `${name}=${each.value}`)),
    )
    .join('&');
}

/** CloudFront's viewer-request event for a request. */
export function viewerRequestEvent(
  req: IncomingMessage,
  context: { readonly distributionDomainName: string; readonly distributionId: string; readonly requestId: string },
): ViewerRequestEvent {
  const target = req.url ?? '/';
  const questionMark = target.indexOf('?');
  const path = questionMark < 0 ? target : target.slice(0, questionMark);
  const rawQuery = questionMark < 0 ? '' : target.slice(questionMark + 1);
  const query: CloudFrontFunctionsQuerystring = {};
  for (const part of rawQuery.split('&').filter(Boolean)) {
    const equals = part.indexOf('=');
    add(query, equals < 0 ? part : part.slice(0, equals), equals < 0 ? '' : part.slice(equals + 1));
  }
  const headers: CloudFrontFunctionsHeaders = {};
  const cookieJar: CloudFrontFunctionsCookies = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    const value = req.rawHeaders[i + 1];
    if (name === 'cookie') {
      for (const cookie of value
        .split(';')
        .map((c) => c.trim())
        .filter(Boolean)) {
        const equals = cookie.indexOf('=');
        add(cookieJar, equals < 0 ? cookie : cookie.slice(0, equals), equals < 0 ? '' : cookie.slice(equals + 1));
      }
    } else if (!HIDDEN_HEADER.test(name)) add(headers, name, value);
  }
  return {
    version: '1.0',
    context: { ...context, eventType: 'viewer-request' },
    viewer: { ip: sourceIpOf(req.socket.remoteAddress) },
    request: {
      method: req.method ?? 'GET',
      // An absolute-form target (`GET http://host/path`) has its path taken, as CloudFront does.
      uri: /^[a-z]+:\/\//i.test(path) ? new URL(path).pathname : path,
      querystring: query,
      headers,
      cookies: cookieJar,
    },
  };
}

/** Adds a value under a name, the first in `value` and every one in `multiValue` once there are two. */
function add(to: Record<string, { value: string; multiValue?: { value: string }[] }>, name: string, value: string): void {
  const existing = Object.prototype.hasOwnProperty.call(to, name) ? to[name] : undefined;
  // Defined, not assigned: a parameter named __proto__ is a parameter like any other.
  if (!existing) Object.defineProperty(to, name, { value: { value }, enumerable: true, writable: true, configurable: true });
  else existing.multiValue = [...(existing.multiValue ?? [{ value: existing.value }]), { value }];
}
