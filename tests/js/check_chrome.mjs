// check_chrome.mjs TRACE.json EVENTS.json [EXPECT]: reads a peertrace
// Chrome JSON export (TRACE) with Chrome DevTools' own trace engine
// (@paulirish/trace_engine, the performance panel's model) and checks it
// against the events it came from (EVENTS: `peertrace export json` of the
// same dumps):
//  - Perfetto's JSON rules, replayed as its importer applies them (events in
//    ts order, file order for equal ts; per thread, a stack of slices where
//    a slice ends at ts + dur, open on the right; a complete slice that
//    starts inside another and ends after it is dropped): no slice dropped,
//    no event with v2 flow fields (bind_id / flow_in / flow_out), every flow
//    one "s" then one "f" (bp "e") on another node (or an "s" alone: a
//    packet never received), each bound to the
//    topmost slice of its thread at its ts, which has that ts and category,
//    the "f" strictly after the "s";
//  - DevTools: the flows its FlowsHandler finds are, one for one, the
//    request hops, reply hops and delivered packets found in EVENTS, each
//    joining the right events (same trace; same connection, space and
//    packet number); its renderer keeps every request slice, and the slices
//    of each thread nest;
//  - counters: every "C" event as Perfetto's importer reads it (numeric
//    args, each key a process counter track "<name> <key>"), on the thread
//    of its connection's track (the one named as the counter); the
//    cwnd / bytes_in_flight / RTT samples are, one for one and in order,
//    the recovery_metrics of EVENTS of that node and connection (RTTs once
//    sampled).  DevTools' engine (0.0.65) has no handler for generic
//    counters (only MemoryHandler's UpdateCounters): it must parse the file
//    with them, and draws them nowhere.
// EXPECT (JSON) may give minimum counts: {"request": N, "reply": N,
// "packet": N, "metrics": N}, so that a check on an empty trace cannot
// pass.
import fs from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';

function fail(msg) {
  console.error('check_chrome: ' + msg);
  process.exit(1);
}

const [tracePath, eventsPath, expectText] = process.argv.slice(2);
const trace = JSON.parse(fs.readFileSync(tracePath, 'utf8'));
const source = JSON.parse(fs.readFileSync(eventsPath, 'utf8'));
const events = trace.traceEvents;
if (!Array.isArray(events)) fail('no traceEvents array');

// ---- What EVENTS says should be drawn ------------------------------------
// Node index -> pid (index + 1); peers by id.
const nodeOf = new Map(source.nodes.map((n) => [n.node_id, n.index]));
const want = {request: 0, reply: 0, packet: 0};
{
  const pending = new Map();  // key -> count of starts not yet ended
  const take = (key) => {
    const n = pending.get(key) || 0;
    if (n === 0) return false;
    pending.set(key, n - 1);
    return true;
  };
  const put = (key) => pending.set(key, (pending.get(key) || 0) + 1);
  for (const e of source.events) {  // in time order, as exported
    const peer = e.peer_id ? nodeOf.get(e.peer_id) : undefined;
    const d = e.data || {};
    const zeroTrace = /^0+$/.test(e.trace_id);
    if (e.kind === 'app_command' && peer !== undefined && !zeroTrace) {
      put(`q ${e.trace_id} ${e.node} ${peer}`);
    } else if (e.kind === 'app_start' && peer !== undefined && !zeroTrace) {
      if (take(`q ${e.trace_id} ${peer} ${e.node}`)) want.request++;
    } else if (e.kind === 'app_end' && !zeroTrace) {
      if (take(`r ${e.trace_id} ${e.node}`)) want.reply++;
      if (peer !== undefined && peer !== e.node) put(`r ${e.trace_id} ${peer}`);
    } else if (e.kind === 'packet_sent' && peer !== undefined && d.conn &&
               !/^0+$/.test(d.conn)) {
      put(`p ${d.conn} ${d.space} ${d.pn} ${e.node}`);
    } else if (e.kind === 'packet_received' && peer !== undefined && d.conn &&
               !/^0+$/.test(d.conn)) {
      if (take(`p ${d.conn} ${d.space} ${d.pn} ${peer}`)) want.packet++;
    }
  }
}
const appEnds = source.events.filter((e) => e.kind === 'app_end').length;
// The counter samples the recovery_metrics events call for, per
// "pid/counter name", in time order.
const wantMetrics = new Map();
for (const e of source.events) {
  if (e.kind !== 'recovery_metrics') continue;
  const d = e.data;
  const key = `${e.node + 1}/conn ${d.conn.slice(0, 8)}`;
  const args = {cwnd: d.cwnd, bytes_in_flight: d.bytes_in_flight};
  if (d.min_rtt_us > 0) {
    Object.assign(args, {latest_rtt_us: d.latest_rtt_us,
                         min_rtt_us: d.min_rtt_us,
                         smoothed_rtt_us: d.smoothed_rtt_us});
  }
  if (!wantMetrics.has(key)) wantMetrics.set(key, []);
  wantMetrics.get(key).push(args);
}

