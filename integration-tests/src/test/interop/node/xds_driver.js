#!/usr/bin/env node
// xDS client driver for Ebb's integration tests: @grpc/grpc-js-xds.
//
// Usage: GRPC_XDS_BOOTSTRAP=bootstrap.json node xds_driver.js --target xds:///chat.example.com
// Reads one command a line on stdin (who | split N | open K | ping | close | quit) and answers each with one
// JSON line on stdout. Logs go to stderr. EBB_DRIVER_TRACE=1 turns on grpc-js's xDS tracing.
'use strict';

if (process.env.EBB_DRIVER_TRACE === '1') { // grpc-js reads these when it is loaded
  process.env.GRPC_TRACE = process.env.GRPC_TRACE || 'xds_client';
  process.env.GRPC_VERBOSITY = process.env.GRPC_VERBOSITY || 'DEBUG';
}
const grpc = require('@grpc/grpc-js');
const grpcXds = require('@grpc/grpc-js-xds');
const fs = require('fs');
const readline = require('readline');

const TIMEOUT_MS = 5000;
const identity = (b) => b;
const log = (...args) => console.error('[js-driver]', ...args);
const reply = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const describe = (e) => (e && e.code !== undefined ? `${grpc.status[e.code]}: ${e.details}` : String(e));

// grpc-js-xds rejects a bootstrap whose node has no "locality" (C-core and grpc-java accept it): add an empty one.
const bootstrapPath = process.env.GRPC_XDS_BOOTSTRAP;
try {
  const bootstrap = bootstrapPath && JSON.parse(fs.readFileSync(bootstrapPath, 'utf8'));
  if (bootstrap && bootstrap.node && !('locality' in bootstrap.node)) {
    bootstrap.node.locality = {};
    process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify(bootstrap);
    delete process.env.GRPC_XDS_BOOTSTRAP;
    log(`added "locality": {} to the node of ${bootstrapPath}`);
  }
} catch (e) {
  log(`cannot read ${bootstrapPath}: ${e.message}`);
}
grpcXds.register();
const args = process.argv.slice(2);
const target = args.includes('--target') ? args[args.indexOf('--target') + 1] : 'xds:///chat.example.com';
const client = new grpc.Client(target, grpc.credentials.createInsecure());

function who() {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest('/ebb.test.Echo/Who', identity, identity, Buffer.from('who'),
      { deadline: Date.now() + TIMEOUT_MS }, (err, res) => (err ? reject(err) : resolve(res.toString())));
  });
}

// One Chat call; replies are queued until someone waits for them. Ended, failed or timed out = broken forever.
class Stream {
  constructor() {
    this.replies = [];
    this.waiter = null;
    this.broken = false;
    this.ended = new Promise((resolve) => { this.onEnded = resolve; });
    this.call = client.makeBidiStreamRequest('/ebb.test.Echo/Chat', identity, identity);
    this.call.on('data', (b) => this.push(b.toString()));
    this.call.on('error', (e) => { log('stream error:', describe(e)); this.push(null); });
    this.call.on('end', () => this.push(null));
    this.call.on('status', () => this.onEnded());
  }

  push(r) {
    if (this.waiter) { this.waiter(r); this.waiter = null; } else this.replies.push(r);
  }

  send(msg) {
    if (!this.broken) this.call.write(Buffer.from(msg));
  }

  // Backend name of the next reply, or null.
  async reply() {
    if (this.broken) return null;
    const r = this.replies.length ? this.replies.shift() : await new Promise((resolve) => {
      const timer = setTimeout(() => { this.waiter = null; resolve(null); this.call.cancel(); }, TIMEOUT_MS);
      this.waiter = (v) => { clearTimeout(timer); resolve(v); };
    });
    if (r === null) { this.broken = true; return null; }
    return r.split(':')[0];
  }
}

let streams = [];

async function handle(cmd, arg) {
  switch (cmd) {
    case 'who':
      try { return { ok: true, backend: await who() }; } catch (e) { return { ok: false, error: describe(e) }; }
    case 'split': {
      const counts = {};
      let errors = 0, lastError = null;
      for (let i = 0; i < arg; i++) {
        try { const b = await who(); counts[b] = (counts[b] || 0) + 1; } catch (e) { errors++; lastError = describe(e); }
      }
      return { ok: true, counts, errors, lastError };
    }
    case 'open': {
      const fresh = Array.from({ length: arg }, () => new Stream());
      streams.push(...fresh);
      fresh.forEach((s) => s.send('ping'));
      return { ok: true, backends: await Promise.all(fresh.map((s) => s.reply())) };
    }
    case 'ping': {
      streams.forEach((s) => s.send('ping'));
      const backends = await Promise.all(streams.map((s) => s.reply()));
      return { ok: true, backends, broken: streams.filter((s) => s.broken).length };
    }
    case 'close': {
      streams.forEach((s) => { if (!s.broken) s.call.end(); });
      await Promise.all(streams.map((s) => Promise.race([s.ended, new Promise((r) => setTimeout(r, TIMEOUT_MS))])));
      streams.forEach((s) => s.call.cancel());
      streams = [];
      return { ok: true };
    }
    default:
      return { ok: false, error: `unknown command: ${cmd}` };
  }
}

async function main() {
  const v = (p) => require(`${p}/package.json`).version;
  reply({ ready: true, client: `grpc-js-xds ${v('@grpc/grpc-js-xds')} grpc-js ${v('@grpc/grpc-js')}` });
  for await (const line of readline.createInterface({ input: process.stdin, terminal: false })) {
    const parts = line.trim().split(/\s+/).filter(Boolean);
    if (parts.length === 1 && parts[0] === 'quit') break;
    let out;
    try {
      const needsArg = parts[0] === 'split' || parts[0] === 'open';
      if (!parts.length || parts.length !== (needsArg ? 2 : 1) || (needsArg && !/^\d+$/.test(parts[1]))) {
        out = { ok: false, error: `bad command: ${line.trim()}` };
      } else {
        out = await handle(parts[0], needsArg ? Number(parts[1]) : undefined);
      }
    } catch (e) {
      out = { ok: false, error: String(e && e.message ? e.message : e) };
    }
    reply(out);
  }
  process.exit(0);
}

process.on('uncaughtException', (e) => log('uncaught:', e && e.stack ? e.stack : e));
main();
