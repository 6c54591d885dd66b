"""test_hostile.py — awsbox against hostile servers and odd process states (issue 13): servers of
our own on 127.0.0.1 (hostile.py, one process each, started and stopped by PID here) that flood
1xx answers, trickle bodies, declare absurd lengths, send endless Lambda responses, put terminal
escapes in error messages, redirect, or serve malformed credentials; descriptors 0-2 closed
(`2>&-`, `>&-`, `<&-`), a root with no /dev/null, core dumps, and secret output files that
another user owns or has planted a symlink at (as root, which these tests run as here; they skip
otherwise). Secrets come from moto (a); the rest needs no AWS emulator.

Oracles: the bytes each server received (its log), the files on disk (os.stat), /proc/PID (owner
and limits of a non-dumpable process: proc(5)), the limits AWS documents (Lambda's 6 MB synchronous
response, Lambda's own error naming 6291556 bytes), and the time each call took."""
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import unittest
import uuid
from pathlib import Path

import harness
from harness import AwsboxTestCase

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import hostile  # noqa: E402

ROOT = os.geteuid() == 0
LAMBDA_RESPONSE_MAX = 6291556


class Server:
    """One hostile.py process on a free port; every byte it received is in .log."""

    def __init__(self, test, mode):
        self.port = harness.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(test.tmpdir()) / f"{mode}.log"
        self.log_path.write_bytes(b"")
        self.proc = subprocess.Popen([sys.executable, str(HERE / "hostile.py"), str(self.port), mode,
                                      str(self.log_path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        test.addCleanup(self.stop)
        harness.wait_port(self.port, 10, self.proc)

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        self.proc.wait(5)

    def log(self):
        return self.log_path.read_bytes()


class HostileCase(AwsboxTestCase):
    servers = False  # no moto: each test starts the server it needs

    def server(self, mode):
        return Server(self, mode)

    def fake_env(self, **kw):
        """Keys that nothing checks, a region; instance metadata stays off unless kw turns it on."""
        e = dict(harness.base_env(), AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
                 AWS_REGION="us-east-1")
        for k, v in kw.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = str(v)
        return e

    def timed(self, *args, **kw):
        t0 = time.monotonic()
        r = self.run(*args, **kw)
        return r, time.monotonic() - t0

    def shell(self, redir, argv, env, input=None, timeout=30):
        """Runs argv (BIN/applet ...) with a shell's redirection applied to it, e.g. "2>&-"."""
        argv = [str(a) for a in argv]
        argv[0] = str(harness.S.bin / argv[0])
        return self.run("sh", "-c", f'exec "$@" {redir}', "sh", *argv, env=env, input=input, timeout=timeout)


class Descriptors(HostileCase):
    """Item 1: with 0, 1 or 2 closed, files and sockets must not take their numbers."""

    def download(self, redir, *extra, dst=None):
        s = self.server("s3object")
        dst = dst or os.path.join(self.tmpdir(), "obj")
        r = self.shell(redir, ["s3cp", "--endpoint-url", s.url, *extra, "s3://b/k", dst], self.fake_env())
        return s, r, dst

    def test_closed_stderr_warning_stays_out_of_the_file_and_the_socket(self):
        # The object's multipart ETag cannot be checked: s3cp warns, with nowhere to warn to.
        s, r, dst = self.download("2>&-")
        self.assertExit(r, 0)
        self.assertEqual(Path(dst).read_bytes(), hostile.OBJECT)
        self.assertNotIn(b"not verified", s.log())

    def test_closed_stderr_debug_lines_do_not_reach_the_server(self):
        s, r, dst = self.download("2>&-", "--debug")
        self.assertExit(r, 0)
        self.assertEqual(Path(dst).read_bytes(), hostile.OBJECT)
        self.assertNotIn(b"* ", s.log())
        self.assertNotIn(b"not verified", s.log())

    def test_closed_stdout_object_data_does_not_go_down_the_socket(self):
        s, r, _ = self.download(">&-", dst="-")
        self.assertExit(r, 1)
        self.assertIn("Bad file descriptor", r.err)
        self.assertNotIn(hostile.OBJECT[:64], s.log())

    def test_closed_stdin(self):
        s, r, dst = self.download("<&-")
        self.assertExit(r, 0)
        self.assertEqual(Path(dst).read_bytes(), hostile.OBJECT)
        # An upload from a closed stdin reads nothing from a socket or a file that took fd 0.
        r = self.shell("<&-", ["s3cp", "--endpoint-url", s.url, "-", "s3://b/up"], self.fake_env())
        self.assertExit(r, 1)
        self.assertIn("Bad file descriptor", r.err)
        self.assertNotIn(b"PUT /b/up", s.log())

    @unittest.skipUnless(ROOT and shutil.which("chroot"), "needs root for chroot")
    def test_no_dev_null_refuses_to_run(self):
        # An empty root as scripts/scratch-check makes it: the binary and nothing else.
        root = self.tmpdir()
        shutil.copy(harness.AWSBOX, os.path.join(root, "awsbox"))
        chroot = shutil.which("chroot")
        cmd = lambda redir: self.run("sh", "-c", f'exec "$@" {redir}', "sh", chroot, root, "/awsbox", "--version",
                                     env={})
        r = cmd("")
        if r.rc == 127:  # make check-asan's binary is dynamically linked
            self.skipTest(f"{harness.AWSBOX} does not run in an empty root: {r.err.strip()}")
        self.assertIn("awsbox", self.ok(r))  # all open: it runs there
        r = cmd(">&-")
        self.assertExit(r, 1)
        self.assertIn("/dev/null", r.err)
        self.assertEqual(r.out, "")
        self.assertExit(cmd("2>&-"), 1)


class Deadlines(HostileCase):
    """Item 3: a call ends near its timeouts however the bytes keep coming."""

    def ssmget(self, s, **kw):
        env = self.fake_env(AWSBOX_READ_TIMEOUT=1, AWS_MAX_ATTEMPTS=1, **kw)
        return self.timed("ssmget", "--endpoint-url", s.url, "/x", env=env)

    def imds(self, s):
        # The endpoint for the call itself is the hostile server too: it never gets that far.
        env = self.fake_env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, AWS_EC2_METADATA_DISABLED=None,
                            AWS_EC2_METADATA_SERVICE_ENDPOINT=s.url)
        return self.timed("ssmget", "--endpoint-url", s.url, "/x", env=env)

    def container(self, s):
        env = self.fake_env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None,
                            AWS_CONTAINER_CREDENTIALS_FULL_URI=s.url + "/creds")
        return self.timed("ssmget", "--endpoint-url", s.url, "/x", env=env)

    def test_interim_answers_for_ever(self):
        s = self.server("continue")
        r, t = self.ssmget(s)
        self.assertExit(r, 6)
        self.assertIn("timed out", r.err)
        self.assertLess(t, 3, "a 1 s read timeout")
        r, t = self.imds(s)  # 1 s timeout, token and a v1 try
        self.assertExit(r, 4)
        self.assertLess(t, 4)
        # A proxy that answers CONNECT so (the endpoint's name is never resolved: the proxy has it)
        r, t = self.timed("ssmget", "--endpoint-url", "https://ssm.example.invalid", "/x",
                          env=self.fake_env(AWSBOX_READ_TIMEOUT=1, AWS_MAX_ATTEMPTS=1, HTTPS_PROXY=s.url))
        self.assertExit(r, 6)
        self.assertIn("timed out", r.err)
        self.assertLess(t, 3)

    def test_chunked_trickle(self):
        s = self.server("chunked-trickle")
        r, t = self.ssmget(s)
        self.assertExit(r, 6)
        self.assertIn("slower than 1024 bytes/s", r.err)
        self.assertLess(t, 4)
        r, t = self.imds(s)
        self.assertExit(r, 4)
        self.assertLess(t, 4)
        r, t = self.container(s)  # 2 s, twice
        self.assertExit(r, 4)
        self.assertIn("container credentials: timed out", r.err)
        self.assertLess(t, 7)

    def test_huge_declared_length_refused_at_once(self):
        s = self.server("huge-length")
        r, t = self.ssmget(s)
        self.assertExit(r, 1)
        self.assertIn("declares 999999999999999999 bytes", r.err)
        self.assertLess(t, 1)
        r, t = self.container(s)
        self.assertExit(r, 4)
        self.assertIn("declares 999999999999999999 bytes", r.err)
        self.assertLess(t, 1)


class LambdaCap(HostileCase):
    """Item 4: an endless Invoke response is cut off at Lambda's limit."""

    def test_endless_response(self):
        s = self.server("endless")
        argv = [str(harness.S.bin / "lambdainvoke"), "--endpoint-url", s.url, "fn"]
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             env=self.fake_env())
        total, end = 0, time.monotonic() + 20
        try:
            while time.monotonic() < end:
                chunk = p.stdout.read1(1 << 20)
                if not chunk:
                    break
                total += len(chunk)
        finally:
            if p.poll() is None:
                p.kill()
            err = p.stderr.read().decode(errors="replace")
            rc = p.wait()
        self.assertEqual(rc, 1, err)
        self.assertLessEqual(total, LAMBDA_RESPONSE_MAX)
        self.assertIn(f"over {LAMBDA_RESPONSE_MAX} bytes", err)


