// A small WebSocket client for the compose demo (envoy/README.md), with no dependencies (Node 18+):
//
//   node ws-client.js hold  [URL] [--host HOST] [--every SECONDS]   one long-lived WebSocket: sends a message
//                                                                  every few seconds and prints who answers
//   node ws-client.js probe [URL] [--host HOST] [--count N]         N new WebSockets, one message each; prints
//                                                                  how many each version answered
//
// URL defaults to $WS_URL, else ws://127.0.0.1:10000/ (the demo Envoy); HOST to chat.example.com (the demo
// route's host).
// The echo backends answer "VERSION:message". Exit status: 0, or 1 when a connection or an answer failed.
'use strict';
const http = require('http');
const crypto = require('crypto');

const args = process.argv.slice(2);
const command = args[0];
const opt = (name, dflt) => {
  const i = args.indexOf('--' + name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const positional = args.slice(1).filter((a, i, all) => !a.startsWith('--') && !(i > 0 && all[i - 1].startsWith('--')));
const URL_ = new URL(positional[0] || process.env.WS_URL || 'ws://127.0.0.1:10000/');
const HOST = opt('host', 'chat.example.com');

// Opens a WebSocket; resolves to {send(text), next(): Promise<string>, ping(), close(), closed: Promise}.
function connect() {
  return new Promise((resolve, reject) => {
    const key = crypto.randomBytes(16).toString('base64');
    const req = http.request({
      host: URL_.hostname,
      port: URL_.port || 80,
      path: URL_.pathname + URL_.search,
      headers: {
        Host: HOST,
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': key,
      },
      timeout: 5000,
    });
    req.on('timeout', () => req.destroy(new Error('handshake timed out')));
    req.on('error', reject);
    req.on('response', (res) => reject(new Error(`no upgrade: HTTP ${res.statusCode}`)));
    req.on('upgrade', (res, socket, head) => {
      const want = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      if (res.headers['sec-websocket-accept'] !== want) {
        socket.destroy();
        reject(new Error('bad Sec-WebSocket-Accept'));
        return;
      }
      resolve(new Socket(socket, head));
    });
    req.end();
  });
}

class Socket {
  constructor(socket, head) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.messages = [];
    this.waiters = [];
    this.pongs = 0;
    this.closeCode = null;
    this.closed = new Promise((resolve) => socket.on('close', () => {
      this.waiters.splice(0).forEach((w) => w.reject(new Error(`closed (${this.closeCode ?? 'no close frame'})`)));
      resolve(this.closeCode);
    }));
    socket.on('error', () => {});
    socket.on('data', (c) => this.receive(c));
    if (head && head.length) this.receive(head);
  }

  receive(chunk) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length >= 2) {
      let len = this.buffer[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buffer.length < 4) return;
        len = this.buffer.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buffer.length < 10) return;
        len = Number(this.buffer.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buffer.length < off + len) return;
      const op = this.buffer[0] & 0x0f;
      const payload = this.buffer.subarray(off, off + len);
      this.buffer = this.buffer.subarray(off + len);
      if (op === 0x1 || op === 0x2) {
        const text = payload.toString('utf8');
        const w = this.waiters.shift();
        if (w) w.resolve(text); else this.messages.push(text);
      } else if (op === 0x9) {
        this.write(0xa, payload);
      } else if (op === 0xa) {
        this.pongs++;
      } else if (op === 0x8) {
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.socket.end();
      }
    }
  }

  // Client frames are masked (RFC 6455 5.3).
  write(op, payload) {
    const mask = crypto.randomBytes(4);
    const masked = Buffer.from(payload);
    for (let i = 0; i < masked.length; i++) masked[i] ^= mask[i & 3];
    let head;
    if (masked.length < 126) {
      head = Buffer.from([0x80 | op, 0x80 | masked.length]);
    } else if (masked.length < 65536) {
      head = Buffer.from([0x80 | op, 0x80 | 126, 0, 0]);
      head.writeUInt16BE(masked.length, 2);
    } else {
      head = Buffer.alloc(10);
      head[0] = 0x80 | op;
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(masked.length), 2);
    }
    this.socket.write(Buffer.concat([head, mask, masked]));
  }

  send(text) {
    this.write(0x1, Buffer.from(text, 'utf8'));
  }

  next(ms = 5000) {
    if (this.messages.length) return Promise.resolve(this.messages.shift());
    return new Promise((resolve, reject) => {
      const w = { resolve, reject };
      this.waiters.push(w);
      setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) {
          this.waiters.splice(i, 1);
          reject(new Error('no answer within ' + ms + ' ms'));
        }
      }, ms).unref();
    });
  }

  async ask(text) {
    this.send(text);
    return this.next();
  }

  close(code = 1000) {
    const body = Buffer.alloc(2);
    body.writeUInt16BE(code, 0);
    this.write(0x8, body);
    return this.closed;
  }
}

const stamp = () => new Date().toISOString().substring(11, 19);

async function hold() {
  const every = Number(opt('every', '2')) * 1000;
  const ws = await connect();
  console.log(`${stamp()} connected to ${URL_.href} (Host: ${HOST}); Ctrl-C to close`);
  let n = 0;
  let failed = false;
  const timer = setInterval(async () => {
    try {
      console.log(`${stamp()} ${await ws.ask('hold-' + (++n))}`);
    } catch (e) {
      console.log(`${stamp()} ${e.message}`);
      failed = true;
    }
  }, every);
  let closing = false;
  process.on('SIGINT', async () => {
    closing = true;
    clearInterval(timer);
    const code = await Promise.race([ws.close(), new Promise((r) => setTimeout(() => r('timeout'), 2000))]);
    console.log(`${stamp()} closed (${code})`);
    process.exit(failed ? 1 : 0);
  });
  const code = await ws.closed;
  if (closing) return; // our own close: the SIGINT handler reports it
  clearInterval(timer);
  console.log(`${stamp()} the connection was closed by the other side (${code ?? 'no close frame'})`);
  process.exit(1);
}

async function probe() {
  const count = Number(opt('count', '20'));
  const tally = {};
  let errors = 0;
  for (let i = 0; i < count; i++) {
    try {
      const ws = await connect();
      const reply = await ws.ask('probe-' + i);
      const version = reply.substring(0, reply.indexOf(':'));
      tally[version] = (tally[version] || 0) + 1;
      await Promise.race([ws.close(), new Promise((r) => setTimeout(r, 1000))]);
      ws.socket.destroy();
    } catch (e) {
      errors++;
      tally['error: ' + e.message] = (tally['error: ' + e.message] || 0) + 1;
    }
  }
  console.log(Object.entries(tally).sort().map(([k, v]) => `${k}: ${v}`).join('  '));
  process.exit(errors ? 1 : 0);
}

if (command === 'hold') {
  hold().catch((e) => { console.error(`${stamp()} ${e.message}`); process.exit(1); });
} else if (command === 'probe') {
  probe();
} else {
  console.error('usage: node ws-client.js hold|probe [URL] [--host HOST] [--every SECONDS] [--count N]');
  process.exit(2);
}
