'use strict';
// sioclient.js: the npm socket.io-client, driven by a Go test.
//
//   node sioclient.js URL OPTIONS_JSON
//
// It calls io(URL, OPTIONS) and reports what the socket sees as JSON lines
// on stdout: {"kind":"connect","id":...,"recovered":bool}, {"kind":"connect_error",
// "message":...,"data":...}, {"kind":"disconnect","reason":...},
// {"kind":"event","event":...,"args":[...]}, {"kind":"ack","seq":...,
// "args":[...]} and {"kind":"error","message":...}. It reads commands as
// JSON lines on stdin:
//
//   {"cmd":"connect"}                                socket.connect()
//   {"cmd":"disconnect"}                             socket.disconnect()
//   {"cmd":"emit","event":E,"args":[...]}            socket.emit(E, ...args)
//   {"cmd":"emitWithAck","event":E,"args":[...],"seq":N}
//                                                    socket.emit(E, ...args, ack), ack reported with seq N
//   {"cmd":"answerAcks","event":E,"reply":[...]}     answer the server's acks for E with reply
//   {"cmd":"dropTransport"}                          socket.io.engine.close(): the connection drops,
//                                                    the socket is not told to disconnect, and the
//                                                    Manager reconnects (if reconnection is on)
//
// Binary values travel as {"$binary":"<base64>"} both ways. When stdin
// closes, the socket disconnects and the process ends.

const { requireFromRoot, report, toWire, fromWire, commands, failures, exitSoon } = require('./wire.js');

const { io } = requireFromRoot('socket.io-client');

failures();

const [url, optsJSON] = process.argv.slice(2);
const socket = io(url, JSON.parse(optsJSON || '{}'));

// replies maps an event name to the arguments the server's ack callback for
// that event is called with (AnswerAcks).
const replies = new Map();

socket.on('connect', () => report({ kind: 'connect', id: socket.id, recovered: socket.recovered }));
socket.on('connect_error', (err) => {
  const r = { kind: 'connect_error', message: err.message };
  if (err.data !== undefined) r.data = toWire(err.data);
  report(r);
});
socket.on('disconnect', (reason) => report({ kind: 'disconnect', reason }));
socket.onAny((event, ...args) => {
  // An event the server emits with an ack arrives with the callback last.
  const ack = args.length > 0 && typeof args[args.length - 1] === 'function' ? args.pop() : null;
  report({ kind: 'event', event, args: toWire(args) });
  if (ack && replies.has(event)) ack(...fromWire(replies.get(event)));
});

commands((cmd) => {
  switch (cmd.cmd) {
    case 'connect':
      socket.connect();
      break;
    case 'disconnect':
      socket.disconnect();
      break;
    case 'emit':
      socket.emit(cmd.event, ...fromWire(cmd.args || []));
      break;
    case 'emitWithAck':
      socket.emit(cmd.event, ...fromWire(cmd.args || []), (...reply) => {
        report({ kind: 'ack', seq: cmd.seq, args: toWire(reply) });
      });
      break;
    case 'answerAcks':
      replies.set(cmd.event, cmd.reply || []);
      break;
    case 'dropTransport':
      socket.io.engine.close();
      break;
    default:
      report({ kind: 'error', message: `unknown command ${JSON.stringify(cmd)}` });
  }
}, () => {
  socket.disconnect();
  process.stdin.destroy();
  exitSoon(500);
});
