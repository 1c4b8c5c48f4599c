'use strict';
// wire.js: what sioclient.js and sioserver.js share: the JSON-lines report
// stream on stdout, the command stream on stdin, and the mapping between
// binary values and {"$binary": "<base64>"}, which JSON cannot carry.

const path = require('node:path');
const readline = require('node:readline');
const { createRequire } = require('node:module');

// requireFromRoot loads an npm package the way a script at the module root
// would: from <root>/node_modules, where `npm ci` installs the pinned
// versions. The Go side passes the root in NODEPEER_ROOT (this file itself
// runs from a temporary directory, where a stray node_modules above it must
// not win).
const requireFromRoot = process.env.NODEPEER_ROOT
  ? createRequire(path.join(process.env.NODEPEER_ROOT, 'package.json'))
  : require;

// report writes one report as a JSON line on stdout. Writes to a pipe are
// synchronous on Linux, so nothing written is lost by a later process.exit.
function report(r) {
  process.stdout.write(JSON.stringify(r) + '\n');
}

// toWire replaces every Buffer, ArrayBuffer and typed array in v (at any
// depth) by {"$binary": base64}. It must run before JSON.stringify, which
// would turn a Buffer into {"type":"Buffer","data":[...]}.
function toWire(v) {
  if (Buffer.isBuffer(v)) return { $binary: v.toString('base64') };
  if (v instanceof ArrayBuffer) return { $binary: Buffer.from(v).toString('base64') };
  if (ArrayBuffer.isView(v)) {
    return { $binary: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  }
  if (Array.isArray(v)) return v.map(toWire);
  if (v !== null && typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = toWire(x);
    return out;
  }
  return v;
}

// fromWire is toWire's inverse: {"$binary": base64} becomes a Buffer, which
// socket.io sends as a binary attachment.
function fromWire(v) {
  if (Array.isArray(v)) return v.map(fromWire);
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === '$binary' && typeof v.$binary === 'string') {
      return Buffer.from(v.$binary, 'base64');
    }
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = fromWire(x);
    return out;
  }
  return v;
}

// commands calls handle with every JSON line read from stdin, and end once
// stdin closes: the Go side closes it to stop the process, and it closes by
// itself if the Go test binary dies, so no Node process outlives its test.
function commands(handle, end) {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    let cmd;
    try {
      cmd = JSON.parse(line);
    } catch (err) {
      report({ kind: 'error', message: `bad command ${JSON.stringify(line)}: ${err.message}` });
      return;
    }
    try {
      handle(cmd);
    } catch (err) {
      report({ kind: 'error', message: `command ${line}: ${err.stack || err}` });
    }
  });
  rl.on('close', end);
}

// failures turns an exception nobody caught into an "error" report (and a
// stack on stderr) instead of a silent exit.
function failures() {
  process.on('uncaughtException', (err) => {
    report({ kind: 'error', message: `uncaught: ${err.stack || err}` });
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    report({ kind: 'error', message: `unhandled rejection: ${(err && err.stack) || err}` });
    process.exit(1);
  });
}

// exitSoon exits after ms unless the process has ended by then on its own
// (the timer is unref'd, so it keeps nothing alive).
function exitSoon(ms) {
  setTimeout(() => process.exit(0), ms).unref();
}

module.exports = { requireFromRoot, report, toWire, fromWire, commands, failures, exitSoon };
