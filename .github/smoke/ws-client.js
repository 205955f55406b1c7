// WebSocket client of the kind smoke test (uses the `ws` package; smoke.sh installs it).
//
//   node ws-client.js probe URL HOST        one new WebSocket: send "probe", print the first reply, close.
//                                           Exit 0 with the reply on stdout, non-zero on any failure.
//   node ws-client.js hold URL HOST MS      one long-lived WebSocket: send "hold N" every MS milliseconds and
//                                           print "REPLY <reply>" for each answer. Prints "CLOSED ..." and
//                                           exits 2 if the connection closes, "TIMEOUT ..." and exits 4 if an
//                                           answer takes more than 5 s, "ERROR ..." and exits 3 on an error.
//
// HOST is sent as the Host header (Envoy routes on it); URL is where the port-forward listens.
'use strict';
const WebSocket = require('ws');

const [mode, url, host, intervalArg] = process.argv.slice(2);
if (!['probe', 'hold'].includes(mode) || !url || !host) {
  console.error('usage: ws-client.js probe|hold URL HOST [INTERVAL_MS]');
  process.exit(64);
}

const ws = new WebSocket(url, { headers: { Host: host }, handshakeTimeout: 5000 });
const now = () => new Date().toISOString();

if (mode === 'probe') {
  const timer = setTimeout(() => { console.error('probe: no reply within 5 s'); process.exit(1); }, 5000);
  ws.on('open', () => ws.send('probe'));
  ws.on('message', (data) => {
    clearTimeout(timer);
    console.log(data.toString());
    ws.close(1000);
    process.exit(0);
  });
  ws.on('unexpected-response', (req, res) => {
    console.error(`probe: HTTP ${res.statusCode} instead of a WebSocket upgrade`);
    process.exit(1);
  });
  ws.on('error', (e) => { console.error('probe: ' + e.message); process.exit(1); });
  ws.on('close', (code) => { console.error('probe: closed before a reply, code ' + code); process.exit(1); });
} else {
  const interval = Number(intervalArg || 1000);
  let sent = 0;
  let waitingSince = null;
  const send = () => {
    if (waitingSince !== null && Date.now() - waitingSince > 5000) {
      console.log(`${now()} TIMEOUT no answer to message ${sent - 1} within 5 s`);
      process.exit(4);
    }
    if (waitingSince === null) waitingSince = Date.now();
    ws.send('hold ' + sent++);
  };
  ws.on('open', () => {
    console.log(`${now()} OPEN`);
    send();
    setInterval(send, interval);
  });
  ws.on('message', (data) => {
    waitingSince = null;
    console.log(`${now()} REPLY ${data.toString()}`);
  });
  ws.on('unexpected-response', (req, res) => {
    console.log(`${now()} ERROR HTTP ${res.statusCode} instead of a WebSocket upgrade`);
    process.exit(3);
  });
  ws.on('error', (e) => { console.log(`${now()} ERROR ${e.message}`); process.exit(3); });
  ws.on('close', (code, reason) => { console.log(`${now()} CLOSED ${code} ${reason}`); process.exit(2); });
}
