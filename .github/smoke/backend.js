// A tiny WebSocket echo server for the kind smoke test (.github/smoke/smoke.sh). Every reply starts with the
// backend's VERSION ("v1", "v2"), so a client can tell which version holds its connection. No dependencies:
// Node's http and crypto only, so the pod runs the stock node image with this file from a ConfigMap.
'use strict';
const http = require('http');
const crypto = require('crypto');

const VERSION = process.env.VERSION || 'v0';
const PORT = Number(process.env.PORT || 8080);
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'; // RFC 6455

// Plain HTTP (the readiness probe, curl): the version.
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(VERSION + '\n');
});

server.on('upgrade', (req, socket) => {
  const key = req.headers['sec-websocket-key'];
  if (String(req.headers.upgrade || '').toLowerCase() !== 'websocket' || !key) {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    return;
  }
  const accept = crypto.createHash('sha1').update(key + GUID).digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
    + 'Sec-WebSocket-Accept: ' + accept + '\r\n\r\n');
  socket.setNoDelay(true);
  console.log(`${new Date().toISOString()} ${VERSION}: WebSocket opened from ${req.socket.remoteAddress}`);
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      const frame = parseFrame(buffered);
      if (!frame) break;
      buffered = buffered.subarray(frame.size);
      if (frame.opcode === 0x1) { // text: echo with the version in front
        sendFrame(socket, 0x1, Buffer.from(VERSION + ' ' + frame.payload.toString('utf8')));
      } else if (frame.opcode === 0x9) { // ping
        sendFrame(socket, 0xA, frame.payload);
      } else if (frame.opcode === 0x8) { // close: answer and end
        sendFrame(socket, 0x8, frame.payload.subarray(0, 2));
        socket.end();
        return;
      }
    }
  });
  socket.on('close', () => console.log(`${new Date().toISOString()} ${VERSION}: WebSocket closed`));
  socket.on('error', () => socket.destroy());
});

// One frame from the front of the buffer, or null when it is not complete yet. Clients mask their frames;
// fragmented messages are not needed by the smoke test and not supported.
function parseFrame(b) {
  if (b.length < 2) return null;
  const opcode = b[0] & 0x0f;
  const masked = (b[1] & 0x80) !== 0;
  let length = b[1] & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (b.length < 4) return null;
    length = b.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (b.length < 10) return null;
    length = Number(b.readBigUInt64BE(2));
    offset = 10;
  }
  const maskAt = offset;
  if (masked) offset += 4;
  if (b.length < offset + length) return null;
  const payload = Buffer.from(b.subarray(offset, offset + length));
  if (masked) {
    for (let i = 0; i < length; i++) payload[i] ^= b[maskAt + (i & 3)];
  }
  return { opcode, payload, size: offset + length };
}

// Server frames are not masked.
function sendFrame(socket, opcode, payload) {
  let head;
  if (payload.length < 126) {
    head = Buffer.from([0x80 | opcode, payload.length]);
  } else if (payload.length < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(payload.length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  socket.write(Buffer.concat([head, payload]));
}

process.on('SIGTERM', () => server.close(() => process.exit(0)));
server.listen(PORT, () => console.log(`chat ${VERSION} listening on ${PORT}`));
