"""The emulator's HTTP server: one loopback port, three ways in.

* **Direct HTTPS** (``https://127.0.0.1:PORT``): the first byte of a connection is a TLS handshake,
  so the server wraps the socket and serves the API; logins answer with that same address.
* **Proxy** (``http://127.0.0.1:PORT`` as ``HTTPS_PROXY`` / the connection's ``proxies``): a
  plain ``CONNECT login.salesforce.com:443`` is answered ``200`` and the tunnel is TLS-terminated
  here with the leaf certificate, so clients keep the real host names. The requested host picks
  the org at login and logins answer with the org's real My Domain URL. Only the emulated
  Salesforce hosts are accepted; nothing is ever forwarded off the machine.
* **Plain HTTP admin** (``http://127.0.0.1:PORT/__emulator/...``) for the process mode.

Requests are answered by the ``server.EmulatorCore``.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import _SocketWriter  # type: ignore[attr-defined]
from typing import Any

from sf_emulator.http_types import Reply, error_reply
from sf_emulator.server import DropConnection, EmulatorCore, IncomingRequest

logger = logging.getLogger(__name__)

# Salesforce's limit for the request line plus headers of a REST call.
MAX_REQUEST_HEAD_BYTES = 16_384
_TLS_HANDSHAKE_RECORD = 0x16
_IDLE_CONNECTION_SECONDS = 120


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A threaded server whose connections may turn into TLS (direct) or tunnels (CONNECT)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], core: EmulatorCore) -> None:
        self.core = core
        self.tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls_context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.tls_context.load_cert_chain(core.tls.server_cert, core.tls.server_key)
        self._open_sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()
        super().__init__(address, EmulatorRequestHandler)
        core.port = self.server_address[1]

    def track(self, sock: socket.socket) -> None:
        with self._sockets_lock:
            self._open_sockets.add(sock)

    def untrack(self, sock: socket.socket) -> None:
        with self._sockets_lock:
            self._open_sockets.discard(sock)

    def close_open_connections(self) -> None:
        """Unblock handler threads waiting on idle keep-alive connections (used at stop)."""
        with self._sockets_lock:
            sockets = list(self._open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up, distrust the certificate or get dropped on purpose are normal.
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    """Per-connection handler: sniffs TLS, terminates CONNECT tunnels, serves requests."""

    protocol_version = "HTTP/1.1"
    server: EmulatorHTTPServer
    server_version = "SFDC-Emulator"
    sys_version = ""
    timeout = _IDLE_CONNECTION_SECONDS

    tunnel_host: str | None = None
    is_tls = False
    raw_requestline: bytes
    _headers_buffer: list[bytes]

    def setup(self) -> None:
        self.server.track(self.request)
        self.request.settimeout(self.timeout)
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            first = self.request.recv(1, socket.MSG_PEEK)
        except OSError:
            first = b""
        if first and first[0] == _TLS_HANDSHAKE_RECORD:
            self.request = self.server.tls_context.wrap_socket(self.request, server_side=True)
            self.server.track(self.request)
            self.is_tls = True
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)
            self.server.untrack(self.request)
            with contextlib.suppress(OSError):
                self.connection.close()

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines can hold tokens (revoke?token=...): keep them out of logs.
        return

    # --- proxy --------------------------------------------------------------------------------

    def do_CONNECT(self) -> None:
        host, _, port = self.path.rpartition(":")
        host = host.strip("[]").lower()
        if not host.endswith(".salesforce.com") or port != "443":
            self._send_plain(403, "The emulator only tunnels to Salesforce hosts on port 443")
            return
        if not self.server.core.auth.is_known_host(host):
            self._send_plain(502, f"Unknown Salesforce host {host}")
            return
        self.send_response(200, "Connection Established")
        self.end_headers()
        tls_socket = self.server.tls_context.wrap_socket(self.connection, server_side=True)
        self.server.track(tls_socket)
        self.connection = self.request = tls_socket
        self.rfile = tls_socket.makefile("rb", self.rbufsize)  # type: ignore[assignment]
        self.wfile = _SocketWriter(tls_socket)
        self.tunnel_host = host
        self.is_tls = True
        self.close_connection = False

    def _send_plain(self, status: int, message: str) -> None:
        body = message.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    # --- HTTP methods -------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def _serve(self) -> None:
        oversize = self._oversize_head_status()
        if oversize:
            self._write(error_reply(oversize, *_OVERSIZE[oversize]), close=True)
            return
        body = self._read_body()
        request = IncomingRequest(
            method=self.command,
            target=self.path,
            headers=self.headers,
            body=body,
            tunnel_host=self.tunnel_host,
            is_tls=self.is_tls,
        )
        try:
            reply = self.server.core.handle(request)
        except DropConnection:
            self._drop()
            return
        except Exception:
            logger.exception("emulator error on %s %s", self.command, self.path.split("?")[0])
            reply = error_reply(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred.")
        self._write(reply, close=reply.close)

    def _oversize_head_status(self) -> int | None:
        """414/431 when request line + headers exceed Salesforce's 16 KB."""
        line_bytes = len(self.raw_requestline)
        header_bytes = sum(len(k) + len(v) + 4 for k, v in self.headers.items()) + 2
        if line_bytes + header_bytes <= MAX_REQUEST_HEAD_BYTES:
            return None
        return 414 if line_bytes > header_bytes else 431

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _write(self, reply: Reply, *, close: bool) -> None:
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        # Head and body in one write: separate small writes stall on Nagle + delayed ACK.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD" and reply.body:
            self._headers_buffer.append(reply.body)
        self.wfile.write(b"".join(self._headers_buffer))
        self._headers_buffer = []

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        self.connection.close()


_OVERSIZE = {
    414: (
        "URI_TOO_LONG",
        "The request URI is too long (request line and headers over 16384 bytes)",
    ),
    431: (
        "REQUEST_HEADER_FIELDS_TOO_LARGE",
        "Request header fields too large (request line and headers over 16384 bytes)",
    ),
}


def serve_in_thread(server: EmulatorHTTPServer) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        daemon=True,
        name=f"sf-emulator-{server.core.port}",
    )
    thread.start()
    return thread
