'use strict';
// sioserver.js: Node's socket.io server (npm socket.io), for Go tests and
// benchmarks that need a real, independent server.
//
//   node sioserver.js [OPTIONS_JSON]
//
// OPTIONS_JSON, if given, is merged into the options of new Server(), e.g.
// {"connectionStateRecovery":{"maxDisconnectionDuration":120000}}.
//
// It listens on 127.0.0.1 on a free port and reports it as the first line
// on stdout: {"kind":"listening","port":N}. It serves every namespace ("/"
// and any other, e.g. "/admin"), and on each:
//
//   - a middleware refuses a client whose auth.token is "bad": the client
//     sees connect_error with message "refused" and data {"why":"bad token"};
//   - every event E a client emits is echoed to it as "echo:E" with the same
//     arguments, and its ack, if it asked for one, is called with them too;
//   - "broadcast" is also sent to every client of the namespace;
//   - "ask" (name, ...args): the server emits name with args to the client
//     with an ack callback and a 5 s timeout, then emits "answer" with the
//     client's reply (or "answer_timeout" with the error message);
//   - "info": the server emits "info" with {id, nsp, transport, auth};
//   - "whoami": the server emits "you" with {id, recovered, rooms};
//   - "join" (room): the server puts the client in room; "toRoom" (room,
//     ...args): the server emits "room" with args to the room;
//   - "bye": the server disconnects the client ("io server disconnect");
//   - a client that connects over HTTP long-polling is sent "upgraded" with
//     the transport's name when it upgrades (to WebSocket).
//
// When stdin closes, the server closes every connection and exits.

const http = require('node:http');
const { requireFromRoot, report, commands, failures, exitSoon } = require('./wire.js');

const { Server } = requireFromRoot('socket.io');

failures();

const httpServer = http.createServer();
const io = new Server(httpServer, { serveClient: false, ...JSON.parse(process.argv[2] || '{}') });

function refuseBadTokens(socket, next) {
  const auth = socket.handshake.auth || {};
  if (auth.token === 'bad') {
    const err = new Error('refused');
    err.data = { why: 'bad token' };
    next(err);
    return;
  }
  next();
}

function serve(socket) {
  const conn = socket.conn;
  if (conn.transport.name !== 'websocket') {
    conn.once('upgrade', (transport) => socket.emit('upgraded', transport.name));
  }
  socket.onAny((event, ...args) => {
    const ack = args.length > 0 && typeof args[args.length - 1] === 'function' ? args.pop() : null;
    socket.emit(`echo:${event}`, ...args);
    if (ack) ack(...args);
    switch (event) {
      case 'broadcast':
        socket.nsp.emit('broadcast', ...args);
        break;
      case 'ask': {
        const [name, ...rest] = args;
        socket.timeout(5000).emit(String(name), ...rest, (err, ...reply) => {
          if (err) socket.emit('answer_timeout', err.message);
          else socket.emit('answer', ...reply);
        });
        break;
      }
      case 'info':
        socket.emit('info', {
          id: socket.id,
          nsp: socket.nsp.name,
          transport: socket.conn.transport.name,
          auth: socket.handshake.auth,
        });
        break;
      case 'whoami':
        socket.emit('you', { id: socket.id, recovered: socket.recovered, rooms: [...socket.rooms].sort() });
        break;
      case 'join':
        socket.join(String(args[0]));
        break;
      case 'toRoom':
        socket.nsp.to(String(args[0])).emit('room', ...args.slice(1));
        break;
      case 'bye':
        socket.disconnect(true);
        break;
    }
  });
}

// "/" and every other namespace (a parent namespace created from a regular
// expression covers the dynamic ones).
for (const nsp of [io.of('/'), io.of(/^\/.+$/)]) {
  nsp.use(refuseBadTokens);
  nsp.on('connection', serve);
}

httpServer.listen(0, '127.0.0.1', () => {
  report({ kind: 'listening', port: httpServer.address().port });
});

commands(() => {}, () => {
  process.stdin.destroy();
  io.close(() => process.exit(0));
  exitSoon(1000);
});
