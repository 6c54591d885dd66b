#!/usr/bin/env python3
"""test_sigv4_botocore.py — differential test of core/req/sigv4.c against botocore.

Generates seeded random requests, signs each with botocore (SigV4Auth, S3SigV4Auth,
SigV4QueryAuth, S3SigV4QueryAuth) and with build/tools/sigv4-sign (one process for all
cases, line protocol described in tests/tools/sigv4-sign.c), and requires the canonical
request, string to sign and Authorization value (or presigned query) to be identical.
Also compares awschunked_length with the body botocore's AwsChunkedWrapper produces.

Run alone: python3 tests/integration/test_sigv4_botocore.py
The tool is $AWSBOX_TOOLS/sigv4-sign, else build/tools/sigv4-sign under the repo root.
"""
import datetime
import hashlib
import io
import os
import random
import subprocess
import sys
import unittest
from unittest import mock
from urllib.parse import parse_qsl, quote

import botocore.auth
import botocore.config
import botocore.httpchecksum
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(os.environ.get('AWSBOX_TOOLS') or os.path.join(ROOT, 'build', 'tools'), 'sigv4-sign')
SEED = int(os.environ.get('AWSBOX_SEED', '4242'))
N_HEADER, N_PRESIGN = 1200, 300

PATH_SEGS = ['', '', '.', '..', 'a', 'b', 'foo bar', 'ü', '日本', '%', '%41', 'a+b', 'x=y', ':@', "!$&'()*,;",
             '~user', 'a.b', '-_.', '..a', '.b', 'a%2Fb', 'tab\there', 'q?x', 'h#f', '"<>\\^`{|}']
QUERY_KEYS = ['', 'a', 'A', 'b', 'a b', 'ü', 'k=v', '&', '%', 'list-type', 'prefix', '+', 'x-id', 'a-', 'a_']
QUERY_VALS = ['', '', 'x', 'x y', '/', 'ü', '*', '=', '&&', '%2F', '+ +', '日本', '~-._']
HEADER_NAMES = ['X-Amz-Meta-Foo', 'x-amz-meta-foo', 'X-AMZ-META-BAR', 'Content-Type', 'Range', 'My-Header',
                'x-custom', 'a', 'z', 'X-a-b', 'x_a', 'x-a', 'X-A', 'Content-MD5', 'x-amz-acl', 'If-Match',
                'User-Agent', 'Expect', 'X-Amzn-Trace-Id', 'Transfer-Encoding', 'Connection', 'TE',
                'Upgrade', 'Keep-Alive', 'Trailer', 'Proxy-Authorization', 'Content-Length']
SERVICES = ['ssm', 'secretsmanager', 'lambda', 'sqs', 'sts', 'rds-db', 'execute-api']
REGIONS = ['us-east-1', 'eu-west-2', 'cn-north-1', 'us-gov-west-1', 'ap-southeast-2']
EMPTY_SHA = hashlib.sha256(b'').hexdigest()


def hx(s):
    return (s.encode('utf-8') if isinstance(s, str) else s).hex()


class Capture:
    """Mixin: remembers the canonical request and string to sign botocore computed."""

    def canonical_request(self, request):
        self.creq = super().canonical_request(request)
        return self.creq

    def string_to_sign(self, request, canonical_request):
        self.sts = super().string_to_sign(request, canonical_request)
        return self.sts


