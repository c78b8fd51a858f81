// The Pusher endpoint's CloudFront Function: runtime cloudfront-js-2.0, on viewer request.
//
// pusher-js opens wss://{wsHost}{wsPath}/app/{key}?protocol=7&client=js&version=…&flash=false, and an
// API Gateway WebSocket API accepts connections only on its stage's path (anything else: 403). This
// rewrites a handshake to the stage, with the app key in `appKey` and Pusher's own query parameters,
// and answers anything else itself, so junk never reaches API Gateway or the handler.
//
// The construct bakes the stage in at synth (lib/pusher-endpoint/code.ts replaces the placeholder);
// `npm start` runs this same file in a sandbox with CloudFront's event shape (local/cloudfront/).
// CloudFront allows 10 KB of code, no timers, no network and few modules; eslint.config.mjs holds
// this file to the language features the runtime documents.

var STAGE = '__STAGE_NAME__';
// {wsPath}/app/{key}: a wsPath of up to four segments, then the key (checked on its own below).
var PUSHER_PATH = /^((?:\/[A-Za-z0-9_-]{1,64}){0,4})\/app\/([^/]*)$/;
var APP_KEY = /^[A-Za-z0-9_-]{1,64}$/;
// What the origin gets of the client's query string: Pusher's parameters, each at most once. Their
// plain characters mean CloudFront's encoding of query values cannot change them.
var PARAMETERS = {
  protocol: /^[0-9]{1,2}$/,
  client: /^[A-Za-z0-9._-]{1,64}$/,
  version: /^[A-Za-z0-9.+_-]{1,32}$/,
  flash: /^(true|false)$/,
};
// A handshake's nonce: 16 bytes in base64. CloudFront hides Upgrade and Connection from functions,
// so the Sec-WebSocket-* headers are how a WebSocket handshake is told from a plain request.
var NONCE = /^[A-Za-z0-9+/]{22}==$/;

function refuse(statusCode, statusDescription, message, headers) {
  var all = headers || {};
  all['content-type'] = { value: 'application/json' };
  all['cache-control'] = { value: 'no-store' };
  return {
    statusCode: statusCode,
    statusDescription: statusDescription,
    headers: all,
    body: { encoding: 'text', data: JSON.stringify({ message: message }) },
  };
}

function handler(event) {
  var request = event.request;
  if (request.method !== 'GET') {
    return refuse(405, 'Method Not Allowed', 'Pusher clients connect with a GET WebSocket handshake', { allow: { value: 'GET' } });
  }
  var path = PUSHER_PATH.exec(request.uri);
  if (!path) {
    return refuse(404, 'Not Found', 'Pusher clients connect to /app/{key}, or {wsPath}/app/{key} with a wsPath of up to four segments');
  }
  if (!APP_KEY.test(path[2])) return refuse(400, 'Bad Request', 'The app key in /app/{key} is 1 to 64 letters, digits, - and _');

  var version = request.headers['sec-websocket-version'];
  var nonce = request.headers['sec-websocket-key'];
  if (!version || version.multiValue || version.value !== '13') {
    var why = version || nonce ? 'WebSocket version 13 only' : 'This endpoint takes WebSocket connections only';
    return refuse(426, 'Upgrade Required', why, { 'sec-websocket-version': { value: '13' } });
  }
  if (!nonce || nonce.multiValue || !NONCE.test(nonce.value)) return refuse(400, 'Bad Request', 'Invalid Sec-WebSocket-Key header');

  // Only Pusher's parameters, and the app key from the path: a client cannot add its own appKey.
  var querystring = { appKey: { value: path[2] } };
  for (var name in PARAMETERS) {
    var given = request.querystring[name];
    if (!given) continue;
    if (given.multiValue || !PARAMETERS[name].test(given.value)) {
      return refuse(400, 'Bad Request', 'Invalid query parameter ' + name + ': give it once, as pusher-js does');
    }
    querystring[name] = { value: given.value };
  }
  request.uri = '/' + STAGE;
  request.querystring = querystring;
  return request;
}
