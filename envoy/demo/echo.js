// A tiny WebSocket echo backend for the compose demo (envoy/compose.yaml): every message is answered with the
// backend's version in front, "v1:hello", so a client sees which version holds its connection. No dependencies
// (Node's http and crypto only): the stock node image runs this file as it is.
//
//   VERSION=v1 PORT=8080 node echo.js
//
// RFC 6455, server side: the opening handshake (Sec-WebSocket-Accept), text and binary messages (fragmented or
// not), client masking (an unmasked client frame is a protocol error: close 1002), ping -> pong, the closing
// handshake (a close is answered with a close and the socket ends), and a size limit (close 1009). A plain GET
// answers the version (health checks, curl). Logs one line per WebSocket opened and closed, with the count.
'use strict';
const http = require('http');
const crypto = require('crypto');

const VERSION = process.env.VERSION || 'v0';
const PORT = Number(process.env.PORT || 8080);
const MAX_MESSAGE = 1 << 20; // bytes; larger messages are refused with close 1009
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa };
let open = 0;

function log(msg) {
  console.log(`${new Date().toISOString()} ${VERSION} ${msg}`);
}

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(VERSION + '\n');
});

server.on('upgrade', (req, socket, head) => {
  const key = req.headers['sec-websocket-key'];
  const upgrade = String(req.headers.upgrade || '').toLowerCase();
  if (upgrade !== 'websocket') { // another protocol offered (h2c): answer in HTTP/1.1, as to a plain GET
    const body = VERSION + '\n';
    socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ' + Buffer.byteLength(body)
      + '\r\nConnection: close\r\n\r\n' + body);
    return;
  }
  if (req.method !== 'GET' || !key || req.headers['sec-websocket-version'] !== '13') {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const accept = crypto.createHash('sha1').update(key + GUID).digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
    + 'Sec-WebSocket-Accept: ' + accept + '\r\n\r\n');
  socket.setNoDelay(true);
  open++;
  const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
  log(`open ${peer} (${open} open)`);
  const conn = new Connection(socket);
  if (head && head.length) conn.receive(head);
  socket.on('data', (chunk) => conn.receive(chunk));
  socket.on('error', () => socket.destroy());
  socket.on('close', () => {
    open--;
    log(`closed ${peer} (${open} open)`);
  });
});

class Connection {
  constructor(socket) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.parts = null; // fragments of a message in progress
    this.opcode = 0;
    this.closing = false;
  }

  receive(chunk) {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      if (this.closing) return;
      const frame = parseFrame(this.buffer);
      if (frame === null) return; // incomplete
      if (frame.error) {
        this.close(frame.error, frame.reason);
        return;
      }
      this.buffer = this.buffer.subarray(frame.size);
      this.onFrame(frame);
    }
  }

  onFrame(f) {
    if (!f.masked) return this.close(1002, 'client frames must be masked');
    if (f.rsv) return this.close(1002, 'no extension negotiated');
    if (f.opcode >= 0x8) { // control frames: at most 125 bytes, never fragmented
      if (!f.fin || f.payload.length > 125) return this.close(1002, 'bad control frame');
      if (f.opcode === OP.PING) return this.send(OP.PONG, f.payload);
      if (f.opcode === OP.PONG) return undefined;
      if (f.opcode === OP.CLOSE) {
        const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1000;
        return this.close(code === 1005 || code === 1006 || code === 1015 ? 1002 : code, '');
      }
      return this.close(1002, 'unknown opcode');
    }
    if (f.opcode === OP.CONT) {
      if (this.parts === null) return this.close(1002, 'continuation without a message');
      this.parts.push(f.payload);
    } else if (f.opcode === OP.TEXT || f.opcode === OP.BINARY) {
      if (this.parts !== null) return this.close(1002, 'new message inside a fragmented one');
      this.parts = [f.payload];
      this.opcode = f.opcode;
    } else {
      return this.close(1002, 'unknown opcode');
    }
    const size = this.parts.reduce((n, p) => n + p.length, 0);
    if (size > MAX_MESSAGE) return this.close(1009, 'message too big');
    if (!f.fin) return undefined;
    const message = Buffer.concat(this.parts);
    this.parts = null;
    const prefix = Buffer.from(VERSION + ':');
    if (this.opcode === OP.TEXT) {
      let text;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(message);
      } catch (e) {
        return this.close(1007, 'text is not UTF-8');
      }
      return this.send(OP.TEXT, Buffer.from(VERSION + ':' + text, 'utf8'));
    }
    return this.send(OP.BINARY, Buffer.concat([prefix, message]));
  }

  send(opcode, payload) {
    if (!this.socket.writable) return;
    this.socket.write(frame(opcode, payload));
  }

  // Answers (or starts) the closing handshake and ends the TCP connection after it.
  close(code, reason) {
    if (this.closing) return;
    this.closing = true;
    const body = Buffer.alloc(2 + Buffer.byteLength(reason));
    body.writeUInt16BE(code, 0);
    body.write(reason, 2);
    this.send(OP.CLOSE, body);
    this.socket.end();
  }
}

// One frame from the front of the buffer: null when incomplete, {error, reason} when it cannot be accepted.
function parseFrame(b) {
  if (b.length < 2) return null;
  const fin = (b[0] & 0x80) !== 0;
  const rsv = b[0] & 0x70;
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
    const big = b.readBigUInt64BE(2);
    if (big > BigInt(MAX_MESSAGE)) return { error: 1009, reason: 'frame too big' };
    length = Number(big);
    offset = 10;
  }
  if (length > MAX_MESSAGE) return { error: 1009, reason: 'frame too big' };
  const maskAt = offset;
  if (masked) offset += 4;
  if (b.length < offset + length) return null;
  const payload = Buffer.from(b.subarray(offset, offset + length)); // a copy: unmasked in place below
  if (masked) {
    for (let i = 0; i < length; i++) payload[i] ^= b[maskAt + (i & 3)];
  }
  return { fin, rsv, opcode, masked, payload, size: offset + length };
}

// A server frame: final, unmasked.
function frame(opcode, payload) {
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
  return Buffer.concat([head, payload]);
}

function stop() {
  log('stopping');
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
server.listen(PORT, () => log(`listening on ${PORT}`));
