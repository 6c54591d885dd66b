#!/usr/bin/env python3
"""test_tls.py — core's TLS client (tls.c over net.c, driven by http.c) against Python's ssl servers.

Certificates are made here with `cryptography` (a test CA, leaves for "localhost" with and
without an IP SAN, one for another name, an expired one, a not-yet-valid one, a self-signed
leaf, an ECDSA leaf); servers are Python http.server + ssl (OpenSSL) on 127.0.0.1, TLS 1.2
allowed; a small CONNECT/forwarding proxy is written here. The client is build/tools/httpget
(tests/tools/httpget.c): it prints "status N" and the body, and exits with awsbox's exit codes
(6 for network and TLS failures).

Checks: a CA given with --ca-bundle or SSL_CERT_FILE is trusted; unknown CA, wrong host name,
expired, not yet valid, self-signed and IP-address mismatches fail with exit 6 and a clear reason;
unreadable or empty bundles fail clearly; with no bundle and no /etc (chroot) the compiled-in set is
used; the cipher suite is TLS 1.2 ECDHE + AES-GCM (ChaCha20 without AES-NI); connections are kept
alive; HTTPS_PROXY (CONNECT), HTTP_PROXY (absolute form), NO_PROXY and proxy credentials; 64 MiB
up and down over TLS are byte-identical (SHA-256 computed by Python) with bounded client memory.

Run alone: python3 tests/integration/test_tls.py
The tool is $AWSBOX_TOOLS/httpget, else build/tools/httpget under the repo root.
"""
import base64
import datetime
import hashlib
import http.server
import os
import random
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import unittest
from urllib.parse import urlsplit, parse_qs

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import harness
from listener import Listener

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(os.environ.get('AWSBOX_TOOLS') or os.path.join(ROOT, 'build', 'tools'), 'httpget')
BIG = 64 << 20
EX_NET = 6

# ---- certificates ----

NOW = datetime.datetime.now(datetime.timezone.utc)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key(kind):
    return ec.generate_private_key(ec.SECP256R1()) if kind == 'ec' else rsa.generate_private_key(65537, 2048)