// ---- Perfetto's rules ------------------------------------------------------
const order = events.map((e, i) => [e, i])
                  .filter(([e]) => e.ph !== 'M')
                  .sort((a, b) => a[0].ts - b[0].ts || a[1] - b[1]);
const stacks = new Map();  // "pid/tid" -> [{ts, end, ev}]
const flowParts = new Map();  // "cat/name/id" -> [{ph, ev, bound}]
let dropped = 0;
for (const [e] of order) {
  for (const k of ['bind_id', 'flow_in', 'flow_out']) {
    if (k in e) fail(`event ${e.name} has v2 flow field ${k}`);
  }
  const thread = `${e.pid}/${e.tid}`;
  if (!stacks.has(thread)) stacks.set(thread, []);
  const stack = stacks.get(thread);
  if (e.ph === 'X' || (e.ph === 'i' && e.s === 't')) {
    const dur = e.ph === 'X' ? e.dur : 0;
    if (!(dur >= 0)) fail(`slice ${e.name} without a duration`);
    // SliceTracker::MaybeCloseStack, for complete slices.
    let drop = false;
    for (let i = stack.length - 1; i >= 0; i--) {
      const top = stack[i];
      const endsBefore = top.end < e.ts;
      const endsSame = top.end === e.ts && !(top.dur === 0 && dur === 0);
      if (endsBefore || endsSame) {
        stack.pop();
        continue;
      }
      if (e.ts < top.end && e.ts + dur > top.end) drop = true;
    }
    if (drop) {
      dropped++;
      continue;
    }
    stack.push({ts: e.ts, dur, end: e.ts + dur, ev: e});
  } else if (e.ph === 's' || e.ph === 't' || e.ph === 'f') {
    if (e.id === undefined || !e.cat || !e.name) fail('flow event without id, cat or name');
    if (e.ph === 'f' && e.bp !== 'e') fail('flow end without bp "e"');
    const top = stack[stack.length - 1];
    if (!top || top.ts !== e.ts || top.ev.cat !== e.cat) {
      fail(`flow ${e.name} ${e.id} (${e.ph}) at ${e.ts} on ${thread} binds to ` +
           (top ? `${top.ev.name} at ${top.ts}` : 'nothing'));
    }
    const key = `${e.cat}/${e.name}/${e.id}`;
    if (!flowParts.has(key)) flowParts.set(key, []);
    flowParts.get(key).push({ph: e.ph, ev: top.ev, flow: e});
  }
}
if (dropped) fail(`${dropped} slices overlap without nesting (Perfetto drops them)`);
for (const [key, parts] of flowParts) {
  const phases = parts.map((p) => p.ph).join('');
  // A start alone (a packet never received) draws nothing and is no error.
  if (phases === 's') continue;
  if (phases !== 'sf') fail(`flow ${key}: phases "${phases}", not one s then one f`);
  if (parts[0].flow.pid === parts[1].flow.pid) fail(`flow ${key} stays on one node`);
  // DevTools keeps a flow's events by ts: ends that share one make no arrow.
  if (!(parts[1].flow.ts > parts[0].flow.ts)) fail(`flow ${key} ends at its start's ts`);
}

// ---- Counters, as Perfetto's JSON importer reads them ----------------------
// A "C" event: each arg a number (else Perfetto skips it and counts a
// json_parser_failure) on the process counter track "<name> <key>" of its
// pid.  Ours sit on their connection's thread: the tid named as they are.
const threadNames = new Map(events.filter((e) => e.ph === 'M' &&
                                               e.name === 'thread_name')
                                .map((e) => [`${e.pid}/${e.tid}`, e.args.name]));
const tracks = new Set();
const gotMetrics = new Map();
for (const e of events) {
  if (e.ph !== 'C') continue;
  if (typeof e.name !== 'string' || !Number.isInteger(e.pid) ||
      typeof e.ts !== 'number' || !e.args || typeof e.args !== 'object') {
    fail(`counter event without name, pid, ts or args: ${JSON.stringify(e)}`);
  }
  for (const [k, v] of Object.entries(e.args)) {
    if (typeof v !== 'number') fail(`counter ${e.name}: ${k} is not a number`);
    tracks.add(`${e.pid}/${e.name} ${k}`);
  }
  if (threadNames.get(`${e.pid}/${e.tid}`) !== e.name) {
    fail(`counter ${e.name} on thread ${e.pid}/${e.tid} named ` +
         `${threadNames.get(`${e.pid}/${e.tid}`)}`);
  }
  if ('cwnd' in e.args) {
    const key = `${e.pid}/${e.name}`;
    if (!gotMetrics.has(key)) gotMetrics.set(key, []);
    gotMetrics.get(key).push(e.args);
  }
}
let metrics = 0;
for (const key of new Set([...wantMetrics.keys(), ...gotMetrics.keys()])) {
  const w = wantMetrics.get(key) || [], g = gotMetrics.get(key) || [];
  if (w.length !== g.length) {
    fail(`counter ${key}: ${g.length} metrics samples, the events have ${w.length}`);
  }
  w.forEach((args, i) => {
    if (JSON.stringify(Object.entries(g[i]).sort()) !==
        JSON.stringify(Object.entries(args).sort())) {
      fail(`counter ${key} sample ${i}: ${JSON.stringify(g[i])}, the ` +
           `event says ${JSON.stringify(args)}`);
    }
  });
  metrics += w.length;
  for (const series of ['cwnd', 'bytes_in_flight']) {
    if (!tracks.has(`${key} ${series}`)) fail(`no Perfetto track ${key} ${series}`);
  }
}