def assert_clean(test, err_bytes):
    """stderr is UTF-8 with no C0 control but LF, no DEL and no C1 control."""
    text = err_bytes.decode("utf-8")  # raises on bytes that are not UTF-8
    bad = [hex(ord(ch)) for ch in text if (ord(ch) < 0x20 and ch != "\n") or 0x7f <= ord(ch) <= 0x9f]
    test.assertEqual(bad, [], text)


class Escapes(HostileCase):
    """Item 5: a server's text on stderr cannot drive the terminal."""

    def test_json_error_message(self):
        s = self.server("escape")
        for extra in ([], ["--debug"]):
            with self.subTest(extra=extra):
                r = self.run("ssmget", *extra, "--endpoint-url", s.url, "/x", env=self.fake_env(AWS_MAX_ATTEMPTS=1))
                self.assertExit(r, 1)
                assert_clean(self, r.err.encode())
                self.assertIn("ValidationException: bad ?[2J?]0;owned? C1:?31m ?nel del:? tab:  end", r.err)

    def test_xml_error_raw_bytes(self):
        s = self.server("escape-xml")
        src = os.path.join(self.tmpdir(), "up")
        Path(src).write_bytes(b"data")
        p = subprocess.run([str(harness.S.bin / "s3cp"), "--endpoint-url", s.url, src, "s3://b/k"],
                           capture_output=True, env=self.fake_env(), stdin=subprocess.DEVNULL, timeout=30)
        self.assertEqual(p.returncode, 4, p.stderr)
        assert_clean(self, p.stderr)
        self.assertIn(b"AccessDenied: bad ?[2J?]0;owned? C1:?31m raw:?? del:? end", p.stderr)


