// otlp_receiver.js DIR MODE: a local OTLP/HTTP receiver on 127.0.0.1 for
// the push tests.  Listens on a free port, writes it to DIR/port, and for
// each POST /v1/traces decodes the body as OTLP/JSON with the protobuf types
// of @opentelemetry/otlp-transformer (ExportTraceServiceRequest.fromObject
// and verify; ids as OTLP/JSON's hex), appends the body as one line to
// DIR/received.jsonl and the status it answered to DIR/log (and the time in
// ms to DIR/times), in the modes that test retries each followed by the
// request's key (the first 12 hex digits of the body's SHA-1), so that a
// retry can be told from the next request.  Those modes also write
// DIR/inflight (the most requests open at once: arrived, not yet answered)
// and DIR/done (each request's arrival number, in the order answered).
// MODE:
//   ok        200 {} for every valid request (400 for an invalid one)
//   flaky     503 with Retry-After: 0 twice, then as ok
//   later     429 with Retry-After: 1 once, then as ok
//   refuse    400 with a message, always
//   partial   200 with partialSuccess.rejectedSpans 1
//   jumble    as ok, but every 4th request to arrive (1, 5, 9, ...) is
//             answered 300 ms late, and each 3rd (3, 6, ...) is answered
//             503 with Retry-After: 0 the first time its body is seen: the
//             push's requests overlap, finish out of order and are retried
//   fail3     as jumble, but the 3rd request to arrive is refused (400)
//   count     (benchmarks) JSON.parse only, no protobuf decoding, no copy:
//             appends the request's span count to DIR/received.jsonl
//   proto     takes application/x-protobuf only: decodes the body with
//             ExportTraceServiceRequest.decode and appends the message, in
//             the normal form below, to DIR/received.jsonl
// Runs until killed.
// otlp_receiver.js --normalize FILE: prints each OTLP/JSON line of FILE in
// that normal form (protobufjs' toObject: 64-bit integers as strings, enums
// as numbers, bytes as base64), to compare a protobuf push with the file.
// otlp_receiver.js --spans FILE: one line per span of FILE's requests (OTLP/
// JSON, hex ids, or that normal form), {resource, scope, span} in normal
// form, sorted: the same for two files holding the same spans under the
// same resources and scopes, however they are cut into requests and in
// whatever order the requests came.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const path = require('path');
const root =
    require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
const Request =
    root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const [dir, mode] = process.argv.slice(2);
const normalForm = (message) => JSON.stringify(
    Request.toObject(message, {longs: String, enums: Number, bytes: String}));
let count = 0;

// OTLP/JSON ids are hex; protobufjs' fromObject wants bytes (or base64).
function hexIds(v) {
  if (Array.isArray(v)) return v.forEach(hexIds);
  if (v === null || typeof v !== 'object') return;
  for (const k of Object.keys(v)) {
    if ((k === 'traceId' || k === 'spanId' || k === 'parentSpanId') &&
        typeof v[k] === 'string' &&
        v[k].length === (k === 'traceId' ? 32 : 16)) {
      v[k] = Buffer.from(v[k], 'hex');
    } else {
      hexIds(v[k]);
    }
  }
}

// The modes that log request keys, arrival order and concurrency.
const keyed = ['flaky', 'later', 'jumble', 'fail3'].includes(mode);
const seen = new Set(); // bodies answered 503 once (jumble)
let open = 0, mostOpen = 0;