// ---- DevTools' trace engine ------------------------------------------------
const modules = process.env.NODE_PATH || 'node_modules';
// The engine runs in browsers; in Node it needs DOMRect (its README says so).
globalThis.DOMRect = class DOMRect {
  constructor(x = 0, y = 0, width = 0, height = 0) {
    Object.assign(this, {x, y, width, height});
  }
};
// URL.parse (WHATWG: the URL, or null if it does not parse) is in Node 22
// and 20.18+, not in Debian 12's Node 18, where the engine calls it on the
// trace's (absent) navigation URL: the same function, for older Nodes.
if (typeof URL.parse !== 'function') {
  URL.parse = (url, base) => {
    try {
      return new URL(url, base);
    } catch {
      return null;
    }
  };
}
const Trace = await import(pathToFileURL(
    path.join(modules, '@paulirish/trace_engine/models/trace/trace.js')).href);
const model = Trace.TraceModel.Model.createWithAllHandlers();
await model.parse(events);
const data = model.parsedTrace().data;
const got = {request: 0, reply: 0, packet: 0};
for (const flow of data.Flows.flows) {
  if (flow.length !== 2) fail(`a DevTools flow of ${flow.length} events`);
  const [a, b] = flow;
  if (a.pid === b.pid) fail(`DevTools flow ${a.name} -> ${b.name} on one node`);
  if (a.name === 'packet_sent' && b.name === 'packet_received') {
    const x = a.args.data, y = b.args.data;
    if (x.conn !== y.conn || x.pn !== y.pn || x.space !== y.space) {
      fail(`packet flow joins ${JSON.stringify(x)} and ${JSON.stringify(y)}`);
    }
    got.packet++;
  } else if (a.name.includes(' -> ') && !a.name.startsWith('reply') &&
             b.ph === 'X' && b.dur >= 0) {
    if (a.args.trace_id !== b.args.trace_id) {
      fail(`request flow joins traces ${a.args.trace_id} and ${b.args.trace_id}`);
    }
    got.request++;
  } else if (a.name.startsWith('reply -> ') && b.name === 'reply received') {
    got.reply++;
  } else {
    fail(`DevTools flow from ${a.name} to ${b.name}`);
  }
}
for (const k of Object.keys(want)) {
  if (got[k] !== want[k]) {
    fail(`DevTools finds ${got[k]} ${k} flows; the events have ${want[k]}`);
  }
}
const expect = JSON.parse(expectText || '{}');
got.metrics = metrics;
for (const k of Object.keys(expect)) {
  if (!(got[k] >= expect[k])) fail(`${got[k]} ${k}, expected at least ${expect[k]}`);
}
// The RTT tracks of connections with samples.
const sampledConns = [...wantMetrics].filter(
    ([, w]) => w.some((a) => 'latest_rtt_us' in a)).map(([k]) => k);
for (const key of sampledConns) {
  for (const s of ['latest_rtt_us', 'min_rtt_us', 'smoothed_rtt_us']) {
    if (!tracks.has(`${key} ${s}`)) fail(`no Perfetto track ${key} ${s}`);
  }
}
// Every request slice kept by the renderer, and nested on its thread.  A
// request slice carries its app_end's fields, or unfinished.
const isRequest = (e) => e.ph === 'X' && e.args &&
    (e.args.kind === 'app_end' || e.args.unfinished === true);
const fileRequests = events.filter(isRequest).length;
if (fileRequests < appEnds) fail(`${fileRequests} request slices for ${appEnds} app_end events`);
let requestSlices = 0;
for (const [, proc] of data.Renderer.processes) {
  for (const [, thread] of proc.threads) {
    const slices = thread.entries.filter((e) => e.ph === 'X')
                       .sort((x, y) => x.ts - y.ts || y.dur - x.dur);
    const open = [];
    for (const s of slices) {
      while (open.length && open[open.length - 1] <= s.ts) open.pop();
      if (open.length && s.ts + s.dur > open[open.length - 1]) {
        fail(`DevTools: ${s.name} at ${s.ts} overlaps its parent without nesting`);
      }
      open.push(s.ts + s.dur);
      if (isRequest(s)) requestSlices++;
    }
  }
}
if (requestSlices !== fileRequests) {
  fail(`DevTools keeps ${requestSlices} of the ${fileRequests} request slices`);
}
console.log(`check_chrome: ${got.request} request, ${got.reply} reply and ` +
            `${got.packet} packet flows (as in the events); ${requestSlices} ` +
            `request slices, none dropped, all nested; ${metrics} metrics ` +
            `counter samples (as in the events) on ${tracks.size} Perfetto ` +
            `counter tracks, RTT tracks for ${sampledConns.length} connection ends`);
