// check_qlog.js FILE.sqlog: validates a qlog 0.3 JSON-SEQ file with ajv
// against qlog-0.3-seq.schema.json and checks what the sample scenario must
// contain (EXPECT: event counts by name, and "peertrace_clock" / "frames":
// the header's clock label and the packets' stream frames).  Exit 0 if valid, 1 with the reasons otherwise.
'use strict';
const fs = require('fs');
const path = require('path');
const Ajv = require('ajv');

const schema = JSON.parse(
    fs.readFileSync(path.join(__dirname, 'qlog-0.3-seq.schema.json'), 'utf8'));
const ajv = new Ajv({allErrors: true, strict: false});
ajv.addSchema(schema);
const validateHeader = ajv.getSchema(schema.$id + '#/definitions/header');
const validateEvent = ajv.getSchema(schema.$id + '#/definitions/event');

function fail(msg) {
  console.error('check_qlog: ' + msg);
  process.exit(1);
}

const text = fs.readFileSync(process.argv[2], 'latin1');
// RFC 7464: every record is RS, JSON text, LF.
if (text[0] !== '\x1e') fail('file does not start with a record separator');
const records = text.split('\x1e').slice(1);
for (const r of records) {
  if (!r.endsWith('\n')) fail('record not terminated by LF: ' + r.slice(0, 60));
}
const parsed = records.map((r, i) => {
  try {
    return JSON.parse(r);
  } catch (e) {
    fail(`record ${i}: not JSON: ${e.message}`);
  }
});
if (!validateHeader(parsed[0])) {
  fail('header: ' + ajv.errorsText(validateHeader.errors));
}
// The clock label (pt_exporter_set_clock) of the trace's node.
const clock = ((parsed[0].trace || {}).common_fields || {}).peertrace_clock;
if (!clock || !['aligned', 'raw'].includes(clock.times)) {
  fail('header: no common_fields.peertrace_clock with times aligned or raw');
}
let last = -1;
let frames = 0;
const names = {};
for (let i = 1; i < parsed.length; i++) {
  if (!validateEvent(parsed[i])) {
    fail(`event ${i}: ` + ajv.errorsText(validateEvent.errors) + ' in ' +
         JSON.stringify(parsed[i]));
  }
  if (parsed[i].time < last) fail(`event ${i}: time goes backwards`);
  last = parsed[i].time;
  names[parsed[i].name] = (names[parsed[i].name] || 0) + 1;
  for (const f of parsed[i].data.frames || []) {
    // What qvis's packetization view reads of a stream frame.
    if (f.frame_type !== 'stream' ||
        ![f.stream_id, f.offset, f.length].every(Number.isInteger)) {
      fail(`event ${i}: bad frame ${JSON.stringify(f)}`);
    }
    frames++;
  }
}
const expect = JSON.parse(process.argv[3] || '{}');
// Keys without a ':' are not event names: the clock label and frame count.
if ('peertrace_clock' in expect &&
    JSON.stringify(clock) !== JSON.stringify(expect.peertrace_clock)) {
  fail(`clock label ${JSON.stringify(clock)}, expected ` +
       JSON.stringify(expect.peertrace_clock));
}
if ('frames' in expect && frames !== expect.frames) {
  fail(`expected ${expect.frames} frames, found ${frames}`);
}
delete expect.peertrace_clock;
delete expect.frames;
for (const [name, count] of Object.entries(expect)) {
  if ((names[name] || 0) !== count) {
    fail(`expected ${count} x ${name}, found ${names[name] || 0}`);
  }
}
console.log(`check_qlog: ${parsed.length - 1} events valid: ` +
            JSON.stringify(names) + `, ${frames} frames, clock ` +
            JSON.stringify(clock));
