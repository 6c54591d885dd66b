"""test_dispatch.py — the multi-call front (core/main.c, core/opt.c): --list, --version, --help,
dispatch on argv[0], --install, and for every applet `awsbox --list` prints: --help through the
symlink and through `awsbox APPLET`, and an unknown option. Generic over the applet list."""
import os
import re
import shutil
import subprocess

import harness
from harness import AWSBOX, ROOT, AwsboxTestCase


def applets_def():
    text = (ROOT / "applets" / "applets.def").read_text()
    return re.findall(r"^\s*APPLET\(\s*(\w+)\s*\)", text, re.M)


class Dispatch(AwsboxTestCase):
    servers = False

    def setUp(self):
        super().setUp()
        self.names = harness.applets()
        self.assertTrue(self.names, "awsbox --list printed no applet")

    def test_list_is_applets_def(self):
        r = self.run("awsbox", "--list")
        self.assertExit(r, 0)
        self.assertEqual(r.err, "")
        self.assertEqual(r.out.splitlines(), applets_def())
        self.assertEqual(len(set(self.names)), len(self.names), "an applet is listed twice")
        for name in self.names:  # ARCHITECTURE.md: one file per applet
            self.assertTrue((ROOT / "applets" / f"{name}.c").exists(), f"applets/{name}.c")

    def test_version(self):
        r = self.run("awsbox", "--version")
        self.assertExit(r, 0)
        m = re.fullmatch(r"awsbox (\S+) \(BearSSL (\S+)\)\n", r.out)
        self.assertTrue(m, f"--version printed {r.out!r}")
        mk = re.search(r"^VERSION\s*:=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M)
        if mk:
            self.assertEqual(m.group(1), mk.group(1), "awsbox version is not the Makefile's VERSION")
        self.assertNotEqual(m.group(2), "unknown", "BearSSL version not compiled in")
        vfile = ROOT / "build" / "bearssl-musl" / "VERSION"
        if vfile.exists():
            self.assertEqual(m.group(2), vfile.read_text().strip())

    def test_help(self):
        for opt in ("--help", "-h"):
            r = self.run("awsbox", opt)
            self.assertExit(r, 0)
            self.assertEqual(r.err, "")
            self.assertIn("Usage: awsbox", r.out)
            self.assertEqual(self._listed(r.out), self.names)

    def _listed(self, text):
        """The applet names in a message, one a line (indented or not), in order."""
        return [l.strip() for l in text.splitlines() if l.strip() in self.names]

    def test_no_arguments(self):
        r = self.run("awsbox")
        self.assertExit(r, 2)
        self.assertEqual(r.out, "")
        self.assertEqual(self._listed(r.err), self.names)

    def test_unknown_applet(self):
        r = self.run("awsbox", "no-such-applet", "--help")
        self.assertExit(r, 2)
        self.assertEqual(r.out, "")
        self.assertIn("no-such-applet", r.err)
        self.assertEqual(self._listed(r.err), self.names)

    def test_unknown_name_as_argv0(self):
        d = self.tmpdir()
        os.symlink(AWSBOX.resolve(), os.path.join(d, "no-such-applet"))
        r = self.run([os.path.join(d, "no-such-applet")])
        self.assertExit(r, 2)
        self.assertEqual(self._listed(r.err), self.names)

    def test_install(self):
        d = self.tmpdir()
        target = os.path.realpath(AWSBOX)

        def links():
            return {n: os.readlink(os.path.join(d, n)) for n in os.listdir(d)
                    if os.path.islink(os.path.join(d, n))}

        self.assertExit(self.run("awsbox", "--install", d), 0)
        self.assertEqual(sorted(os.listdir(d)), sorted(self.names), "one entry per applet, nothing else")
        self.assertEqual(links(), {n: target for n in self.names})
        # Again: idempotent; and an old link pointing elsewhere is ours to replace.
        first = self.names[0]
        os.unlink(os.path.join(d, first))
        os.symlink("/nonexistent/awsbox", os.path.join(d, first))
        self.assertExit(self.run("awsbox", "--install", d), 0)
        self.assertEqual(links(), {n: target for n in self.names})
        # A regular file is someone else's: left alone, and the exit says so.
        os.unlink(os.path.join(d, first))
        with open(os.path.join(d, first), "w") as f:
            f.write("precious\n")
        r = self.run("awsbox", "--install", d)
        self.assertNotEqual(r.rc, 0, "clobbering refused, yet exit 0")
        self.assertIn(os.path.join(d, first), r.err)
        with open(os.path.join(d, first)) as f:
            self.assertEqual(f.read(), "precious\n")
        self.assertEqual(links(), {n: target for n in self.names if n != first})
        # Usage errors.
        self.assertExit(self.run("awsbox", "--install", os.path.join(d, "missing")), 2)
        self.assertExit(self.run("awsbox", "--install"), 2)

    def test_symlinks_used_by_harness(self):
        for name in self.names:
            p = harness.S.bin / name
            self.assertTrue(p.is_symlink(), p)
            self.assertEqual(os.path.realpath(p), os.path.realpath(AWSBOX))

    def test_applet_help(self):
        for name in self.names:
            with self.subTest(applet=name):
                a = self.run(name, "--help")
                b = self.run("awsbox", name, "--help")
                self.assertExit(a, 0)
                self.assertExit(b, 0)
                self.assertEqual(a.out, b.out, "help through the symlink and through awsbox differ")
                self.assertEqual((a.err, b.err), ("", ""))
                self.assertIn(name, a.out.splitlines()[0] if a.out else "", "first help line names the applet")
                self.assertIn("--region", a.out, "common options missing from --help")
                self.assertEqual(self.run(name, "-h").out, a.out)

    def test_applet_unknown_option(self):
        for name in self.names:
            with self.subTest(applet=name):
                for argv in ([name, "--bogus-option"], ["awsbox", name, "--bogus-option"]):
                    r = self.run(argv)
                    self.assertExit(r, 2)
                    self.assertEqual(r.out, "")
                    self.assertIn(f"{name}: unknown option", r.err)

    def test_static_binary(self):
        size = AWSBOX.stat().st_size
        harness.note(f"awsbox is {size:,} bytes ({size / 1024:.0f} KiB) with {len(self.names)} applet(s)")
        if not shutil.which("file"):
            self.skipTest("file(1) is not installed")
        out = subprocess.run(["file", "-L", str(AWSBOX)], capture_output=True, text=True).stdout
        self.assertIn("statically linked", out)
