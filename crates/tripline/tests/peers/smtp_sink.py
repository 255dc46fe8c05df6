"""A real SMTP server (aiosmtpd) on 127.0.0.1: writes each message to OUTDIR/N.eml.

Usage: smtp_sink.py OUTDIR [starttls|tls CERT KEY]  -- prints "port N" once listening.
starttls: plain SMTP that requires STARTTLS before mail; tls: TLS from the first byte.
"""
import asyncio
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, outdir):
        self.outdir = outdir
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        tmp = os.path.join(self.outdir, f".{self.n}.tmp")
        with open(tmp, "wb") as f:
            f.write(f"X-Rcpt: {','.join(envelope.rcpt_tos)}\r\n".encode())
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(self.outdir, f"{self.n}.eml"))
        return "250 OK"


async def main():
    handler = Sink(sys.argv[1])
    loop = asyncio.get_running_loop()
    mode = sys.argv[2] if len(sys.argv) > 2 else "none"
    ctx = None
    if mode != "none":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    if mode == "starttls":
        factory = lambda: SMTP(handler, tls_context=ctx, require_starttls=True)
        server = await loop.create_server(factory, "127.0.0.1", 0)
    else:
        server = await loop.create_server(lambda: SMTP(handler), "127.0.0.1", 0, ssl=ctx)
    print("port", server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


asyncio.run(main())
