"""test_dispatch.py — the multi-call front (applets/main.c, core/cli/opt.c): --list, --version, --help,
dispatch on argv[0], --install, and for every applet `awsbox --list` prints: --help through the
symlink and through `awsbox APPLET`, and an unknown option. Generic over the applet list."""
import os
import re
import shutil
import subprocess

import harness
from harness import AWSBOX, ROOT, AwsboxTestCase


# Commands of POSIX, coreutils, util-linux and busybox that an applet name must never be (the
# packages installed here are read too).
COMMON_COMMANDS = """awk basename cat chmod chown cp cut date dd df diff dirname du echo env expr false find grep
head id kill ln logger ls mkdir mktemp mv nice nohup od printf ps pwd read rm rmdir sed sh sleep sort
split stat tail tar tee test time timeout touch tr true tty uname uniq wc which who whoami xargs
mount umount lsblk blkid findmnt kill logger more script su wall hexdump flock getopt ionice
ipcs lscpu mesg nsenter renice rev setsid taskset unshare uuidgen wget nc ip ifconfig route ping
httpd ftpget ftpput tftp udhcpc vi less top free uptime watch seq base64 md5sum sha256sum""".split()


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
        self.assertEqual(r.err, "awsbox: unknown applet 'no-such-applet'; 'awsbox --list' lists the applets\n")
        # a typo: the nearest name
        for typo, near in (("s3pc", "s3cp"), ("ssmgte", "ssmget"), ("secretgte", "secretget"), ("imsd", "imds"),
                           ("lambdainvoek", "lambdainvoke")):
            r = self.run("awsbox", typo)
            self.assertExit(r, 2)
            self.assertEqual(r.err, f"awsbox: unknown applet '{typo}'; did you mean '{near}'? "
                                    "('awsbox --list' lists them)\n")

    def test_whoami_is_only_an_alias(self):
        """whoami is coreutils' and busybox's: the applet is awsid, `awsbox whoami` still runs it,
        and no applet has the name of a common system command."""
        self.assertNotIn("whoami", self.names)
        a, b = self.run("awsbox", "whoami", "--help"), self.run("awsid", "--help")
        self.assertEqual((a.rc, a.out), (0, b.out))
        # a link left by an older install says what to do instead of being awsbox's usage
        d = self.tmpdir()
        os.symlink(AWSBOX.resolve(), os.path.join(d, "whoami"))
        r = self.run([os.path.join(d, "whoami")])
        self.assertExit(r, 2)
        self.assertIn("awsid", r.err)
        self.assertIn("shadows the system's whoami", r.err)
        # commands of coreutils, util-linux, busybox and POSIX (those installed here, and a list)
        taken = set(COMMON_COMMANDS)
        for pkg in ("coreutils", "util-linux", "busybox", "busybox-static"):
            p = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True)
            taken |= {os.path.basename(f) for f in p.stdout.split() if "/bin/" in f}
        self.assertEqual(sorted(set(self.names) & taken), [])

    def test_install_no_proc(self):
        """--install in a root without /proc: the binary found from argv[0], or through PATH."""
        if os.geteuid() != 0:
            self.skipTest("needs root for chroot")
        root = self.tmpdir()
        shutil.copy2(AWSBOX, os.path.join(root, "awsbox"))
        os.mkdir(os.path.join(root, "bin"))
        chroot = shutil.which("chroot") or "/usr/sbin/chroot"
        p = subprocess.run([chroot, root, "/awsbox", "--install", "/bin"], env={}, capture_output=True, text=True)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        self.assertEqual(sorted(os.listdir(os.path.join(root, "bin"))), sorted(self.names + ["awsbox"]))
        self.assertEqual({os.readlink(os.path.join(root, "bin", n)) for n in self.names}, {"/awsbox"})
        # found through PATH (argv[0] "awsbox"), into another directory
        os.mkdir(os.path.join(root, "sbin"))
        p = subprocess.run([chroot, root, "awsbox", "--install", "/sbin"], env={"PATH": "/"}, capture_output=True,
                           text=True)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        self.assertEqual(os.readlink(os.path.join(root, "sbin", "imds")), "/awsbox")
        # SOURCE given: the links point to it
        os.mkdir(os.path.join(root, "x"))
        p = subprocess.run([chroot, root, "/bin/awsbox", "--install", "/x", "/awsbox"], env={}, capture_output=True,
                           text=True)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        self.assertEqual(os.readlink(os.path.join(root, "x", "awsbox")), "/awsbox")

    def test_unknown_name_as_argv0(self):
        d = self.tmpdir()
        os.symlink(AWSBOX.resolve(), os.path.join(d, "no-such-applet"))
        r = self.run([os.path.join(d, "no-such-applet")])
        self.assertExit(r, 2)
        self.assertEqual(self._listed(r.err), self.names)

    def test_install(self):
        d = self.tmpdir()
        target = os.path.realpath(AWSBOX)
        names = self.names + ["awsbox"]

        def links():
            return {n: os.readlink(os.path.join(d, n)) for n in os.listdir(d)
                    if os.path.islink(os.path.join(d, n))}

        self.assertExit(self.run("awsbox", "--install", d), 0)
        self.assertEqual(sorted(os.listdir(d)), sorted(names), "one entry per applet and awsbox, nothing else")
        self.assertEqual(links(), {n: target for n in names})
        # Again: idempotent; and an old link to nothing is ours to replace.
        first = self.names[0]
        os.unlink(os.path.join(d, first))
        os.symlink("/nonexistent/awsbox", os.path.join(d, first))
        self.assertExit(self.run("awsbox", "--install", d), 0)
        self.assertEqual(links(), {n: target for n in names})
        # A regular file, or a link to another program, is someone else's: left alone, said, and
        # the rest installed.
        os.unlink(os.path.join(d, first))
        with open(os.path.join(d, first), "w") as f:
            f.write("precious\n")
        second = self.names[1]
        os.unlink(os.path.join(d, second))
        os.symlink("/bin/true", os.path.join(d, second))
        r = self.run("awsbox", "--install", d)
        self.assertExit(r, 0)
        self.assertEqual(len(r.err.splitlines()), 2, r)
        self.assertIn(f"{os.path.join(d, first)} exists and is not awsbox; no link made (run it as 'awsbox {first}')",
                      r.err)
        self.assertIn(os.path.join(d, second), r.err)
        with open(os.path.join(d, first)) as f:
            self.assertEqual(f.read(), "precious\n")
        self.assertEqual(os.readlink(os.path.join(d, second)), "/bin/true")
        self.assertEqual(links(), {n: target for n in names if n != first} | {second: "/bin/true"})
        # A name that is already a command on PATH gets no link (it would shadow it or be shadowed).
        other, d2 = self.tmpdir(), self.tmpdir()
        with open(os.path.join(other, "imds"), "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(os.path.join(other, "imds"), 0o755)
        env = self.env(PATH=f"{other}:{os.environ['PATH']}")
        r = self.run("awsbox", "--install", d2, env=env)
        self.assertExit(r, 0)
        self.assertEqual(r.err, f"awsbox: --install: imds is already a command ({other}/imds); no link made "
                                "(run it as 'awsbox imds')\n")
        self.assertEqual(sorted(os.listdir(d2)), sorted(n for n in names if n != "imds"))
        # An explicit SOURCE: the links point to it as given.
        d3 = self.tmpdir()
        shutil.copy2(AWSBOX, os.path.join(d3, "awsbox"))
        self.assertExit(self.run("awsbox", "--install", d3, "awsbox"), 0)
        self.assertTrue(os.path.isfile(os.path.join(d3, "awsbox")) and not os.path.islink(os.path.join(d3, "awsbox")),
                        "the binary itself was replaced by a link")
        self.assertEqual(os.readlink(os.path.join(d3, "imds")), "awsbox")
        # Usage errors.
        self.assertExit(self.run("awsbox", "--install", os.path.join(d, "missing")), 2)
        self.assertExit(self.run("awsbox", "--install"), 2)
        self.assertExit(self.run("awsbox", "--install", d, "/nonexistent/awsbox"), 2)

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
