// check_otlp.js FILE [EXPECT]: decodes an OTLP/JSON trace export, as the
// OpenTelemetry Collector's otlpjsonfile receiver reads it: JSON Lines, each
// line one whole ExportTraceServiceRequest under 1 MiB (the receiver's
// default), with the protobuf types of @opentelemetry/otlp-transformer@0.203.0,
// strictly:
//  - every key must be a field of the protobuf message at that place,
//  - traceId / spanId must be 32 / 16 lowercase hex digits, not all zero
//    (OTLP/JSON's hex encoding, not proto3 JSON's base64),
//  - 64-bit integers must be decimal strings, enums integers,
//  - the message must survive fromObject -> encode -> decode unchanged.
// Then the spans' trees: span ids unique, kinds INTERNAL / SERVER / CLIENT,
// a CLIENT span's parent on its own node, a SERVER span with a parent has
// it on another node (the caller's CLIENT span), an ERROR status has a
// message, each node (peertrace.node_id) its own service.name.
// EXPECT (JSON) gives the span count, span events, error spans, span
// names and clock labels (by node id's first 8 hex digits) expected, and
// optionally: "lines" (at least), "kinds" ({"1": n, ...} exactly),
// "cross_node_parents" (at least), "parents_found" (true: every parent is in
// the file), "packet_events" (at least), "same_ids_as" (another export:
// every span there with the same trace, node, kind and name, and the same
// rank among those in time order, has the same span id here).
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

// One request per line; every line under 1 MiB.
function decodeFile(file) {
  const lines = fs.readFileSync(file).toString('utf8').split('\n');
  if (lines[lines.length - 1] !== '') fail(`${file}: the last line does not end`);
  lines.pop();
  const requests = [];
  lines.forEach((line, i) => {
    if (Buffer.byteLength(line) + 1 >= 1024 * 1024) {
      fail(`${file}: line ${i + 1} is ${Buffer.byteLength(line)} bytes (1 MiB at most)`);
    }
    let json;
    try {
      json = JSON.parse(line);
    } catch (e) {
      fail(`${file}: line ${i + 1} is not one JSON document: ${e.message}`);
    }
    walk(json, Request, `line ${i + 1}`);
    const err = Request.verify(Request.fromObject(json));
    if (err) fail('protobuf verify: ' + err);
    const message = Request.fromObject(json);
    const decoded = Request.decode(Request.encode(message).finish());
    requests.push(Request.toObject(decoded, {longs: String, enums: Number}));
  });
  return requests;
}

function attr(list, key) {
  const a = (list || []).find((x) => x.key === key);
  return a ? a.value : undefined;
}

function spansOf(requests) {
  const spans = [];
  const clocks = {};  // node id's first 8 hex digits -> clock label
  const services = {};  // node id -> service.name
  for (const back of requests) {
    for (const rs of back.resourceSpans || []) {
      const node = attr(rs.resource.attributes, 'peertrace.node_id');
      if (!node) fail('resource without peertrace.node_id');
      const service = attr(rs.resource.attributes, 'service.name');
      if (!service) fail('resource without service.name');
      const nodeId = node.stringValue;
      if (services[nodeId] !== undefined && services[nodeId] !== service.stringValue) {
        fail(`node ${nodeId} has two service names`);
      }
      services[nodeId] = service.stringValue;
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
      clocks[nodeId.slice(0, 8)] = clock;
      for (const ss of rs.scopeSpans || []) {
        for (const s of ss.spans || []) {
          const start = BigInt(s.startTimeUnixNano);
          const end = BigInt(s.endTimeUnixNano);
          if (end < start) fail(`span ${s.name}: ends before it starts`);
          for (const e of s.events || []) {
            const t = BigInt(e.timeUnixNano);
            if (t < start || t > end) fail(`span ${s.name}: event outside the span`);
          }
          const hex = (b) => (b && b.length ? Buffer.from(b).toString('hex') : '');
          spans.push({
            name: s.name,
            node: nodeId,
            traceId: hex(s.traceId),
            spanId: hex(s.spanId),
            parent: hex(s.parentSpanId),
            kind: s.kind,
            start: s.startTimeUnixNano,
            events: (s.events || []).length,
            packetEvents: (s.events || []).filter(
                (e) => e.name === 'packet_sent' || e.name === 'packet_lost').length,
            status: s.status ? s.status.code : 0,
            message: s.status ? s.status.message : '',
          });
        }
      }
    }
  }
  return {spans, clocks, services};
}

