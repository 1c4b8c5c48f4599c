'use strict';
// bcastserver.js: Node's socket.io server (npm socket.io 4.8.4) as the
// baseline of the broadcast benchmarks of lesson 03.
//
//   node --expose-gc bcastserver.js [REDIS_URL]
//
// With REDIS_URL ("redis://127.0.0.1:PORT") the server is one node of a
// cluster, through @socket.io/redis-adapter on the npm redis client (lesson
// 06's benchmarks): its io.emit reaches the clients of every node.
//
// It listens on 127.0.0.1 on a free port and reports it as the first line on
// stdout: {"kind":"listening","port":N}. Clients connect to the main
// namespace "/" and are sent what the commands say. Commands come as JSON
// lines on stdin (and for the chat workload, clients may emit "join" and
// "msg", below):
//
//   {"cmd":"emit","count":K,"seq":S,"payload":"...","reply":true}
//       io.emit("tick", {seq, payload}) K times in a row, seq = S, S+1, ...,
//       as fast as the event loop allows (one synchronous loop, as a busy
//       server would). With reply, it then reports
//       {"kind":"emitted","count":K,"ns":<time of the loop>,"mem":{...}}:
//       mem is process.memoryUsage() right after the loop, when every
//       message that the kernel did not take yet is queued in the process.
//   {"cmd":"mem","gc":true}
//       runs a full garbage collection first (node --expose-gc), then
//       reports {"kind":"mem","clients":N,"mem":{...}}.
//   {"cmd":"drain"}
//       reports {"kind":"drained","ms":T,"mem":{...}} once no socket has
//       anything left to write (polled every millisecond, at most 60 s).
//
// mem is {rss, heapTotal, heapUsed, external, arrayBuffers} in bytes, plus
// maxRSS, the peak resident set so far (process.resourceUsage, in bytes),
// and cpuNs, the user+system CPU time used so far (process.cpuUsage).
// When stdin closes, the server closes every connection and exits.

const http = require('node:http');
const path = require('node:path');
const readline = require('node:readline');
const { createRequire } = require('node:module');

// The npm packages come from <root>/node_modules, as `npm ci` installs them;
// the Go side passes the root in LOADGEN_ROOT.
const requireFromRoot = process.env.LOADGEN_ROOT
  ? createRequire(path.join(process.env.LOADGEN_ROOT, 'package.json'))
  : require;
const { Server } = requireFromRoot('socket.io');

function report(r) {
  process.stdout.write(JSON.stringify(r) + '\n');
}

process.on('uncaughtException', (err) => {
  report({ kind: 'error', message: `uncaught: ${err.stack || err}` });
  process.exit(1);
});

function mem() {
  const m = process.memoryUsage();
  return {
    rss: m.rss,
    heapTotal: m.heapTotal,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    maxRSS: process.resourceUsage().maxRSS * 1024,
    cpuNs: (() => {
      const c = process.cpuUsage();
      return (c.user + c.system) * 1000;
    })(),
  };
}

const httpServer = http.createServer();
// The defaults of socket.io, but for the transport: the swarm connects with
// WebSocket directly, so no HTTP long-polling is offered or kept.
const io = new Server(httpServer, { serveClient: false, transports: ['websocket'] });

// The chat workload (cmd/chatload): a client joins a room, acknowledged,
// and every "msg" it sends goes to its room, the sender included, as the
// course's chat broadcasts.
io.on('connection', (socket) => {
  socket.on('join', (room, ack) => {
    socket.join(String(room));
    if (typeof ack === 'function') ack();
  });
  socket.on('msg', (m) => {
    if (m && typeof m.r === 'string') io.to(m.r).emit('msg', m);
  });
});

// In a cluster: the adapter's two Redis connections, made before the
// server listens.
async function joinCluster(url) {
  const { createAdapter } = requireFromRoot('@socket.io/redis-adapter');
  const { createClient } = requireFromRoot('redis');
  const pub = createClient({ url });
  const sub = pub.duplicate();
  pub.on('error', () => {});
  sub.on('error', () => {});
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
}

// pending is how many packets or bytes are still to be written, over all
// connections: engine.io's write buffer plus what the ws socket buffers.
function pending() {
  let n = 0;
  for (const client of Object.values(io.engine.clients)) {
    n += client.writeBuffer.length;
    const ws = client.transport && client.transport.socket;
    if (ws) n += ws.bufferedAmount;
  }
  return n;
}

const commands = {
  emit(cmd) {
    const count = cmd.count || 1;
    const payload = cmd.payload || '';
    let seq = cmd.seq || 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < count; i++) {
      io.emit('tick', { seq: seq++, payload });
    }
    const ns = Number(process.hrtime.bigint() - t0);
    if (cmd.reply) report({ kind: 'emitted', count, ns, mem: mem() });
  },
  mem(cmd) {
    if (cmd.gc && global.gc) {
      global.gc();
      global.gc();
    }
    report({ kind: 'mem', clients: io.engine.clientsCount, mem: mem() });
  },
  drain() {
    const t0 = Date.now();
    const poll = () => {
      if (pending() === 0 || Date.now() - t0 > 60000) {
        report({ kind: 'drained', ms: Date.now() - t0, mem: mem() });
        return;
      }
      setTimeout(poll, 1);
    };
    poll();
  },
};

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  if (line.trim() === '') return;
  try {
    const cmd = JSON.parse(line);
    const fn = commands[cmd.cmd];
    if (!fn) throw new Error(`unknown command ${cmd.cmd}`);
    fn(cmd);
  } catch (err) {
    report({ kind: 'error', message: `command ${line}: ${err.stack || err}` });
  }
});
rl.on('close', () => {
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});

(process.argv[2] ? joinCluster(process.argv[2]) : Promise.resolve()).then(() => {
  httpServer.listen({ port: 0, host: '127.0.0.1', backlog: 1024 }, () => {
    report({ kind: 'listening', port: httpServer.address().port });
  });
}, (err) => {
  report({ kind: 'error', message: `joining the cluster: ${err.stack || err}` });
  process.exit(1);
});
