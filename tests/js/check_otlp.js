// check_otlp.js FILE.json [EXPECT]: decodes an OTLP/JSON trace export with
// the protobuf types of @opentelemetry/otlp-transformer@0.203.0
// (ExportTraceServiceRequest), strictly:
//  - every key must be a field of the protobuf message at that place,
//  - traceId / spanId must be 32 / 16 lowercase hex digits, not all zero
//    (OTLP/JSON's hex encoding, not proto3 JSON's base64),
//  - 64-bit integers must be decimal strings, enums integers,
//  - the message must survive fromObject -> encode -> decode unchanged.
// EXPECT (JSON) gives the span count, span events, error spans, span
// names and clock labels (by node id's first 8 hex digits) expected.
'use strict';
const fs = require('fs');
const root =
    require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
const p = root.opentelemetry.proto;
const Request = p.collector.trace.v1.ExportTraceServiceRequest;

function fail(msg) {
  console.error('check_otlp: ' + msg);
  process.exit(1);
}

// Child message types by field name (all we use below a request).
const children = {
  resourceSpans: p.trace.v1.ResourceSpans,
  resource: p.resource.v1.Resource,
  scopeSpans: p.trace.v1.ScopeSpans,
  scope: p.common.v1.InstrumentationScope,
  spans: p.trace.v1.Span,
  events: p.trace.v1.Span.Event,
  links: p.trace.v1.Span.Link,
  attributes: p.common.v1.KeyValue,
  value: p.common.v1.AnyValue,
  status: p.trace.v1.Status,
  arrayValue: p.common.v1.ArrayValue,
  kvlistValue: p.common.v1.KeyValueList,
};
const int64Fields = new Set([
  'startTimeUnixNano', 'endTimeUnixNano', 'timeUnixNano', 'intValue'
]);
const idFields = {traceId: 32, spanId: 16, parentSpanId: 16};

function fieldsOf(type) {
  return new Set(Object.keys(type.prototype).filter((k) => k !== 'toJSON'));
}

// Checks obj against type; converts hex ids to bytes for protobufjs.
function walk(obj, type, where) {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    fail(`${where}: expected an object`);
  }
  const fields = fieldsOf(type);
  for (const key of Object.keys(obj)) {
    if (!fields.has(key)) fail(`${where}: unknown field "${key}"`);
    const v = obj[key];
    if (key in idFields) {
      const n = idFields[key];
      if (typeof v !== 'string' || !new RegExp(`^[0-9a-f]{${n}}$`).test(v)) {
        fail(`${where}.${key}: not ${n} lowercase hex digits: ${v}`);
      }
      if (/^0+$/.test(v)) fail(`${where}.${key}: all zero`);
      obj[key] = Buffer.from(v, 'hex');
    } else if (int64Fields.has(key)) {
      if (typeof v !== 'string' || !/^[0-9]+$/.test(v)) {
        fail(`${where}.${key}: 64-bit integers must be decimal strings`);
      }
    } else if (key === 'kind' || key === 'code') {
      if (!Number.isInteger(v)) fail(`${where}.${key}: enums are integers`);
    } else if (key in children && typeof v === 'object') {
      const list = Array.isArray(v) ? v : [v];
      list.forEach((item, i) => walk(item, children[key], `${where}.${key}[${i}]`));
    }
  }
}

const json = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
walk(json, Request, 'request');
const err = Request.verify(Request.fromObject(json));
if (err) fail('protobuf verify: ' + err);
const message = Request.fromObject(json);
const decoded = Request.decode(Request.encode(message).finish());
const back = Request.toObject(decoded, {longs: String, enums: Number});

const spans = [];
const clocks = {};  // node id's first 8 hex digits -> clock label
for (const rs of back.resourceSpans || []) {
  const node = (rs.resource.attributes || [])
                   .find((a) => a.key === 'peertrace.node_id');
  if (!node) fail('resource without peertrace.node_id');
  // The clock label (pt_exporter_set_clock), as decoded from protobuf.
  const clock = {};
  for (const a of rs.resource.attributes) {
    if (a.key.startsWith('peertrace.clock.')) {
      const v = a.value;
      clock[a.key.slice(16)] = 'doubleValue' in v ? v.doubleValue : v.stringValue;
    }
  }
  if (!['aligned', 'raw'].includes(clock.times)) {
    fail('resource without peertrace.clock.times aligned or raw');
  }
  clocks[node.value.stringValue.slice(0, 8)] = clock;
  for (const ss of rs.scopeSpans || []) {
    for (const s of ss.spans || []) {
      const start = BigInt(s.startTimeUnixNano);
      const end = BigInt(s.endTimeUnixNano);
      if (end < start) fail(`span ${s.name}: ends before it starts`);
      for (const e of s.events || []) {
        const t = BigInt(e.timeUnixNano);
        if (t < start || t > end) fail(`span ${s.name}: event outside the span`);
      }
      spans.push({
        name: s.name,
        traceId: Buffer.from(s.traceId).toString('hex'),
        events: (s.events || []).length,
        status: s.status ? s.status.code : 0,
      });
    }
  }
}
const expect = JSON.parse(process.argv[3] || '{}');
if (expect.spans !== undefined && spans.length !== expect.spans) {
  fail(`expected ${expect.spans} spans, decoded ${spans.length}`);
}
if (expect.events !== undefined) {
  const total = spans.reduce((n, s) => n + s.events, 0);
  if (total !== expect.events) fail(`expected ${expect.events} span events, decoded ${total}`);
}
if (expect.errors !== undefined) {
  const errors = spans.filter((s) => s.status === 2).length;
  if (errors !== expect.errors) fail(`expected ${expect.errors} error spans, found ${errors}`);
}
if (expect.names !== undefined) {
  const names = spans.map((s) => s.name).sort();
  const want = expect.names.slice().sort();
  if (JSON.stringify(names) !== JSON.stringify(want)) {
    fail(`expected span names ${JSON.stringify(want)}, got ${JSON.stringify(names)}`);
  }
}
if (expect.clocks !== undefined) {
  // Same keys, same values, whatever the order.
  const canon = (o) => JSON.stringify(
      Object.keys(o).sort().map((k) => [k, typeof o[k] === 'object' ? canon(o[k]) : o[k]]));
  if (canon(clocks) !== canon(expect.clocks)) {
    fail(`expected clock labels ${JSON.stringify(expect.clocks)}, got ` +
         JSON.stringify(clocks));
  }
}
console.log('check_otlp: ' + spans.length + ' spans decoded: ' +
            JSON.stringify(spans) + ', clocks ' + JSON.stringify(clocks));