const requests = decodeFile(process.argv[2]);
const {spans, clocks, services} = spansOf(requests);
// Trees.
const byId = new Map();
for (const s of spans) {
  if (byId.has(s.spanId)) fail(`span id ${s.spanId} twice`);
  byId.set(s.spanId, s);
  if (![1, 2, 3].includes(s.kind)) fail(`span ${s.name}: kind ${s.kind}`);
  if (s.status === 2 && !s.message) fail(`span ${s.name}: ERROR without a message`);
}
const serviceNames = Object.values(services);
if (new Set(serviceNames).size !== serviceNames.length) {
  fail(`nodes share a service name: ${JSON.stringify(services)}`);
}
let crossParents = 0, missingParents = 0;
for (const s of spans) {
  if (!s.parent) continue;
  const p = byId.get(s.parent);
  if (!p) {
    missingParents++;
    continue;
  }
  if (p.traceId !== s.traceId) fail(`span ${s.name}: parent of another trace`);
  if (s.kind === 3 && p.node !== s.node) fail(`CLIENT span ${s.name}: parent on another node`);
  if (s.kind === 2) {
    if (p.node === s.node || p.kind !== 3) {
      fail(`SERVER span ${s.name}: parent is not a CLIENT span of another node`);
    }
    crossParents++;
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
if (expect.lines !== undefined && requests.length < expect.lines) {
  fail(`expected at least ${expect.lines} lines, got ${requests.length}`);
}
if (expect.kinds !== undefined) {
  const kinds = {};
  for (const s of spans) kinds[s.kind] = (kinds[s.kind] || 0) + 1;
  if (JSON.stringify(kinds) !== JSON.stringify(expect.kinds)) {
    fail(`expected kinds ${JSON.stringify(expect.kinds)}, got ${JSON.stringify(kinds)}`);
  }
}
if (expect.cross_node_parents !== undefined && crossParents < expect.cross_node_parents) {
  fail(`expected at least ${expect.cross_node_parents} SERVER spans under another ` +
       `node's CLIENT span, found ${crossParents}`);
}
if (expect.parents_found && missingParents) {
  fail(`${missingParents} spans name a parent that is not in the file`);
}
const packetEvents = spans.reduce((n, s) => n + s.packetEvents, 0);
if (expect.packet_events !== undefined && packetEvents < expect.packet_events) {
  fail(`expected at least ${expect.packet_events} packet events, got ${packetEvents}`);
}
if (expect.same_ids_as !== undefined) {
  const other = spansOf(decodeFile(expect.same_ids_as)).spans;
  // The same span: same trace, node, kind and name, and the same place
  // among those in time order (times may differ: aligned or not).
  const keyed = (list) => {
    const rank = new Map();
    return new Map(list.slice()
                       .sort((x, y) => (BigInt(x.start) < BigInt(y.start) ? -1 : 1))
                       .map((s) => {
                         const k = `${s.traceId} ${s.node} ${s.kind} ${s.name}`;
                         const n = rank.get(k) || 0;
                         rank.set(k, n + 1);
                         return [`${k} ${n}`, s];
                       }));
  };
  const here = keyed(spans);
  const theirs = keyed(other);
  let compared = 0;
  for (const [k, o] of theirs) {
    const h = here.get(k);
    if (!h) continue;
    compared++;
    if (h.spanId !== o.spanId) fail(`span ${o.name} of ${o.node.slice(0, 8)}: id ` +
                                    `${h.spanId} here, ${o.spanId} in ${expect.same_ids_as}`);
  }
  if (compared === 0) fail(`no span in common with ${expect.same_ids_as}`);
  console.log(`check_otlp: ${compared} spans have the same ids as in ${expect.same_ids_as}`);
}
console.log(`check_otlp: ${requests.length} lines, ${spans.length} spans decoded ` +
            `(${crossParents} under another node's CLIENT span, ${packetEvents} ` +
            `packet events); clocks ${JSON.stringify(clocks)}`);
