// check_qlog_pairs.js DIR [MIN_PAIRS]: the qlog files of `peertrace export
// qlog --split DIR` over every node's dump, read as qvis pairs two traces:
// the files of one connection share common_fields.group_id (its conn, 16
// hex digits); there must be exactly two, one with vantage_point.type
// "client" and one "server", and every transport:packet_received of one
// has the other's transport:packet_sent of the same packet type and number
// (sent packets without a receipt are losses: allowed), with the same
// stream frames.  At least MIN_PAIRS (default 1) packets must pair over
// all connections, and some of them carry frames.  Exit 0, or 1 with the
// reason.
'use strict';
const fs = require('fs');
const path = require('path');

function fail(msg) {
  console.error('check_qlog_pairs: ' + msg);
  process.exit(1);
}

const dir = process.argv[2];
const minPairs = Number(process.argv[3] || 1);
const groups = {};
for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.sqlog'))) {
  const records = fs.readFileSync(path.join(dir, name), 'latin1')
                      .split('\x1e')
                      .slice(1)
                      .map((r) => JSON.parse(r));
  const trace = records[0].trace;
  const group = trace.common_fields.group_id;
  if (!/^[0-9a-f]{16}$/.test(group)) continue;  // no connection: app events
  const sent = new Map(), received = new Map();
  for (const e of records.slice(1)) {
    if (e.name !== 'transport:packet_sent' &&
        e.name !== 'transport:packet_received') {
      continue;
    }
    const key = e.data.header.packet_type + '/' + e.data.header.packet_number;
    (e.name === 'transport:packet_sent' ? sent : received)
        .set(key, JSON.stringify(e.data.frames || []));
  }
  (groups[group] = groups[group] || [])
      .push({name, type: trace.vantage_point.type, sent, received});
}
let pairs = 0, framed = 0, conns = 0;
for (const [group, files] of Object.entries(groups)) {
  if (files.length !== 2) {
    fail(`connection ${group}: ${files.length} files (` +
         files.map((f) => f.name).join(', ') + '), expected its two ends');
  }
  const types = files.map((f) => f.type).sort().join(',');
  if (types !== 'client,server') {
    fail(`connection ${group}: vantage points ${types}, expected client,server`);
  }
  for (const [from, to] of [[files[0], files[1]], [files[1], files[0]]]) {
    for (const [key, frames] of to.received) {
      if (!from.sent.has(key)) {
        fail(`connection ${group}: ${to.name} received ${key}, which ` +
             `${from.name} never sent`);
      }
      if (from.sent.get(key) !== frames) {
        fail(`connection ${group}: ${key} frames differ: sent ` +
             `${from.sent.get(key)}, received ${frames}`);
      }
      pairs++;
      if (frames !== '[]') framed++;
    }
  }
  conns++;
}
if (pairs < minPairs) fail(`${pairs} packets paired, expected >= ${minPairs}`);
if (framed === 0) fail('no paired packet carries stream frames');
console.log(`check_qlog_pairs: ${conns} connections, client and server each; ` +
            `${pairs} packets paired sent -> received, ${framed} with frames`);
