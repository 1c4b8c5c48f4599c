'use strict';
// sioredis.js: a Node socket.io server in a cluster through Redis, with
// @socket.io/redis-adapter on the npm redis client, for lesson 06's tests and
// benchmarks: the other half of a mixed Go and Node cluster.
//
//   node sioredis.js REDIS_URL [OPTIONS_JSON]
//
// OPTIONS_JSON, if given, is merged into the options of new Server(). It
// listens on 127.0.0.1 on a free port and reports
// {"kind":"listening","port":N,"uid":"..."} as its first line.
//
// Its clients (namespace "/") may emit:
//   - "join" (room): the server puts the client in room;
//   - "toRoom" (room, ...args): io.to(room).emit("room", ...args), to the
//     whole cluster;
//   - "broadcast" (...args): socket.broadcast.emit("broadcast", ...args);
//   - "everyone" (...args): io.emit("everyone", ...args).
// A client's auth.name becomes its socket.data.name.
//
// Commands, one JSON object per line on stdin (seq is echoed in the report):
//   {"cmd":"emit","event":E,"args":[...],"rooms":[...],"except":[...],"local":false}
//   {"cmd":"fetchSockets","seq":N,"rooms":[...],"except":[...]}
//       -> {"kind":"sockets","seq":N,"sockets":[{"id","rooms","data","auth"}]}
//   {"cmd":"socketsJoin"|"socketsLeave","seq":N,"rooms":[...],"except":[...],"join":[...]}
//   {"cmd":"disconnectSockets","seq":N,"rooms":[...],"except":[...],"close":false}
//   {"cmd":"serverSideEmit","event":E,"args":[...]}
//   {"cmd":"serverSideEmitWithAck","seq":N,"event":E,"args":[...]}
//       -> {"kind":"serverSideAck","seq":N,"responses":[...]} or {"kind":"serverSideAck","seq":N,"error":"..."}
//   {"cmd":"allRooms","seq":N} -> {"kind":"rooms","seq":N,"rooms":[...]}
//   {"cmd":"serverCount","seq":N} -> {"kind":"serverCount","seq":N,"count":K}
//   {"cmd":"done","seq":N} -> {"kind":"done","seq":N} (for the socketsJoin
//       family, which answer nothing: once "done" comes back, every command
//       before it has been handed to the adapter)
// Server-side events named "hello" (answered, when the sender waits, with
// {"from":"node","args":[...]}) and "note" are reported as
// {"kind":"serverSideEvent","event":E,"args":[...]}.
//
// When stdin closes, the server closes and exits.

const http = require('node:http');
const { requireFromRoot, report, toWire, fromWire, commands, failures, exitSoon } = require('./wire.js');

const { Server } = requireFromRoot('socket.io');
const { createAdapter } = requireFromRoot('@socket.io/redis-adapter');
const { createClient } = requireFromRoot('redis');

failures();

async function main() {
  const url = process.argv[2];
  const pubClient = createClient({ url });
  const subClient = pubClient.duplicate();
  pubClient.on('error', (err) => report({ kind: 'redisError', message: String(err.message || err) }));
  subClient.on('error', (err) => report({ kind: 'redisError', message: String(err.message || err) }));
  await Promise.all([pubClient.connect(), subClient.connect()]);

  const httpServer = http.createServer();
  const io = new Server(httpServer, {
    serveClient: false,
    adapter: createAdapter(pubClient, subClient),
    ...JSON.parse(process.argv[3] || '{}'),
  });

  io.on('connection', (socket) => {
    socket.data.name = (socket.handshake.auth || {}).name || null;
    socket.on('join', (room) => socket.join(String(room)));
    socket.on('toRoom', (room, ...args) => io.to(String(room)).emit('room', ...args));
    socket.on('broadcast', (...args) => socket.broadcast.emit('broadcast', ...args));
    socket.on('everyone', (...args) => io.emit('everyone', ...args));
  });

  io.on('hello', (...args) => {
    const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
    report({ kind: 'serverSideEvent', event: 'hello', args: toWire(args) });
    if (ack) ack({ from: 'node', args });
  });
  io.on('note', (...args) => report({ kind: 'serverSideEvent', event: 'note', args: toWire(args) }));

  const pick = (cmd) => {
    let op = io.in(cmd.rooms || []);
    if (cmd.except && cmd.except.length) op = op.except(cmd.except);
    return op;
  };

  commands(async (cmd) => {
    try {
      switch (cmd.cmd) {
        case 'emit': {
          let op = cmd.local ? io.local : io;
          if (cmd.rooms && cmd.rooms.length) op = op.to(cmd.rooms);
          if (cmd.except && cmd.except.length) op = op.except(cmd.except);
          op.emit(cmd.event, ...fromWire(cmd.args || []));
          break;
        }
        case 'fetchSockets': {
          const sockets = await pick(cmd).fetchSockets();
          report({
            kind: 'sockets', seq: cmd.seq,
            sockets: sockets.map((s) => ({ id: s.id, rooms: [...s.rooms].sort(), data: s.data, auth: s.handshake.auth })),
          });
          break;
        }
        case 'socketsJoin':
          pick(cmd).socketsJoin(cmd.join);
          break;
        case 'socketsLeave':
          pick(cmd).socketsLeave(cmd.join);
          break;
        case 'disconnectSockets':
          pick(cmd).disconnectSockets(!!cmd.close);
          break;
        case 'serverSideEmit':
          io.serverSideEmit(cmd.event, ...(cmd.args || []));
          break;
        case 'serverSideEmitWithAck': {
          try {
            const responses = await io.serverSideEmitWithAck(cmd.event, ...(cmd.args || []));
            report({ kind: 'serverSideAck', seq: cmd.seq, responses });
          } catch (err) {
            report({ kind: 'serverSideAck', seq: cmd.seq, error: String(err.message || err) });
          }
          break;
        }
        case 'allRooms': {
          const rooms = await io.of('/').adapter.allRooms();
          report({ kind: 'rooms', seq: cmd.seq, rooms: [...rooms].sort() });
          break;
        }
        case 'serverCount': {
          const count = await io.of('/').adapter.serverCount();
          report({ kind: 'serverCount', seq: cmd.seq, count });
          break;
        }
        case 'done':
          report({ kind: 'done', seq: cmd.seq });
          break;
        default:
          report({ kind: 'error', message: `unknown command ${cmd.cmd}` });
      }
    } catch (err) {
      report({ kind: 'error', message: `command ${cmd.cmd}: ${err.stack || err}` });
    }
  }, () => {
    process.stdin.destroy();
    io.close(() => {
      Promise.allSettled([pubClient.quit(), subClient.quit()]).then(() => process.exit(0));
    });
    exitSoon(1000);
  });

  // The adapter subscribes as it is made, without waiting; the Go side
  // waits until PUBSUB NUMSUB counts this server before it relies on it.
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  report({ kind: 'listening', port: httpServer.address().port, uid: io.of('/').adapter.uid });
}

main().catch((err) => {
  report({ kind: 'error', message: `start: ${err.stack || err}` });
  process.exit(1);
});
