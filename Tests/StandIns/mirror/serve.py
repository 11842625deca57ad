#!/usr/bin/env python3
"""A release mirror on 127.0.0.1 for the cache tests (K0SLUA_MIRROR=http://127.0.0.1:PORT).

serve.py ROOT: serves ROOT/<host>/<path> on a free port, writes the port to ROOT/.port and one line
per request ("GET /path status") to ROOT/.requests. ROOT/.rules (JSON, re-read on every request)
maps a request path to a misbehaviour:
  "404" / "500"   that status
  "500-once"      500 for the first request, then the file (curl --retry must retry)
  "truncate"      announces the full Content-Length, sends half, closes
  "slow"          sends the file in 64 KiB pieces with a pause (concurrency tests)
"""
import http.server
import json
import os
import signal
import sys
import threading
import time
import urllib.parse

ROOT = os.path.abspath(sys.argv[1])
# A test runner may spawn us with signals blocked; make SIGTERM stop the server.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
signal.signal(signal.SIGTERM, signal.SIG_DFL)
LOCK = threading.Lock()
SEEN = set()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, status):
        with LOCK, open(os.path.join(ROOT, ".requests"), "a") as log:
            log.write(f"{self.command} {self.path} {status}\n")

    def fail(self, status):
        self.record(status)
        body = f"{status}\n".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        try:
            rules = json.load(open(os.path.join(ROOT, ".rules")))
        except (OSError, ValueError):
            rules = {}
        rule = rules.get(self.path)
        if rule in ("404", "500"):
            return self.fail(int(rule))
        if rule == "500-once":
            with LOCK:
                first = self.path not in SEEN
                SEEN.add(self.path)
            if first:
                return self.fail(500)
        path = os.path.join(ROOT, urllib.parse.unquote(self.path).lstrip("/"))
        if not os.path.realpath(path).startswith(ROOT + "/") or not os.path.isfile(path):
            return self.fail(404)
        data = open(path, "rb").read()
        self.record(200)
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if rule == "truncate":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        step = 65536 if rule == "slow" else len(data) or 1
        for start in range(0, len(data), step):
            self.wfile.write(data[start:start + step])
            if rule == "slow":
                self.wfile.flush()
                time.sleep(0.25)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(ROOT, ".port.tmp"), "w") as port:
    port.write(str(server.server_address[1]))
os.rename(os.path.join(ROOT, ".port.tmp"), os.path.join(ROOT, ".port"))
server.serve_forever()
