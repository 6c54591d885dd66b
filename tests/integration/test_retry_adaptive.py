"""test_retry_adaptive.py — adaptive retry mode's client-side rate limiter (core/req/retry.c) against
botocore's own (botocore.retries.adaptive.ClientRateLimiter with its CUBIC calculator, token bucket
and rate clocker) on the same scripted clock and answers: after every answer the send rate, whether
limiting is on, the measured rate and the bucket's tokens must match, and before every send the
wait. build/tools/ratelimit runs awsbox's side. A last test sees the limiter hold back real calls
to a stand-in that throttles."""
import json
import os
import random
import re
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
    """SSM that answers ThrottlingException (400) to the first `bad` requests, then GetParameters
    with every name asked for."""
    server_name = "Server"

    def __init__(self, bad):
        self.bad = bad

    def answer(self, h):
        js = [("Content-Type", "application/x-amz-json-1.1")]
        if len(self.requests) <= self.bad:
            return 400, js, b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
        names = json.loads(h.body)["Names"]
        params = [{"Name": n, "Type": "String", "Value": "v" + n, "Version": 1} for n in names]
        return 200, js, json.dumps({"Parameters": params, "InvalidParameters": []}).encode()


class AdaptiveCalls(harness.AwsboxTestCase):
    servers = False

    def test_throttled_calls_are_held_back(self):
        """In adaptive mode a throttling answer turns the limiter on and the calls after it wait for
        tokens (--debug says so); standard mode never waits. 50 names are 5 GetParameters calls:
        after one throttle the bucket holds at most max(rate, 1) tokens and fills at under 2 a
        second for the next second, so 5 calls in a few milliseconds must wait whatever the random
        backoff was (one call alone might find the bucket refilled by its backoff)."""
        names = [f"/p/n{i:02}" for i in range(50)]
        for mode, limited in (("adaptive", True), ("standard", False)):
            with self.subTest(mode=mode):
                s = Throttler(bad=1).start()
                self.addCleanup(s.stop)
                env = dict(harness.base_env(), AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
                           AWS_REGION="us-east-1", AWS_ENDPOINT_URL_SSM=s.url, AWS_RETRY_MODE=mode,
                           AWS_MAX_ATTEMPTS="3")
                r = self.run("ssmget", "--debug", *names, env=env)
                self.assertExit(r, 0)
                self.assertEqual(r.out.split(), ["v" + n for n in names])
                self.assertEqual(len(s.requests), 6)
                waits = re.findall(r"waiting ([0-9.]+) s for the send rate", r.err)
                self.assertEqual(bool(waits), limited, r.err[-2000:])
