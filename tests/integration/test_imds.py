"""imds: instance metadata against the strict IMDSv2 stand-in (standins.IMDS): paths as boot
scripts name them, listings, --json, exit 3 for a path that is not there, --spot, --wait for a
service that comes up late, IMDSv2 with one token a run, v1 only where the credential chain allows
it, and the chain's settings (disabled, v1 disabled)."""
import json
import subprocess
import time

import harness
from harness import AwsboxTestCase


# The role's credentials in metadata; no test here signs with them.
FAKE = {"AccessKeyId": "ASIAIMDSTEST", "SecretAccessKey": "not-used", "Token": "not-used",
        "Expiration": "2099-01-01T00:00:00Z"}


class Imds(AwsboxTestCase):
    servers = False

    def imds(self, mode="v2", **kw):
        return super().imds(mode, creds=FAKE, **kw)

    def env_for(self, imds, **kw):
        return self.env(**(imds.env() | kw))

    def test_values_and_one_token(self):
        imds = self.imds("v2-required", tags={"Name": "web-1", "Role": "web"})
        r = self.run("imds", "instance-id", "placement/region", "tags/instance/Name", env=self.env_for(imds))
        self.assertEqual(self.ok(r), "i-0123456789abcdef0\nus-east-1\nweb-1\n")
        self.assertEqual([m for m, _ in imds.paths()], ["PUT", "GET", "GET", "GET"])
        self.assertEqual(len(imds.tokens), 1)
        for q in imds.requests[1:]:
            self.assertIn(q["headers"]["x-aws-ec2-metadata-token"], imds.tokens)
        self.assertEqual(imds.requests[0]["headers"]["x-aws-ec2-metadata-token-ttl-seconds"], "21600")
        # absolute paths and the other trees
        imds.user_data = b"#!/bin/sh\necho hi\n"
        out = self.ok(self.run("imds", "/latest/meta-data/instance-type", "user-data", env=self.env_for(imds)))
        self.assertEqual(out, "t3.micro\n#!/bin/sh\necho hi\n")

    def test_listing_one_name_a_line(self):
        imds = self.imds("v2", tags={"Name": "web-1", "Role": "web"})
        out = self.ok(self.run("imds", "tags/instance/", env=self.env_for(imds)))
        self.assertEqual(out, "Name\nRole\n")
        top = self.ok(self.run("imds", env=self.env_for(imds))).splitlines()
        self.assertIn("instance-id", top)
        self.assertIn("placement/", top)
        self.assertEqual(imds.paths()[-1], ("GET", "/latest/meta-data/"))

    def test_json(self):
        imds = self.imds("v2", tags={"Name": "web \"1\""})
        r = self.run("imds", "--json", "dynamic/instance-identity/document", "tags/instance/Name",
                     "tags/instance/", env=self.env_for(imds))
        lines = self.ok(r).splitlines()
        self.assertEqual(len(lines), 3, r)
        doc = json.loads(lines[0])
        self.assertEqual((doc["instanceId"], doc["region"], doc["accountId"]),
                         ("i-0123456789abcdef0", "us-east-1", "123456789012"))
        self.assertNotIn("\n", lines[0])
        self.assertEqual(json.loads(lines[1]), 'web "1"')
        self.assertEqual(json.loads(lines[2]), ["Name"])

    def test_missing_path_is_exit_3(self):
        imds = self.imds("v2")  # tags not enabled in metadata: 404, as on a real instance
        r = self.run("imds", "tags/instance/Name", env=self.env_for(imds))
        self.assertExit(r, 3)
        self.assertEqual(r.out, "")
        self.assertEqual(r.err, "imds: tags/instance/Name: not in the instance metadata\n")

    def test_spot(self):
        imds = self.imds("v2-required")
        r = self.run("imds", "--spot", env=self.env_for(imds))
        self.assertExit(r, 3)
        self.assertEqual(r.out, "")
        imds.rebalance = {"noticeTime": "2026-12-06T08:22:00Z"}
        r = self.run("imds", "--spot", env=self.env_for(imds))
        self.assertEqual(json.loads(self.ok(r)), imds.rebalance)
        imds.spot_action = {"action": "terminate", "time": "2026-12-06T08:24:00Z"}
        r = self.run("imds", "--spot", "--json", env=self.env_for(imds))
        self.assertEqual([json.loads(x) for x in self.ok(r).splitlines()], [imds.spot_action, imds.rebalance])
        r = self.run("sh", "-c", "until imds --spot >/dev/null; do sleep 0.1; done; echo interrupted",
                     env=self.env_for(imds))
        self.assertEqual(self.ok(r), "interrupted\n")

    def test_wait_for_a_service_that_comes_up_late(self):
        port = harness.free_port()
        env = self.env(AWS_EC2_METADATA_DISABLED=None, AWS_EC2_METADATA_SERVICE_ENDPOINT=f"http://127.0.0.1:{port}")
        t0 = time.monotonic()
        p = subprocess.Popen([str(harness.S.bin / "imds"), "--wait", "20s", "instance-id"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        self.assertIsNone(p.poll(), "imds --wait gave up before the service came up")
        imds = harness.standins.IMDS(FAKE, mode="v2", port=port).start()
        self.addCleanup(imds.stop)
        out, err = p.communicate(timeout=20)
        self.assertEqual((p.returncode, out, err), (0, "i-0123456789abcdef0\n", ""))
        self.assertLess(time.monotonic() - t0, 6)

    def test_wait_runs_out(self):
        port = harness.free_port()
        env = self.env(AWS_EC2_METADATA_DISABLED=None, AWS_EC2_METADATA_SERVICE_ENDPOINT=f"http://127.0.0.1:{port}")
        t0 = time.monotonic()
        r = self.run("imds", "--wait", "1s", "instance-id", env=env)
        self.assertExit(r, 5)
        self.assertGreaterEqual(time.monotonic() - t0, 1)
        self.assertIn("--wait", r.err)
        # no --wait: no service is a network failure at once
        r = self.run("imds", "instance-id", env=env)
        self.assertExit(r, 6)
        self.assertEqual(len(r.err.splitlines()), 1, r)

    def test_v1_fallback_follows_the_chain(self):
        imds = self.imds("v1-only")
        out = self.ok(self.run("imds", "instance-id", env=self.env_for(imds)))
        self.assertEqual(out, "i-0123456789abcdef0\n")
        self.assertFalse(any("x-aws-ec2-metadata-token" in q["headers"] for q in imds.requests[1:]))
        imds.requests.clear()
        r = self.run("imds", "instance-id", env=self.env_for(imds, AWS_EC2_METADATA_V1_DISABLED="true"))
        self.assertExit(r, 4)
        self.assertIn("IMDSv1 is disabled", r.err)
        self.assertEqual([m for m, _ in imds.paths()], ["PUT"])

    def test_disabled_and_turned_off(self):
        imds = self.imds("v2")
        r = self.run("imds", "instance-id", env=self.env_for(imds, AWS_EC2_METADATA_DISABLED="true"))
        self.assertExit(r, 2)
        self.assertIn("AWS_EC2_METADATA_DISABLED", r.err)
        self.assertEqual(imds.requests, [])
        off = self.imds("off")
        r = self.run("imds", "instance-id", env=self.env_for(off))
        self.assertExit(r, 4)
        self.assertIn("turned off", r.err)

    def test_usage(self):
        r = self.run("imds", "--spot", "instance-id", env=self.env())
        self.assertExit(r, 2)
        r = self.run("imds", "--wait", "soon", env=self.env())
        self.assertExit(r, 2)


if __name__ == "__main__":
    import unittest
    unittest.main()
