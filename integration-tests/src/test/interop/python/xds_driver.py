#!/usr/bin/python3
"""xDS client driver for Ebb's integration tests: gRPC C-core through Debian's python3-grpcio.

Usage: GRPC_XDS_BOOTSTRAP=bootstrap.json /usr/bin/python3 xds_driver.py --target xds:///chat.example.com
Reads one command a line on stdin (who | split N | open K | ping | close | quit) and answers each with one
JSON line on stdout. Logs go to stderr. EBB_DRIVER_TRACE=1 turns on C-core's xDS tracing.
"""
import json
import os
import queue
import sys
import threading
import time

if os.environ.get("EBB_DRIVER_TRACE") == "1":  # must be set before grpc is imported
    os.environ.setdefault("GRPC_TRACE", "xds_client,xds_resolver")
    os.environ.setdefault("GRPC_VERBOSITY", "DEBUG")

import grpc  # noqa: E402

TIMEOUT = 5.0
END = object()  # sentinel: the request iterator ends (half-close) / the response stream ended


def log(*args):
    print("[py-driver]", *args, file=sys.stderr, flush=True)


def describe(e):
    if isinstance(e, grpc.RpcError) and hasattr(e, "code"):
        return "%s: %s" % (e.code().name, e.details())
    return "%s: %s" % (type(e).__name__, e)


class Stream:
    """One Chat call: a queue feeds its requests, a thread moves its responses to another queue."""

    def __init__(self, chat):
        self.requests, self.replies, self.broken = queue.Queue(), queue.Queue(), False
        self.call = chat(iter(self.requests.get, END))
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for reply in self.call:
                self.replies.put(reply.decode())
        except Exception as e:  # noqa: BLE001 - any failure ends the stream
            log("stream error:", describe(e))
        self.replies.put(END)

    def send(self, msg):
        if not self.broken:
            self.requests.put(msg.encode())

    def reply(self, deadline):
        """Backend name of the next reply, or None (and broken forever) if the stream ended or timed out."""
        if self.broken:
            return None
        try:
            r = self.replies.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            r = END
            self.call.cancel()
        if r is END:
            self.broken = True
            return None
        return r.split(":", 1)[0]


def main():
    args = sys.argv[1:]
    target = args[args.index("--target") + 1] if "--target" in args else "xds:///chat.example.com"
    channel = grpc.insecure_channel(target)
    # An idle grpcio channel polls nothing, so C-core would read (and ACK) xDS pushes only when the next call
    # starts, and that call would still use the old routes. A connectivity watcher polls every 0.2 s.
    channel.subscribe(lambda state: log("channel", state), try_to_connect=True)
    who = channel.unary_unary("/ebb.test.Echo/Who")
    chat = channel.stream_stream("/ebb.test.Echo/Chat")
    streams = []

    def call_who():
        return who(b"who", timeout=TIMEOUT).decode()

    def handle(cmd, arg):
        if cmd == "who":
            try:
                return {"ok": True, "backend": call_who()}
            except Exception as e:  # noqa: BLE001
                return {"ok": False, "error": describe(e)}
        if cmd == "split":
            counts, errors, last = {}, 0, None
            for _ in range(arg):
                try:
                    b = call_who()
                    counts[b] = counts.get(b, 0) + 1
                except Exception as e:  # noqa: BLE001
                    errors, last = errors + 1, describe(e)
            return {"ok": True, "counts": counts, "errors": errors, "lastError": last}
        if cmd == "open":
            new = [Stream(chat) for _ in range(arg)]
            streams.extend(new)
            for s in new:
                s.send("ping")
            deadline = time.monotonic() + TIMEOUT
            return {"ok": True, "backends": [s.reply(deadline) for s in new]}
        if cmd == "ping":
            for s in streams:
                s.send("ping")
            deadline = time.monotonic() + TIMEOUT  # all were sent at once: 5 s for each, not 5 s times n
            backends = [s.reply(deadline) for s in streams]
            return {"ok": True, "backends": backends, "broken": sum(1 for s in streams if s.broken)}
        if cmd == "close":
            for s in streams:
                s.requests.put(END)
            deadline = time.monotonic() + TIMEOUT
            for s in streams:  # drain until the server ends each stream (or the deadline passes)
                while not s.broken and s.reply(deadline) is not None:
                    pass
            streams.clear()
            return {"ok": True}
        return {"ok": False, "error": "unknown command: " + cmd}

    print(json.dumps({"ready": True, "client": "grpc-core-python " + grpc.__version__}), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if parts == ["quit"]:
            break
        try:
            needs_arg = bool(parts) and parts[0] in ("split", "open")
            if not parts or len(parts) != (2 if needs_arg else 1) or (needs_arg and not parts[1].isdigit()):
                reply = {"ok": False, "error": "bad command: " + line.strip()}
            else:
                reply = handle(parts[0], int(parts[1]) if needs_arg else None)
        except Exception as e:  # noqa: BLE001 - never crash on a command
            reply = {"ok": False, "error": describe(e)}
        print(json.dumps(reply), flush=True)
    for s in streams:
        s.call.cancel()
    channel.close()
    os._exit(0)  # don't wait for C-core's threads


if __name__ == "__main__":
    main()