function answer(res, status, body, headers) {
  const key = keyed ? ' ' + res.key : '';
  fs.appendFileSync(path.join(dir, 'log'), `${status}${key}\n`);
  fs.appendFileSync(path.join(dir, 'times'), `${Date.now()}${key}\n`);
  if (keyed) fs.appendFileSync(path.join(dir, 'done'), `${res.arrival}\n`);
  res.writeHead(status, Object.assign({'Content-Type': 'application/json'}, headers || {}));
  res.end(body);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  if (keyed) {
    mostOpen = Math.max(mostOpen, ++open);
    fs.writeFileSync(path.join(dir, 'inflight'), `${mostOpen}\n`);
    res.on('finish', () => open--);
  }
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    count++;
    res.arrival = count;
    if (keyed) {
      res.key = crypto.createHash('sha1').update(Buffer.concat(chunks))
                    .digest('hex').slice(0, 12);
    }
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      return answer(res, 404, '{"message":"not /v1/traces"}');
    }
    if (mode === 'proto') {
      if (req.headers['content-type'] !== 'application/x-protobuf') {
        return answer(res, 415, '{"message":"not application/x-protobuf"}');
      }
      let message;
      try {
        message = Request.decode(Buffer.concat(chunks));
        const err = Request.verify(message);
        if (err) throw new Error(err);
      } catch (e) {
        return answer(res, 400, JSON.stringify({message: 'bad request: ' + e.message}));
      }
      fs.appendFileSync(path.join(dir, 'received.jsonl'), normalForm(message) + '\n');
      return answer(res, 200, '{}');
    }
    if (req.headers['content-type'] !== 'application/json') {
      return answer(res, 415, '{"message":"not application/json"}');
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (mode === 'count') {
      const json = JSON.parse(text);
      let n = 0;
      for (const rs of json.resourceSpans) {
        for (const ss of rs.scopeSpans) n += ss.spans.length;
      }
      fs.appendFileSync(path.join(dir, 'received.jsonl'), `${n}\n`);
      return answer(res, 200, '{}');
    }
    let message;
    try {
      const json = JSON.parse(text);
      hexIds(json);
      message = Request.fromObject(json);
      const err = Request.verify(message);
      if (err) throw new Error(err);
      const back = Request.decode(Request.encode(message).finish());
      const spans = (back.resourceSpans || []).reduce(
          (n, rs) => n + rs.scopeSpans.reduce((m, ss) => m + ss.spans.length, 0), 0);
      if (spans === 0) throw new Error('no span');
    } catch (e) {
      return answer(res, 400, JSON.stringify({message: 'bad request: ' + e.message}));
    }
    if (mode === 'flaky' && count <= 2) {
      return answer(res, 503, '{"message":"busy"}', {'Retry-After': '0'});
    }
    if (mode === 'later' && count === 1) {
      return answer(res, 429, '{"message":"slow down"}', {'Retry-After': '1'});
    }
    if (mode === 'refuse' || (mode === 'fail3' && count === 3)) {
      return answer(res, 400, '{"message":"this collector takes nothing"}');
    }
    if ((mode === 'jumble' || mode === 'fail3') && count % 3 === 0 &&
        !seen.has(res.key)) {
      seen.add(res.key);
      return answer(res, 503, '{"message":"busy"}', {'Retry-After': '0'});
    }
    fs.appendFileSync(path.join(dir, 'received.jsonl'), text + '\n');
    if ((mode === 'jumble' || mode === 'fail3') && count % 4 === 1) {
      return setTimeout(() => answer(res, 200, '{}'), 300);
    }
    if (mode === 'partial') {
      return answer(res, 200, '{"partialSuccess":{"rejectedSpans":"1",' +
                                  '"errorMessage":"one span too many"}}');
    }
    answer(res, 200, '{}');
  });
});
if (dir === '--spans') {
  const out = [];
  for (const line of fs.readFileSync(mode, 'utf8').split('\n')) {
    if (line === '') continue;
    const json = JSON.parse(line);
    hexIds(json);
    const o = Request.toObject(Request.fromObject(json),
                               {longs: String, enums: Number, bytes: String});
    for (const rs of o.resourceSpans || []) {
      for (const ss of rs.scopeSpans || []) {
        for (const span of ss.spans || []) {
          out.push(JSON.stringify({resource: rs.resource, scope: ss.scope, span}));
        }
      }
    }
  }
  console.log(out.sort().join('\n'));
  process.exit(0);
}
if (dir === '--normalize') {
  for (const line of fs.readFileSync(mode, 'utf8').split('\n')) {
    if (line === '') continue;
    const json = JSON.parse(line);
    hexIds(json);
    console.log(normalForm(Request.fromObject(json)));
  }
  process.exit(0);
}
server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(path.join(dir, 'port.tmp'), String(server.address().port));
  fs.renameSync(path.join(dir, 'port.tmp'), path.join(dir, 'port'));
});