@unittest.skipUnless(ROOT, "needs root to run awsbox as another user")
class Dumps(HostileCase):
    """Item 6: not dumpable (no core file, no ptrace by the same user) unless --debug."""

    def probe(self, *extra):
        s = self.server("chunked-trickle")  # keeps the call alive for its 3 s read timeout
        argv = [str(harness.AWSBOX), "ssmget", *extra, "--endpoint-url", s.url, "/x"]
        env = self.fake_env(AWSBOX_READ_TIMEOUT=3, AWS_MAX_ATTEMPTS=1, HOME="/", AWS_CONFIG_FILE="/dev/null",
                            AWS_SHARED_CREDENTIALS_FILE="/dev/null")  # the session's files are root's
        p = subprocess.Popen(argv, env=env, user="nobody", group="nogroup", extra_groups=[],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            end = time.monotonic() + 5
            while b"GET" not in s.log() and b"POST" not in s.log() and time.monotonic() < end:
                time.sleep(0.05)
            owner = os.stat(f"/proc/{p.pid}/status").st_uid
            limits = Path(f"/proc/{p.pid}/limits").read_text()
        finally:
            p.kill()
            p.wait()
        core = [line for line in limits.splitlines() if line.startswith("Max core file size")][0]
        return owner, core.split()[4]

    def test_not_dumpable(self):
        # proc(5): the files of a process that is not dumpable belong to root.
        owner, core_soft = self.probe()
        self.assertEqual(owner, 0)
        self.assertEqual(core_soft, "0")

    def test_debug_leaves_dumps_on(self):
        owner, _ = self.probe("--debug")
        self.assertNotEqual(owner, 0)


@unittest.skipUnless(ROOT and shutil.which("prlimit"), "needs root and prlimit (util-linux)")
class ExecKeepsCoreLimit(AwsboxTestCase):
    """Item 6, the other side: ssmget --exec hands its program the core limit it was given."""

    def test_exec_child(self):
        name = f"/itest/hostile-{uuid.uuid4().hex[:8]}"
        harness.client("ssm").put_parameter(Name=name, Value="v", Type="String")
        # (AddressSanitizer turns core files off itself unless told not to: make check-asan)
        asan = os.environ.get("ASAN_OPTIONS")
        env = self.env(**({"ASAN_OPTIONS": asan + ":disable_coredump=0"} if asan else {}))
        r = self.run("prlimit", "--core=unlimited:unlimited", str(harness.S.bin / "ssmget"), f"V={name}", "--exec",
                     "--", "sh", "-c", 'echo "$V $(ulimit -c)"', env=env)
        self.assertEqual(self.ok(r), "v unlimited\n")


class Credentials(HostileCase):
    """Item 7a: malformed credentials from instance metadata or a container endpoint: exit 4."""

    def test_malformed(self):
        for kind in ("imds", "container"):
            for bad in ("crlf", "garbage", "empty"):
                with self.subTest(kind=kind, bad=bad):
                    s = self.server(f"{kind}-{bad}")
                    env = self.fake_env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None)
                    if kind == "imds":
                        env.update(AWS_EC2_METADATA_SERVICE_ENDPOINT=s.url)
                        env.pop("AWS_EC2_METADATA_DISABLED")
                    else:
                        env.update(AWS_CONTAINER_CREDENTIALS_FULL_URI=s.url + "/creds")
                    r = self.run("ssmget", "--endpoint-url", s.url, "/x", env=env)
                    self.assertExit(r, 4)
                    self.assertNotIn(b"X-Injected", s.log())


