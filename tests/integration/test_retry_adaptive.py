"""test_retry_adaptive.py — adaptive retry mode's client-side rate limiter (core/req/retry.c) against
botocore's own (botocore.retries.adaptive.ClientRateLimiter with its CUBIC calculator, token bucket
and rate clocker) on the same scripted clock and answers: after every answer the send rate, whether
limiting is on, the measured rate and the bucket's tokens must match, and before every send the
wait. build/tools/ratelimit runs awsbox's side. A last test sees the limiter hold back real calls
to a stand-in that throttles."""
import os
import random
import subprocess
import time
import unittest
from pathlib import Path

from botocore.retries import adaptive, bucket, throttling
from botocore.retries.bucket import CapacityNotAvailableError

import harness
import standins

ROOT = Path(__file__).resolve().parents[2]
TOOL = Path(os.environ.get("AWSBOX_TOOLS", ROOT / "build" / "tools")) / "ratelimit"


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def current_time(self):
        return self.t


class Detector:
    def __init__(self):
        self.throttled = False

    def is_throttling_error(self, **kw):
        return self.throttled


def botocore_run(script):
    """The same script through botocore's limiter; the lines ratelimit.c prints."""
    clock, det = FakeClock(), Detector()
    clock.t = script[0][0]
    lim = adaptive.ClientRateLimiter(
        rate_adjustor=throttling.CubicCalculator(starting_max_rate=0, start_time=clock.t),
        rate_clocker=adaptive.RateClocker(clock), token_bucket=bucket.TokenBucket(max_rate=1, clock=clock),
        throttling_detector=det, clock=clock)
    out = []
    for t, ev in script:
        clock.t = t
        tb = lim._token_bucket
        if ev == "send":
            if not lim._enabled:
                out.append(0.0)
                continue
            try:
                tb.acquire(block=False)
                out.append(0.0)
            except CapacityNotAvailableError:
                out.append((1 - tb.available_capacity) / tb.max_rate)
        elif ev != "init":
            det.throttled = ev == "throttle"
            lim.on_receiving_response()
            out.append((tb.max_rate, int(lim._enabled), lim._rate_clocker.measured_rate, tb.available_capacity))
    return out


def awsbox_run(script):
    text = "".join(f"{t!r} {ev}\n" for t, ev in script)
    p = subprocess.run([str(TOOL)], input=text, capture_output=True, text=True, timeout=30, check=True)
    out = []
    for line in p.stdout.splitlines():
        f = line.split()
        if f[0] == "wait":
            out.append(float(f[1]))
        else:
            out.append((float(f[1]), int(f[3]), float(f[5]), float(f[7])))
    return out


class Adaptive(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not TOOL.exists():
            raise unittest.SkipTest(f"{TOOL} not built (make build/tools/ratelimit)")

    def compare(self, script):
        want, got = botocore_run(script), awsbox_run(script)
        self.assertEqual(len(want), len(got))
        for i, (w, g) in enumerate(zip(want, got)):
            w, g = (w,) if isinstance(w, float) else w, (g,) if isinstance(g, float) else g
            for a, b in zip(w, g):
                self.assertAlmostEqual(a, b, places=6, msg=f"event {i} {script[i]}: botocore {w}, awsbox {g}")

    def test_scripts_match_botocore(self):
        rng = random.Random(15)
        for n in range(40):
            t = 1000.0 + rng.random()
            script = [(t, "init")]
            for _ in range(rng.randint(20, 200)):
                t += rng.choice([0.001, 0.01, 0.05, 0.2, 0.6, 1.5, 4.0]) * rng.random()
                script.append((t, rng.choice(["send", "send", "ok", "ok", "throttle"] if n % 2 else
                                             ["send", "ok", "ok", "ok", "ok", "throttle"])))
            with self.subTest(script=n):
                self.compare(script)

    def test_throttling_burst_then_recovery(self):
        script, t = [(50.0, "init")], 50.0
        for i in range(30):  # a burst of throttling at 20 calls a second
            t += 0.05
            script += [(t, "send"), (t + 0.01, "throttle")]
        for i in range(60):  # then a minute of successes
            t += 1.0
            script += [(t, "send"), (t + 0.02, "ok")]
        self.compare(script)


class Throttler(standins._Standin):
    """STS that answers Throttling (400) to the first `bad` requests, then GetCallerIdentity."""
    server_name = "sts"

    def __init__(self, bad):
        self.bad = bad

    def answer(self, h):
        xml = [("Content-Type", "text/xml")]
        if len(self.requests) <= self.bad:
            return 400, xml, (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                              b"<Message>Rate exceeded</Message></Error><RequestId>1</RequestId></ErrorResponse>")
        return 200, xml, (b"<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/u"
                          b"</Arn><UserId>AIDA</UserId><Account>123456789012</Account></GetCallerIdentityResult>"
                          b"</GetCallerIdentityResponse>")


class AdaptiveCalls(harness.AwsboxTestCase):
    servers = False

    def test_throttled_calls_are_held_back(self):
        """In adaptive mode a throttling answer turns the limiter on: the retry waits for a token as
        well as its backoff (--debug says so); standard mode does not wait for one."""
        for mode, limited in (("adaptive", True), ("standard", False)):
            with self.subTest(mode=mode):
                s = Throttler(bad=2).start()
                self.addCleanup(s.stop)
                env = dict(harness.base_env(), AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
                           AWS_REGION="us-east-1", AWS_ENDPOINT_URL_STS=s.url, AWS_RETRY_MODE=mode,
                           AWS_MAX_ATTEMPTS="3")
                r = self.run("awsid", "--debug", env=env)
                self.assertExit(r, 0)
                self.assertEqual(len(s.requests), 3)
                self.assertEqual("waiting" in r.err and "for the send rate" in r.err, limited, r.err[-2000:])
