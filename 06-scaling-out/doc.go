// Package scaling is lesson 06 of the WebSocket Workbook: many chat servers,
// one chat, through Redis.
//
// One process holds the sockets of its own clients and no others. When a
// chat outgrows one process, socket.io users put a Redis adapter between
// their servers (@socket.io/redis-adapter): every server publishes its
// broadcasts on Redis channels, and every server delivers what the others
// published to its own clients. This package is that adapter in Go,
// speaking the Node adapter's channels and formats, so that Go servers
// and Node servers form one cluster:
//
//   - the wire format (6.1): a broadcast is the MessagePack array
//     [uid, packet, opts]; requests and responses are JSON;
//   - broadcasting (6.2): Cluster.Adapter is an events.Options.Adapter;
//     each namespace publishes its broadcasts and delivers the others';
//   - requests between servers (6.3): FetchSockets, SocketsJoin,
//     SocketsLeave, DisconnectSockets, AllRooms, ServerSideEmit and
//     ServerSideEmitWithAck, answered across languages;
//   - faults (6.4): Redis stopped and started again, and messages that are
//     not what an adapter sends.
//
// Redis pub/sub keeps no messages. A server that is not subscribed when a
// message is published never gets it, so a cluster like this one delivers
// at most once, and a client's connection state recovery (lesson 03,
// exercise 3.9) works only when the client comes back to the server it
// left: with several servers, sticky sessions.
package scaling