def make_ca(cn):
    key = _key('rsa')
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1)).not_valid_after(NOW + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_leaf(cn, dns=(), ips=(), issuer=None, kind='rsa', days=(-1, 30)):
    """A server certificate; issuer None: self-signed (and not a CA)."""
    key = _key(kind)
    san = [x509.DNSName(d) for d in dns] + [x509.IPAddress(__import__('ipaddress').ip_address(i)) for i in ips]
    ikey, icert = issuer if issuer else (key, None)
    b = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(icert.subject if icert else _name(cn))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(NOW + datetime.timedelta(days=days[0]))
         .not_valid_after(NOW + datetime.timedelta(days=days[1]))
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return key, b.sign(ikey, hashes.SHA256())


def write_pair(d, name, key, cert):
    c, k = os.path.join(d, name + '.crt'), os.path.join(d, name + '.key')
    with open(c, 'wb') as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(k, 'wb') as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return c, k


# ---- servers ----

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    big = b''

    def log_message(self, *a):
        pass

    def _send(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _cipher(self):
        c = self.connection.cipher() if isinstance(self.connection, ssl.SSLSocket) else None
        return '%s %s' % (c[0], c[1]) if c else 'plain'

    def do_GET(self):
        u = urlsplit(self.path)  # absolute form when it came through an HTTP proxy
        if u.path == '/hello':
            self._send(200, b'hello over ' + self._cipher().encode())
        elif u.path == '/bye':
            # Says whether OpenSSL resumed the session, then closes with close_notify: OpenSSL
            # keeps a session resumable only when its connection ends that way.
            reused = isinstance(self.connection, ssl.SSLSocket) and self.connection.session_reused
            self._send(200, ('hello over %s, session %s' % (self._cipher(), 'resumed' if reused else 'new')).encode(),
                       [('Connection', 'close')])
            try:
                self.connection.unwrap()
            except (OSError, ValueError):
                pass
        elif u.path == '/big':
            n = int(parse_qs(u.query).get('n', [str(BIG)])[0])
            self.send_response(200)
            self.send_header('Content-Length', str(n))
            self.end_headers()
            view = memoryview(Handler.big)[:n]
            for off in range(0, n, 1 << 20):
                self.wfile.write(view[off:off + (1 << 20)])
        else:
            self._send(404, b'no such path')

    def _read_body(self):
        h = hashlib.sha256()
        total = 0
        if self.headers.get('Transfer-Encoding', '').lower() == 'chunked':
            while True:
                size = int(self.rfile.readline().split(b';')[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    break
                left = size
                while left:
                    d = self.rfile.read(min(left, 1 << 20))
                    if not d:
                        raise ConnectionError('short chunk')
                    h.update(d)
                    left -= len(d)
                    total += len(d)
                if self.rfile.read(2) != b'\r\n':
                    raise ValueError('bad chunk end')
        else:
            left = int(self.headers.get('Content-Length', '0'))
            while left:
                d = self.rfile.read(min(left, 1 << 20))
                if not d:
                    raise ConnectionError('short body')
                h.update(d)
                left -= len(d)
                total += len(d)
        return h.hexdigest(), total

    def do_PUT(self):
        digest, total = self._read_body()
        self._send(200, ('%s %d' % (digest, total)).encode())

    do_POST = do_PUT


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client refusing our certificate is expected here


def start_server(certfile=None, keyfile=None, tls13_only=False):
    srv = Server(('127.0.0.1', 0), Handler)
    if certfile:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3 if tls13_only else ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers('ECDHE+AESGCM:ECDHE+CHACHA20')
        ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE  # let the client's order decide
        ctx.load_cert_chain(certfile, keyfile)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


class Proxy:
    """CONNECT tunnels and plain forwarding (absolute-form requests), recording each request head."""

    def __init__(self):
        self.heads = []
        self.listener = Listener(self._serve)
        self.port = self.listener.port

    def _serve(self, c):
        try:
            head = b''
            while b'\r\n\r\n' not in head:
                d = c.recv(65536)
                if not d:
                    return
                head += d
            head, rest = head.split(b'\r\n\r\n', 1)
            text = head.decode('latin-1')
            self.heads.append(text)
            method, target, _ = text.split('\r\n')[0].split(' ')
            if method == 'CONNECT':
                host, port = target.rsplit(':', 1)
                up = socket.create_connection((host, int(port)))
                c.sendall(b'HTTP/1.1 200 Connection established\r\n\r\n')
            else:
                u = urlsplit(target)
                up = socket.create_connection((u.hostname, u.port or 80))
                up.sendall(head + b'\r\n\r\n')  # forwarded as is: the test server takes absolute form
            with up:
                if rest:
                    up.sendall(rest)
                t = threading.Thread(target=self._pipe, args=(up, c), daemon=True)
                t.start()
                self._pipe(c, up)
                t.join()
        except OSError:
            pass
        finally:
            c.close()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                d = a.recv(1 << 20)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        self.listener.stop()


def cpu_has_aesni():
    if harness.emulated():
        return True  # every arm64 CPU model of qemu-user has the AES and PMULL instructions
    try:
        with open('/proc/cpuinfo') as f:
            flags = f.read().split()
    except OSError:
        return False
    return 'aes' in flags and 'pclmulqdq' in flags


# ---- the tests ----

class TLSTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(TOOL, os.X_OK):
            raise AssertionError('%s not built (make build/tools/httpget)' % TOOL)
        cls.dir = tempfile.mkdtemp(prefix='awsbox-tls-')
        d = cls.dir
        ca = make_ca('awsbox test CA')
        other_ca = make_ca('awsbox other CA')
        cls.ca = write_pair(d, 'ca', *ca)[0]
        cls.other_ca = write_pair(d, 'other-ca', *other_ca)[0]
        leaves = {
            'good': make_leaf('localhost', dns=['localhost'], ips=['127.0.0.1'], issuer=ca),
            'noip': make_leaf('localhost', dns=['localhost'], issuer=ca),
            'wrongname': make_leaf('other.example', dns=['other.example'], issuer=ca),
            'expired': make_leaf('localhost', dns=['localhost'], issuer=ca, days=(-30, -1)),
            'future': make_leaf('localhost', dns=['localhost'], issuer=ca, days=(2, 30)),
            'selfsigned': make_leaf('localhost', dns=['localhost'], ips=['127.0.0.1']),
            'ecdsa': make_leaf('localhost', dns=['localhost'], issuer=ca, kind='ec'),
        }
        Handler.big = random.Random(1).randbytes(BIG)
        cls.big_sha = hashlib.sha256(Handler.big).hexdigest()
        cls.servers = {}
        for name, pair in leaves.items():
            cls.servers[name] = start_server(*write_pair(d, name, *pair))
        cls.servers['tls13'] = start_server(*write_pair(d, 'tls13', *leaves['good']), tls13_only=True)
        cls.plain = start_server()
        cls.proxy = Proxy()
        cls.home = os.path.join(d, 'home')
        os.mkdir(cls.home)

    @classmethod
    def tearDownClass(cls):
        for s in list(getattr(cls, 'servers', {}).values()) + [getattr(cls, 'plain', None)]:
            if s:
                s.shutdown()
                s.server_close()
        if getattr(cls, 'proxy', None):
            cls.proxy.close()
        if getattr(cls, 'dir', None):
            shutil.rmtree(cls.dir, ignore_errors=True)

    def url(self, name, path='/hello', host='localhost'):
        srv = self.plain if name == 'plain' else self.servers[name]
        return '%s://%s:%d%s' % ('http' if name == 'plain' else 'https', host, srv.server_address[1], path)

    def run_tool(self, *args, env=None, timeout=120):
        e = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'HOME': self.home}
        e.update(env or {})
        return subprocess.run([TOOL] + list(args), env=e, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def assert_small_memory(self, p):
        # Streamed through bounded buffers: the client never held a body (VmHWM of httpget).
        line = [l for l in p.stderr.decode().splitlines() if l.startswith('VmHWM ')]
        self.assertEqual(len(line), 1, p.stderr)
        self.assertLess(int(line[0].split()[1]), 8 * 1024 + harness.emu_rss_kib())

    def ok(self, p):
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors='replace'))
        return p.stdout.decode(errors='replace')

    def fails(self, p, reason):
        err = p.stderr.decode(errors='replace')
        self.assertEqual(p.returncode, EX_NET, err)
        self.assertIn(reason, err)
        self.assertEqual(p.stdout, b'')
        return err

    # trust anchors

    def test_trusted_ca_bundle(self):
        out = self.ok(self.run_tool('--ca-bundle', self.ca, self.url('good')))
        self.assertTrue(out.startswith('status 200\nhello over '), out)
        self.assertIn('TLSv1.2', out)

    def test_cipher_suite_is_fast_aead(self):
        out = self.ok(self.run_tool('--ca-bundle', self.ca, self.url('good')))
        # The client's order decides (server preference off): AES-GCM where the CPU has AES-NI.
        want = 'ECDHE-RSA-AES128-GCM-SHA256' if cpu_has_aesni() else 'ECDHE-RSA-CHACHA20-POLY1305'
        self.assertIn('hello over %s TLSv1.2' % want, out)
        out = self.ok(self.run_tool('--ca-bundle', self.ca, self.url('ecdsa')))
        self.assertIn('ECDHE-ECDSA-', out)

    def test_key_exchange_prefers_x25519(self):
        # BearSSL 0.6 meant to offer X25519 first but offered P-256 first (scripts/bearssl fixes
        # it); with the client's order deciding, X25519 is the key exchange.
        p = self.run_tool('--debug', '--ca-bundle', self.ca, self.url('good'))
        self.ok(p)
        self.assertIn('key exchange X25519', p.stderr.decode(errors='replace'))

    def test_untrusted_ca(self):
        self.fails(self.run_tool('--ca-bundle', self.other_ca, self.url('good')),
                   'TLS handshake with localhost:%d: certificate is not trusted (unknown CA)'
                   % self.servers['good'].server_address[1])

    def test_wrong_host_name(self):
        self.fails(self.run_tool('--ca-bundle', self.ca, self.url('wrongname')),
                   'certificate does not match host name localhost')

    def test_expired_and_not_yet_valid(self):
        self.fails(self.run_tool('--ca-bundle', self.ca, self.url('expired')), 'certificate has expired')
        self.fails(self.run_tool('--ca-bundle', self.ca, self.url('future')), 'or is not yet valid')

    def test_self_signed(self):
        self.fails(self.run_tool('--ca-bundle', self.ca, self.url('selfsigned')), 'not trusted (unknown CA)')

    def test_handshake_failures(self):
        # A server that only speaks TLS 1.3 refuses our TLS 1.2 hello with an alert.
        self.fails(self.run_tool('--ca-bundle', self.ca, self.url('tls13')),
                   'TLS handshake with localhost:%d: server sent fatal alert 70 (protocol_version)'
                   % self.servers['tls13'].server_address[1])
        # Not TLS at all on the other side.
        port = self.plain.server_address[1]
        self.fails(self.run_tool('--ca-bundle', self.ca, 'https://localhost:%d/hello' % port),
                   'TLS handshake with localhost:%d: server does not speak TLS 1.2' % port)

    def test_ip_address_host(self):
        # BearSSL checks DNS names only; an IP literal is checked against iPAddress SANs here.
        out = self.ok(self.run_tool('--ca-bundle', self.ca, self.url('good', host='127.0.0.1')))
        self.assertTrue(out.startswith('status 200\n'))
        self.fails(self.run_tool('--ca-bundle', self.ca, self.url('noip', host='127.0.0.1')),
                   'certificate does not match host name 127.0.0.1')
        # ...and the chain is still verified.
        self.fails(self.run_tool('--ca-bundle', self.other_ca, self.url('good', host='127.0.0.1')),
                   'not trusted (unknown CA)')

    def test_ssl_cert_file(self):
        out = self.ok(self.run_tool(self.url('good'), env={'SSL_CERT_FILE': self.ca}))
        self.assertTrue(out.startswith('status 200\n'))
        # An explicit bundle wins over SSL_CERT_FILE.
        self.fails(self.run_tool('--ca-bundle', self.other_ca, self.url('good'), env={'SSL_CERT_FILE': self.ca}),
                   'unknown CA')

    def test_bad_bundles(self):
        missing = os.path.join(self.dir, 'missing.pem')
        self.fails(self.run_tool('--ca-bundle', missing, self.url('good')),
                   'CA bundle %s: No such file or directory' % missing)
        empty = os.path.join(self.dir, 'empty.pem')
        with open(empty, 'w') as f:
            f.write('not a certificate\n')
        self.fails(self.run_tool('--ca-bundle', empty, self.url('good')), 'CA bundle %s: no certificates' % empty)
        self.fails(self.run_tool(self.url('good'), env={'SSL_CERT_FILE': missing}), 'CA bundle %s' % missing)
        if os.geteuid() != 0:  # root reads anything
            unreadable = os.path.join(self.dir, 'unreadable.pem')
            shutil.copy(self.ca, unreadable)
            os.chmod(unreadable, 0)
            self.fails(self.run_tool('--ca-bundle', unreadable, self.url('good')), 'Permission denied')

    def test_compiled_in_anchors_in_empty_root(self):
        """No bundle, no /etc: the compiled-in roots are used, and they do not know the test CA."""
        root = os.path.join(self.dir, 'scratch')
        os.mkdir(root)
        shutil.copy2(TOOL, os.path.join(root, 'httpget'))
        chroot = shutil.which('chroot') or 'chroot'
        prefixes = ([[chroot, root]] if os.geteuid() == 0 else []) + [[shutil.which('unshare'), '-rm', chroot, root]]
        for prefix in prefixes:
            if not prefix[0] or not os.access(prefix[0], os.X_OK):
                continue
            p = subprocess.run(prefix + ['/httpget', '--debug', self.url('good', host='127.0.0.1')], env={},
                               capture_output=True, timeout=60)
            err = p.stderr.decode(errors='replace')
            if 'compiled-in trust anchors' not in err and p.returncode in (125, 126, 127, 1) and 'chroot' in err:
                continue  # this way into an empty root does not work here
            self.assertEqual(p.returncode, EX_NET, err)
            self.assertIn('certificate is not trusted (unknown CA)', err)
            n = int(err.split(' compiled-in trust anchors')[0].rsplit(' ', 1)[1])
            self.assertGreater(n, 20, 'the build should embed the system roots')
            return
        self.skipTest('neither chroot nor unshare -rm works here')

    def test_system_bundle_is_used_without_settings(self):
        p = self.run_tool('--debug', self.url('good'))
        err = p.stderr.decode(errors='replace')
        self.fails(p, 'unknown CA')  # the system roots do not know the test CA
        sys_bundles = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt',
                       '/etc/ssl/ca-bundle.pem', '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem',
                       '/etc/ssl/cert.pem']
        first = next((b for b in sys_bundles if os.access(b, os.R_OK)), None)
        if first:
            self.assertIn('trust anchors from %s' % first, err)

    # connections

    def test_keepalive_over_tls(self):
        out = self.ok(self.run_tool('--ca-bundle', self.ca, '--repeat', '5', self.url('good')))
        self.assertIn('connects 1\n', out)

    def test_session_resumed(self):
        # Each request closes its connection: the second and third connections resume the first's
        # session (the server, OpenSSL, says so), skipping the certificate chain and key exchange.
        p = self.run_tool('--debug', '--ca-bundle', self.ca, '--repeat', '3', self.url('good', '/bye'))
        out = self.ok(p)
        self.assertIn('connects 3\n', out)
        self.assertEqual((out.count('session new'), out.count('session resumed')), (1, 2), out)
        self.assertEqual(p.stderr.decode(errors='replace').count('session resumed'), 2)
        # Through an address too (no SNI; the first connection checked the certificate's IP).
        out = self.ok(self.run_tool('--ca-bundle', self.ca, '--repeat', '2', self.url('good', '/bye', '127.0.0.1')))
        self.assertEqual((out.count('session new'), out.count('session resumed')), (1, 1), out)

    # proxies

    def test_https_proxy_connect(self):
        n0 = len(self.proxy.heads)
        env = {'HTTPS_PROXY': 'http://127.0.0.1:%d' % self.proxy.port}
        out = self.ok(self.run_tool('--ca-bundle', self.ca, self.url('good'), env=env))
        self.assertTrue(out.startswith('status 200\nhello over '))
        heads = self.proxy.heads[n0:]
        port = self.servers['good'].server_address[1]
        self.assertEqual(len(heads), 1)
        self.assertTrue(heads[0].startswith('CONNECT localhost:%d HTTP/1.1\r\n' % port), heads[0])
        self.assertNotIn('Proxy-Authorization', heads[0])
        # Verification still happens end to end through the tunnel.
        self.fails(self.run_tool('--ca-bundle', self.other_ca, self.url('good'), env=env), 'unknown CA')

    def test_https_proxy_credentials(self):
        n0 = len(self.proxy.heads)
        env = {'https_proxy': 'http://al%%40ice:s3cr%%3At@127.0.0.1:%d' % self.proxy.port}
        p = self.run_tool('--ca-bundle', self.ca, '--debug', self.url('good'), env=env)
        self.ok(p)
        head = self.proxy.heads[n0]
        auth = [l for l in head.split('\r\n') if l.lower().startswith('proxy-authorization:')]
        self.assertEqual(len(auth), 1)
        scheme, cred = auth[0].split(':', 1)[1].split()
        self.assertEqual((scheme, base64.b64decode(cred)), ('Basic', b'al@ice:s3cr:t'))
        self.assertNotIn('s3cr', p.stderr.decode(errors='replace'))

    def test_no_proxy_bypasses(self):
        n0 = len(self.proxy.heads)
        env = {'HTTPS_PROXY': 'http://127.0.0.1:%d' % self.proxy.port, 'NO_PROXY': 'example.com,localhost'}
        self.ok(self.run_tool('--ca-bundle', self.ca, self.url('good'), env=env))
        self.assertEqual(self.proxy.heads[n0:], [])
        # A dead proxy proves the bypass: without NO_PROXY the request fails.
        dead = {'HTTPS_PROXY': 'http://127.0.0.1:1', 'NO_PROXY': '.localhost'}
        self.ok(self.run_tool('--ca-bundle', self.ca, self.url('good'), env=dead))
        p = self.run_tool('--ca-bundle', self.ca, self.url('good'), env={'HTTPS_PROXY': 'http://127.0.0.1:1'})
        self.fails(p, 'connect 127.0.0.1:1: Connection refused (proxy for localhost:')

    def test_http_proxy_plain(self):
        n0 = len(self.proxy.heads)
        env = {'HTTP_PROXY': 'http://127.0.0.1:%d' % self.proxy.port,
               'HTTPS_PROXY': 'http://127.0.0.1:1'}  # not for http:// URLs
        out = self.ok(self.run_tool(self.url('plain'), env=env))
        self.assertEqual(out, 'status 200\nhello over plain')
        port = self.plain.server_address[1]
        self.assertEqual(len(self.proxy.heads[n0:]), 1)
        self.assertTrue(self.proxy.heads[n0].startswith('GET http://localhost:%d/hello HTTP/1.1\r\n' % port))
        # HTTP_PROXY is not used for https:// URLs.
        n0 = len(self.proxy.heads)
        self.ok(self.run_tool('--ca-bundle', self.ca, self.url('good'), env={'HTTP_PROXY': env['HTTP_PROXY']}))
        self.assertEqual(self.proxy.heads[n0:], [])

    # large transfers

    def test_large_download(self):
        p = self.run_tool('--ca-bundle', self.ca, '--sha256', '--mem', self.url('good', '/big'))
        self.assertEqual(self.ok(p), 'status 200\nsha256 %s %d\n' % (self.big_sha, BIG))
        self.assert_small_memory(p)
        # Through the tunnel as well, printed to stdout this time.
        env = {'HTTPS_PROXY': 'http://127.0.0.1:%d' % self.proxy.port}
        p = self.run_tool('--ca-bundle', self.ca, self.url('good', '/big?n=%d' % (8 << 20)), env=env)
        self.assertEqual(p.returncode, 0)
        self.assertEqual(p.stdout, b'status 200\n' + Handler.big[:8 << 20])

    def test_large_upload(self):
        path = os.path.join(self.dir, 'upload.bin')
        data = random.Random(2).randbytes(BIG)
        with open(path, 'wb') as f:
            f.write(data)
        want = '%s %d' % (hashlib.sha256(data).hexdigest(), BIG)
        del data
        p = self.run_tool('--ca-bundle', self.ca, '-X', 'PUT', '--upload', path, '--expect', '--mem',
                          self.url('good', '/up'))
        self.assertEqual(self.ok(p), 'status 200\n' + want)
        self.assert_small_memory(p)
        p = self.run_tool('--ca-bundle', self.ca, '-X', 'PUT', '--upload', path, '--chunked', '--mem',
                          self.url('ecdsa', '/up'))
        self.assertEqual(self.ok(p), 'status 200\n' + want)
        self.assert_small_memory(p)


if __name__ == '__main__':
    unittest.main()
