// check_qlog_metrics.js DIR EVENTS.json [MIN_CONNS]: the recovery metrics
// of `peertrace export qlog --split DIR`, read as qvis's congestion graph
// reads them: each connection file's recovery:metrics_updated records
// that carry a congestion_window are, one for one and in order, the
// recovery_metrics events of that node and connection in EVENTS.json
// (`peertrace export json` of the same dumps): latest_rtt, min_rtt,
// smoothed_rtt and rtt_variance in ms (the events' us / 1000), latest and
// min only once sampled, congestion_window and bytes_in_flight in bytes;
// once sampled, min_rtt <= latest_rtt and min_rtt <= smoothed_rtt.  At
// least MIN_CONNS (default 1) files must hold an RTT sample.  Exit 0, or 1
// with the reason.
'use strict';
const fs = require('fs');
const path = require('path');

function fail(msg) {
  console.error('check_qlog_metrics: ' + msg);
  process.exit(1);
}

const dir = process.argv[2];
const doc = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const minConns = Number(process.argv[4] || 1);
// The events of each (node id, conn), in time order.
const byConn = new Map();
for (const e of doc.events) {
  if (e.kind !== 'recovery_metrics') continue;
  const key = doc.nodes[e.node].node_id + '/' + e.data.conn;
  if (!byConn.has(key)) byConn.set(key, []);
  byConn.get(key).push(e.data);
}
const ms = (us) => us / 1000;
let files = 0, sampled = 0, records = 0;
for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.sqlog'))) {
  const recs = fs.readFileSync(path.join(dir, name), 'latin1')
                   .split('\x1e')
                   .slice(1)
                   .map((r) => JSON.parse(r));
  const trace = recs[0].trace;
  const conn = trace.common_fields.group_id;
  if (!/^[0-9a-f]{16}$/.test(conn)) continue;  // no connection: app events
  const want = byConn.get(trace.vantage_point.name + '/' + conn) || [];
  const got = recs.slice(1).filter(
      (r) => r.name === 'recovery:metrics_updated' &&
             'congestion_window' in r.data);
  if (got.length !== want.length) {
    fail(`${name}: ${got.length} metrics_updated records with a ` +
         `congestion_window, the dump has ${want.length} recovery_metrics`);
  }
  let hasSample = false;
  got.forEach((r, i) => {
    const d = r.data, m = want[i];
    const sample = m.min_rtt_us > 0;
    const expect = {
      smoothed_rtt: ms(m.smoothed_rtt_us),
      rtt_variance: ms(m.rtt_variance_us),
      congestion_window: m.cwnd,
      bytes_in_flight: m.bytes_in_flight,
    };
    if (sample) {
      expect.latest_rtt = ms(m.latest_rtt_us);
      expect.min_rtt = ms(m.min_rtt_us);
    }
    const keys = Object.keys(d).sort().join(',');
    if (keys !== Object.keys(expect).sort().join(',')) {
      fail(`${name}: record ${i} has ${keys}, expected ` +
           Object.keys(expect).sort().join(','));
    }
    for (const [k, v] of Object.entries(expect)) {
      if (Math.abs(d[k] - v) > 1e-9) {
        fail(`${name}: record ${i}: ${k} ${d[k]}, the event says ${v}`);
      }
    }
    if (sample) {
      if (!(d.min_rtt <= d.latest_rtt && d.min_rtt <= d.smoothed_rtt)) {
        fail(`${name}: record ${i}: min_rtt ${d.min_rtt} above latest ` +
             `${d.latest_rtt} or smoothed ${d.smoothed_rtt}`);
      }
      hasSample = true;
    }
    records++;
  });
  files++;
  sampled += hasSample ? 1 : 0;
}
if (sampled < minConns) {
  fail(`${sampled} of ${files} connection files hold an RTT sample, ` +
       `expected at least ${minConns}`);
}
console.log(`check_qlog_metrics: ${records} metrics records in ${files} ` +
            `connection files, ${sampled} with RTT samples`);