class Redirects(HostileCase):
    """Item 7b: a redirect says where it pointed and why it is not followed."""

    def test_s3_permanent_redirect_names_the_region(self):
        s = self.server("redirect301")
        r = self.run("s3cp", "--endpoint-url", s.url, "s3://b/k", os.path.join(self.tmpdir(), "o"),
                     env=self.fake_env())
        self.assertExit(r, 1)
        self.assertIn("the bucket is in eu-west-1", r.err)
        self.assertIn("--region eu-west-1", r.err)
        self.assertIn("does not follow redirects", r.err)

    def test_s3_temporary_redirect_names_the_location(self):
        s = self.server("redirect307")
        r = self.run("s3cp", "--endpoint-url", s.url, "s3://b/k", os.path.join(self.tmpdir(), "o"),
                     env=self.fake_env())
        self.assertExit(r, 1)
        self.assertIn("https://b.s3-eu-west-1.amazonaws.com/k", r.err)
        self.assertIn("does not follow redirects", r.err)

    def test_other_service_redirect(self):
        s = self.server("redirect307")
        r = self.run("ssmget", "--endpoint-url", s.url, "/x", env=self.fake_env())
        self.assertExit(r, 1)
        self.assertIn("redirected to https://b.s3-eu-west-1.amazonaws.com/k", r.err)
        self.assertIn("does not follow redirects", r.err)


@unittest.skipUnless(ROOT, "needs root to give files to another user")
class SecretFiles(AwsboxTestCase):
    """Item 2: root writing a secret where another user has a file or has planted a symlink."""

    VALUE = "s3cr3t-" + uuid.uuid4().hex

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        name = f"itest/hostile-{uuid.uuid4().hex[:8]}"
        harness.client("secretsmanager").create_secret(Name=name, SecretString=cls.VALUE)
        harness.client("ssm").put_parameter(Name="/" + name, Value=cls.VALUE, Type="SecureString")
        cls.secret, cls.param = name, "/" + name

    def shared_dir(self):
        d = self.tmpdir()
        os.chmod(d, 0o1777)  # like /tmp: anyone may create, only owners may remove
        return Path(d)

    def write(self, applet, out, umask="022"):
        what = self.secret if applet == "secretget" else self.param
        return self.run("sh", "-c", f'umask {umask}; exec "$@"', "sh", str(harness.S.bin / applet), "--output",
                        str(out), what)

    def test_replaces_another_users_file(self):
        nobody = 65534
        for applet in ("secretget", "ssmget"):
            with self.subTest(applet=applet):
                out = self.shared_dir() / "out"
                out.write_text("theirs")
                os.chown(out, nobody, nobody)
                os.chmod(out, 0o644)
                self.ok(self.write(applet, out))
                st = os.stat(out)
                self.assertEqual((st.st_uid, st.st_gid), (os.getuid(), os.getgid()))
                self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
                self.assertEqual(out.read_text().strip(), self.VALUE)

    def test_mode_is_0600_whatever_the_umask(self):
        for applet in ("secretget", "ssmget"):
            with self.subTest(applet=applet):
                out = self.shared_dir() / "new"
                self.ok(self.write(applet, out, umask="0377"))
                self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)

    def test_planted_symlink_refused(self):
        for applet in ("secretget", "ssmget"):
            with self.subTest(applet=applet):
                d = self.shared_dir()
                target = d / "theirs"
                target.write_text("theirs")
                os.chown(target, 65534, 65534)
                (d / "out").symlink_to(target)
                os.lchown(d / "out", 65534, 65534)
                r = self.write(applet, d / "out")
                self.assertExit(r, 1)
                self.assertIn("symbolic link", r.err)
                self.assertEqual(target.read_text(), "theirs")
                self.assertTrue((d / "out").is_symlink())
                self.assertEqual(sorted(p.name for p in d.iterdir()), ["out", "theirs"])  # no temp file left