SIGNERS = {name: type('Cap' + name, (Capture, getattr(botocore.auth, name)), {})
           for name in ('SigV4Auth', 'S3SigV4Auth', 'SigV4QueryAuth', 'S3SigV4QueryAuth')}


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def text(self, alphabet, lo, hi):
        return ''.join(self.r.choice(alphabet) for _ in range(self.r.randint(lo, hi)))

    def path(self):
        r = self.r
        segs = [r.choice(PATH_SEGS) if r.random() < 0.7 else self.text('abcXYZ09-_.~ %+é', 1, 6)
                for _ in range(r.randint(0, 6))]
        raw = '/' + '/'.join(segs) + ('/' if r.random() < 0.2 else '')
        # The path as sent: fully encoded mostly; sometimes with sub-delims (or even '%') left raw.
        safe = r.choice(['/~', '/~', "/~!$&'()*+,;=:@", "/~%!$'()*+,;=:@"])
        return quote(raw, safe=safe)

    def header_value(self):
        r = self.r
        # Runs of spaces and tabs, sometimes other characters Python's str.split() calls space.
        ws = lambda: r.choice([' ', '  ', '\t', ' \t ', '   \t\t', ' \x0b', '\x0c', '\x1c', ' \x1f '])
        words = [self.text('abcXYZ019"=;,/:.-_()', 0, 6) for _ in range(r.randint(0, 4))]
        v = ''.join(w + (ws() if r.random() < 0.6 else ' ') for w in words)
        return (ws() if r.random() < 0.4 else '') + v + (ws() if r.random() < 0.4 else '')

    def creds(self):
        r = self.r
        akid = 'AKIA' + self.text('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16, 16)
        secret = self.text('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+', 40, 40)
        token = self.text('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+=', 20, 300) \
            if r.random() < 0.5 else None
        return akid, secret, token

    def when(self):
        return datetime.datetime(2015, 8, 30, 12, 36) + datetime.timedelta(seconds=self.r.randint(0, 10 ** 9))

    def case(self, presign):
        r = self.r
        s3 = r.random() < 0.4
        c = {'presign': presign, 's3': s3, 'method': r.choice(['GET', 'PUT', 'POST', 'DELETE', 'HEAD', 'PATCH']),
             'path': self.path(), 'service': 's3' if s3 else r.choice(SERVICES), 'region': r.choice(REGIONS),
             'when': self.when(), 'creds': self.creds()}
        keys = []
        c['query'] = []
        for _ in range(r.randint(0, 6)):
            k = r.choice(keys) if keys and r.random() < 0.3 else (
                r.choice(QUERY_KEYS) if r.random() < 0.7 else self.text('aZ9 -_.~%&=+ü', 1, 5))
            v = None if r.random() < 0.1 else (r.choice(QUERY_VALS) if r.random() < 0.6 else
                                                self.text('aZ9 -_.~%&=+/ü', 0, 8))
            keys.append(k)
            c['query'].append((k, v))
        host = r.choice(['example.amazonaws.com', 'bucket.s3.us-east-1.amazonaws.com', 'localhost:9000',
                         '127.0.0.1:4566'])
        hdrs = [(r.choice(['Host', 'host', 'HOST']), host)]
        for _ in range(r.randint(0, 7)):
            hdrs.insert(r.randint(0, len(hdrs)), (r.choice(HEADER_NAMES), self.header_value()))
        c['host'] = host
        when = c['when'].strftime('%Y%m%dT%H%M%SZ')
        if presign:
            c['body'] = b''
            c['payload'] = 'UNSIGNED-PAYLOAD' if s3 else 'body'
            c['expires'] = r.choice([1, 60, 900, 3600, 604800])
        else:
            c['body'] = r.choice([b'', b'', 'Action=Send&x=1'.encode(), self.text('ab \n{}":ü', 1, 200).encode(),
                                  bytes(r.getrandbits(8) for _ in range(r.randint(1, 300)))])
            c['payload'] = r.choice(['body', 'body', 'UNSIGNED-PAYLOAD'] +
                                    (['STREAMING-UNSIGNED-PAYLOAD-TRAILER'] if s3 else []))
            # What botocore's signers put on the request before signing (our caller's job).
            hdrs.append(('X-Amz-Date', when))
            if c['creds'][2]:
                hdrs.append(('X-Amz-Security-Token', c['creds'][2]))
            sha = hashlib.sha256(c['body']).hexdigest() if c['payload'] == 'body' else c['payload']
            if s3 or c['payload'] == 'UNSIGNED-PAYLOAD':
                hdrs.append(('X-Amz-Content-SHA256', sha))
        c['headers'] = hdrs
        return c


def tool_record(c):
    akid, secret, token = c['creds']
    lines = ['method ' + c['method'], 'path ' + hx(c['path']), 's3 %d' % c['s3']]
    lines += ['q %s' % hx(k) if v is None else 'q %s %s' % (hx(k), hx(v)) for k, v in c['query']]
    lines += ['h %s %s' % (hx(n), hx(v)) for n, v in c['headers']]
    lines += ['body ' + c['body'].hex(), 'payload ' + c['payload'],
              'creds %s %s' % (akid, hx(secret)) + (' ' + hx(token) if token else ''),
              'at %s %s %s' % (c['when'].strftime('%Y%m%dT%H%M%SZ'), c['region'], c['service'])]
    if c['presign']:
        lines.append('presign %d' % c['expires'])
    return '\n'.join(lines + ['sign', ''])


def botocore_sign(c):
    """(creq, sts, auth) from botocore for case c; auth is the presigned query for presigns."""
    akid, secret, token = c['creds']
    creds = Credentials(akid, secret, token)
    url = 'https://' + c['host'] + c['path']
    query = [(k, v or '') for k, v in c['query']]
    if c['presign']:
        name = 'S3SigV4QueryAuth' if c['s3'] else 'SigV4QueryAuth'
        signer = SIGNERS[name](creds, c['service'], c['region'], expires=c['expires'])
        params = {}
        for k, v in query:  # lists keep repeated keys through SigV4QueryAuth's dict
            params.setdefault(k, []).append(v)
        req = AWSRequest(method=c['method'], url=url, params=params)
    else:
        signer = SIGNERS['S3SigV4Auth' if c['s3'] else 'SigV4Auth'](creds, c['service'], c['region'])
        req = AWSRequest(method=c['method'], url=url, data=c['body'], params=query)
        if c['payload'] == 'UNSIGNED-PAYLOAD':
            req.context['payload_signing_enabled'] = False
            req.context['client_config'] = botocore.config.Config(s3={'payload_signing_enabled': False})
        elif c['payload'] == 'STREAMING-UNSIGNED-PAYLOAD-TRAILER':
            req.context['checksum'] = {'request_algorithm': {'in': 'trailer', 'algorithm': 'crc32',
                                                             'name': 'x-amz-checksum-crc32'}}
    for n, v in c['headers']:
        req.headers[n] = v  # appends: repeated names stay, in order
    with mock.patch.object(botocore.auth, 'get_current_datetime', lambda *a, **k: c['when']):
        signer.add_auth(req)
    if c['presign']:
        return signer.creq, signer.sts, req.url.split('?', 1)[1]
    return signer.creq, signer.sts, req.headers['Authorization']


def describe(c):
    shown = dict(c, creds=(c['creds'][0], '<secret>', c['creds'][2] and '<token>'), when=str(c['when']))
    return '\n'.join('  %s: %r' % kv for kv in shown.items())


class TestSigV4Botocore(unittest.TestCase):
    def setUp(self):
        if not os.access(TOOL, os.X_OK):
            self.fail('%s not built (make build/tools/sigv4-sign)' % TOOL)

    def run_tool(self, text):
        p = subprocess.run([TOOL], input=text.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors='replace'))
        return p.stdout.decode()

    def test_random_requests(self):
        g = Gen(SEED)
        cases = [g.case(False) for _ in range(N_HEADER)] + [g.case(True) for _ in range(N_PRESIGN)]
        out = self.run_tool(''.join(tool_record(c) for c in cases)).splitlines()
        self.assertEqual(len(out), 3 * len(cases), 'tool printed %d lines for %d cases' % (len(out), len(cases)))
        bad = []
        for i, c in enumerate(cases):
            got = [bytes.fromhex(line.split(' ', 1)[1]).decode() for line in out[3 * i:3 * i + 3]]
            want = botocore_sign(c)
            for part, w, g_ in zip(('canonical request', 'string to sign', 'authorization'), want, got):
                if c['presign'] and part == 'authorization':
                    # Ours is canonical (sorted), botocore's is in insertion order: compare our
                    # query with botocore's canonical query plus its signature, and as pair sets.
                    sig = dict(parse_qsl(w))['X-Amz-Signature']
                    canon = want[0].split('\n')[2] + '&X-Amz-Signature=' + sig
                    same = g_ == canon and sorted(g_.split('&')) == sorted(w.split('&'))
                else:
                    same = g_ == w
                if not same:
                    bad.append('case %d (%s):\n%s\n--- botocore %s\n%s\n--- ours\n%s' % (
                        i, 'presign' if c['presign'] else 'header', describe(c), part, w, g_))
                    break
            self.assertNotIn(c['creds'][1], '\n'.join(got), 'secret key in the output')
        if bad:
            self.fail('%d of %d cases differ from botocore; first ones:\n\n%s' % (
                len(bad), len(cases), '\n\n'.join(bad[:3])))
        kinds = {(c['presign'], c['s3'], c['payload'], bool(c['creds'][2])) for c in cases}
        self.assertGreaterEqual(len(kinds), 12, 'generator lost variety: %r' % kinds)

    def test_awschunked_length(self):
        cls = [(botocore.httpchecksum.Crc32Checksum, 'x-amz-checksum-crc32'),
               (botocore.httpchecksum.Sha256Checksum, 'x-amz-checksum-sha256')]
        sizes = [(n, chunk) for chunk in (1, 2, 16, 1000, 8192, 65536)
                 for n in sorted({0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk, 3 * chunk + 7, 17 * chunk + 5})]
        cases, text = [], ''
        for n, chunk in sizes:
            for checksum_cls, name in cls:
                w = botocore.httpchecksum.AwsChunkedWrapper(io.BytesIO(b'\xab' * n), checksum_cls=checksum_cls,
                                                            checksum_name=name, chunk_size=chunk)
                cases.append((n, chunk, name, len(w.read())))
                text += 'chunked %d %d %s %d\n' % (n, chunk, name, len(checksum_cls().b64digest()))
        out = self.run_tool(text).splitlines()
        got = [int(line.split()[1]) for line in out]
        want = [c[3] for c in cases]
        diff = [(c, g_) for c, g_ in zip(cases, got) if c[3] != g_]
        self.assertEqual(len(got), len(want))
        if diff:
            self.fail('%d of %d lengths differ from AwsChunkedWrapper; first ones as ((decoded, chunk, '
                      'trailer, botocore length), ours): %r' % (len(diff), len(cases), diff[:5]))


if __name__ == '__main__':
    unittest.main(argv=[sys.argv[0]] + sys.argv[1:])
