#!/usr/bin/env python3
"""tests/http/server.py: the local HTTP server the ingest tests start.

Serves the files under --root (pages and images the test wrote) plus fixed
routes for the bad cases ingest must survive:
  /robots.txt          disallows /private/ for every agent
  /huge                50 MB body with Content-Length (for --max-bytes)
  /huge-chunked        50 MB body, chunked, no Content-Length
  /slow                sends nothing for 20 s (for --timeout)
  /html-image.jpg      an HTML page at an image-looking URL
  /redirect            302 to /img/a.png
  /redirect-loop       302 to itself
  /flaky.png           503 on the first request, then /img/a.png's bytes
  /stats               JSON {path: request count}
  anything else that is not a file: 404
Binds 127.0.0.1 on a free port, writes it to --port-file (atomically), and
exits by itself after --lifetime seconds so a crashed test never leaves it
running. Python 3 standard library only.
"""
import argparse
import http.server
import json
import os
import sys
import threading
import time

COUNTS = {}
LOCK = threading.Lock()
ROOT = "."
HUGE = 50 * 1024 * 1024


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test reads /stats instead
        pass

    def send_body(self, code, body, ctype, extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def stream_zeros(self, chunked):
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(HUGE))
        self.end_headers()
        block = b"\0" * 65536
        try:
            for _ in range(HUGE // len(block)):
                if chunked:
                    self.wfile.write(b"%x\r\n" % len(block) + block + b"\r\n")
                else:
                    self.wfile.write(block)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up at its --max-bytes: expected

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        with LOCK:
            COUNTS[path] = COUNTS.get(path, 0) + 1
            count = COUNTS[path]
        if path == "/stats":
            with LOCK:
                body = json.dumps(COUNTS).encode()
            return self.send_body(200, body, "application/json")
        if path == "/robots.txt":
            return self.send_body(200, b"User-agent: *\nDisallow: /private/\n", "text/plain")
        if path == "/huge":
            return self.stream_zeros(False)
        if path == "/huge-chunked":
            return self.stream_zeros(True)
        if path == "/slow":
            time.sleep(20)
            return self.send_body(200, b"too late", "text/plain")
        if path == "/html-image.jpg":
            return self.send_body(200, b"<!DOCTYPE html><html><body>not a picture</body></html>", "text/html")
        if path == "/redirect":
            return self.send_body(302, b"", "text/plain", {"Location": "/img/a.png"})
        if path == "/redirect-loop":
            return self.send_body(302, b"", "text/plain", {"Location": "/redirect-loop"})
        if path == "/flaky.png":
            if count == 1:
                return self.send_body(503, b"try again", "text/plain")
            path = "/img/a.png"
        full = os.path.realpath(os.path.join(ROOT, path.lstrip("/")))
        if not full.startswith(os.path.realpath(ROOT) + os.sep) or not os.path.isfile(full):
            return self.send_body(404, b"not found", "text/plain")
        with open(full, "rb") as f:
            data = f.read()
        ctype = "text/html" if full.endswith(".html") else \
            "image/png" if full.endswith(".png") else \
            "image/jpeg" if full.endswith((".jpg", ".jpeg")) else "application/octet-stream"
        return self.send_body(200, data, ctype)

    do_HEAD = do_GET


def main():
    global ROOT
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--lifetime", type=float, default=120)
    a = ap.parse_args()
    ROOT = a.root
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    timer = threading.Timer(a.lifetime, lambda: os._exit(0))
    timer.daemon = True
    timer.start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
