// otlp_receiver.js DIR MODE: a local OTLP/HTTP receiver on 127.0.0.1 for
// the push tests.  Listens on a free port, writes it to DIR/port, and for
// each POST /v1/traces decodes the body as OTLP/JSON with the protobuf types
// of @opentelemetry/otlp-transformer (ExportTraceServiceRequest.fromObject
// and verify; ids as OTLP/JSON's hex), appends the body as one line to
// DIR/received.jsonl and the status it answered to DIR/log.  MODE:
//   ok        200 {} for every valid request (400 for an invalid one)
//   flaky     503 with Retry-After: 0 twice, then as ok
//   later     429 with Retry-After: 1 once, then as ok
//   refuse    400 with a message, always
//   partial   200 with partialSuccess.rejectedSpans 1
//   count     (benchmarks) JSON.parse only, no protobuf decoding, no copy:
//             appends the request's span count to DIR/received.jsonl
//   proto     takes application/x-protobuf only: decodes the body with
//             ExportTraceServiceRequest.decode and appends the message, in
//             the normal form below, to DIR/received.jsonl
// Runs until killed.
// otlp_receiver.js --normalize FILE: prints each OTLP/JSON line of FILE in
// that normal form (protobufjs' toObject: 64-bit integers as strings, enums
// as numbers, bytes as base64), to compare a protobuf push with the file.
'use strict';
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
        typeof v[k] === 'string') {
      v[k] = Buffer.from(v[k], 'hex');
    } else {
      hexIds(v[k]);
    }
  }
}

function answer(res, status, body, headers) {
  fs.appendFileSync(path.join(dir, 'log'), `${status}\n`);
  fs.appendFileSync(path.join(dir, 'times'), `${Date.now()}\n`);
  res.writeHead(status, Object.assign({'Content-Type': 'application/json'}, headers || {}));
  res.end(body);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    count++;
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
    if (mode === 'refuse') {
      return answer(res, 400, '{"message":"this collector takes nothing"}');
    }
    fs.appendFileSync(path.join(dir, 'received.jsonl'), text + '\n');
    if (mode === 'partial') {
      return answer(res, 200, '{"partialSuccess":{"rejectedSpans":"1",' +
                                  '"errorMessage":"one span too many"}}');
    }
    answer(res, 200, '{}');
  });
});
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
