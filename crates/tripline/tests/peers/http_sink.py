"""A real HTTP server on 127.0.0.1 for webhook tests. Prints "port N".

POST/PUT /ok/NAME...  -> 200; writes OUTDIR/NAME.N.json: {"path", "headers", "body"}
POST /fail            -> 500; appends a line to OUTDIR/fail.log per attempt
POST /hang            -> touches OUTDIR/hang.started, then never answers
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OUT = sys.argv[1]
lock = threading.Lock()
counter = [0]


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_PUT(self):
        self.do_POST()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace")
        if self.path.startswith("/fail"):
            with open(os.path.join(OUT, "fail.log"), "a") as f:
                f.write(f"{time.time()}\n")
            self.send_response(500)
            self.end_headers()
            return
        if self.path.startswith("/hang"):
            open(os.path.join(OUT, "hang.started"), "w").close()
            time.sleep(60)
            return
        name = self.path.split("/")[2] if self.path.count("/") >= 2 else "root"
        with lock:
            counter[0] += 1
            k = counter[0]
        rec = {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        tmp = os.path.join(OUT, f".{k}.tmp")
        with open(tmp, "w") as f:
            json.dump(rec, f)
        os.rename(tmp, os.path.join(OUT, f"{name}.{k}.json"))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
print("port", srv.server_address[1], flush=True)
srv.serve_forever()
