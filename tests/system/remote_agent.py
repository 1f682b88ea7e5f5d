"""What stands outside the appliance, for the VM tests and tools/run: an agent speaking MCP to
agentd over HTTPS (port 7443), an HTTPS webhook receiver that gets the approvers' links, and an
approver who opens a link and answers with a TOTP code. Python's standard library only."""

import base64
import hashlib
import hmac
import http.server
import json
import os
import re
import ssl
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

# qemu's user network: the guest reaches the host's loopback at this address.
HOST_FROM_GUEST = "10.0.2.2"


def tls_context(ca_file):
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    return context


def https(url, ca_file, method="GET", body=None, headers=None, timeout=60):
    """(status, headers, body text) of one HTTPS request; HTTP errors are answers too."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, context=tls_context(ca_file), timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


class McpAgent:
    """An MCP client over Streamable HTTP with a bearer token, acting for one registered run."""

    def __init__(self, url, ca_file, token, run_id):
        self.url, self.ca_file, self.token, self.run_id = url, ca_file, token, run_id
        self.session = None
        self.next_id = 1

    def post(self, message):
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                   "Authorization": "Bearer " + self.token, "Cordon-Run-Id": self.run_id}
        if self.session:
            headers["Mcp-Session-Id"] = self.session
        return https(self.url, self.ca_file, "POST", json.dumps(message).encode(), headers)

    def request(self, method, params):
        status, headers, body = self.post({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        self.next_id += 1
        if status != 200:
            raise RuntimeError("%s answered HTTP %d: %s" % (method, status, body[:300]))
        return headers, json.loads(body)

    def initialize(self):
        headers, answer = self.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                                      "clientInfo": {"name": "remote-agent", "version": "1"}})
        self.session = {k.lower(): v for k, v in headers.items()}.get("mcp-session-id")
        if not self.session:
            raise RuntimeError("initialize answered no Mcp-Session-Id")
        status, _, body = self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        if status != 202:
            raise RuntimeError("notifications/initialized answered HTTP %d: %s" % (status, body[:300]))
        return answer["result"]

    def call(self, tool, arguments, confidence=0.95, rationale="the task asks for it"):
        """The CallToolResult of tools/call."""
        _, answer = self.request("tools/call", {"name": tool, "arguments": arguments,
                                                "_meta": {"cordon/confidence": confidence, "cordon/rationale": rationale}})
        if "result" not in answer:
            raise RuntimeError("tools/call %s: %s" % (tool, json.dumps(answer)[:300]))
        return answer["result"]


def make_certificate(directory, ip):
    """A throwaway self-signed certificate for `ip`: (cert file, key file, cert PEM)."""
    cert, key = os.path.join(directory, "receiver.crt"), os.path.join(directory, "receiver.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=webhook receiver",
                    "-addext", "subjectAltName=IP:%s,IP:127.0.0.1" % ip], check=True, capture_output=True)
    with open(cert) as f:
        return cert, key, f.read()


class WebhookReceiver:
    """A generic webhook receiver over HTTPS on the host's loopback (the guest reaches it at
    HOST_FROM_GUEST): keeps each delivery whose X-Cordon-Signature-256 checks out."""

    def __init__(self, directory, key):
        self.key = key
        self.deliveries = []
        self.bad_signatures = 0
        self.cert_file, self.key_file, self.cert_pem = make_certificate(directory, HOST_FROM_GUEST)
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                expected = "sha256=" + hmac.new(receiver.key.encode(), body, hashlib.sha256).hexdigest()
                if hmac.compare_digest(expected, self.headers.get("X-Cordon-Signature-256", "")):
                    receiver.deliveries.append(json.loads(body))
                else:
                    receiver.bad_signatures += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self):
        return "https://%s:%d/cordon" % (HOST_FROM_GUEST, self.port)

    def wait_for(self, event, approval_id, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for delivery in self.deliveries:
                if delivery.get("event") == event and delivery.get("approval_id") == approval_id:
                    return delivery
            time.sleep(0.5)
        raise TimeoutError("no %s delivery for %s" % (event, approval_id))

    def close(self):
        self.server.shutdown()


def totp(secret_base32, at=None):
    """RFC 6238: HMAC-SHA1, 30-second steps, 6 digits."""
    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    step = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


def approve(link, ca_file, secret_base32):
    """Opens an approval link (rewritten by the caller to a reachable address) and approves with
    a fresh TOTP code; (page status, answer status, answer page)."""
    status, _, page = https(link, ca_file)
    # A code is good for one step only: wait for a fresh step if this one is about to end.
    if time.time() % 30 > 25:
        time.sleep(6)
    form = urllib.parse.urlencode({"code": totp(secret_base32), "choice": "approve"}).encode()
    answered, _, answer = https(link, ca_file, "POST", form, {"Content-Type": "application/x-www-form-urlencoded"})
    return status, answered, answer


def page_state(page):
    """The text of the answered page's #state element ("approved", "rejected", ...)."""
    m = re.search(r'id="state"[^>]*>([^<]*)<', page)
    return m.group(1).strip() if m else ""
