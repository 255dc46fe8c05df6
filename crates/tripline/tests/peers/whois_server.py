"""Two RFC 3912 whois servers on 127.0.0.1: a root that refers every query to a
registry, and the registry that answers. Prints "port N" (the root's port).
Each query is appended to OUTDIR/queries.log as "root QUERY" / "registry QUERY".
"""
import os
import socketserver
import sys
import threading

OUT = sys.argv[1]


def log(who, q):
    with open(os.path.join(OUT, "queries.log"), "a") as f:
        f.write(f"{who} {q}\n")


class Registry(socketserver.StreamRequestHandler):
    def handle(self):
        q = self.rfile.readline().decode().strip()
        log("registry", q)
        self.wfile.write(
            (
                "% Test registry\n"
                f"inetnum:        {q} - {q}\n"
                "netname:        TEST-NET-2\n"
                "descr:          Documentation address block (RFC 5737)\n"
                "country:        ZZ\n"
            ).encode()
        )


class Root(socketserver.StreamRequestHandler):
    def handle(self):
        q = self.rfile.readline().decode().strip()
        log("root", q)
        self.wfile.write(
            f"% IANA-like root\nrefer:        127.0.0.1:{REG_PORT}\n\ninetnum: {q}\n".encode()
        )


socketserver.ThreadingTCPServer.allow_reuse_address = True
reg = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Registry)
REG_PORT = reg.server_address[1]
root = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Root)
threading.Thread(target=reg.serve_forever, daemon=True).start()
print("port", root.server_address[1], flush=True)
root.serve_forever()
