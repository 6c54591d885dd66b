"""test_setup.py — set-up that does not surprise: make never edits /etc/apt (only `scripts/deps
deb-src`, and `all`, which CI runs, do, saying so first); `make demo` installs only what the demo
needs; man pages and bash completion are generated from the binary's own help, exit-status and
option tables. scripts/deps runs against stubs of dpkg-query, apt-get, apt-cache and tee that
record what would have been done."""
import os
import re
import subprocess

import harness
from harness import ROOT, AwsboxTestCase

STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "$LOG"
case "$(basename "$0")" in dpkg-query|apt-cache) exit 1 ;; tee) cat > /dev/null ;; esac
exit 0
"""


class Setup(AwsboxTestCase):
    servers = False

    def deps(self, what):
        d = self.tmpdir()
        log = os.path.join(d, "log")
        for name in ("dpkg-query", "apt-get", "apt-cache", "tee", "python3", "npm"):
            with open(os.path.join(d, name), "w") as f:
                f.write(STUB)
            os.chmod(os.path.join(d, name), 0o755)
        env = self.env(PATH=f"{d}:/usr/bin:/bin", LOG=log, PYTHON=os.path.join(d, "python3"))
        r = self.run("sh", str(ROOT / "scripts" / "deps"), what, env=env)
        self.assertExit(r, 0)
        calls = open(log).read() if os.path.exists(log) else ""
        installed = set()
        for m in re.finditer(r"^apt-get .*install -y -qq --no-install-recommends (.*)$", calls, re.M):
            installed |= set(m.group(1).split())
        return r, calls, installed

    def test_make_never_runs_the_apt_sources_step(self):
        mk = (ROOT / "Makefile").read_text()
        steps = set(re.findall(r"^\t.*scripts/deps (\S+)", mk, re.M))  # the recipes
        self.assertTrue(steps)
        self.assertEqual(steps & {"all", "deb-src"}, set(), "a make target edits /etc/apt")
        self.assertNotRegex((ROOT / "scripts" / "bearssl").read_text(), r"(tee|>)[^\n]*/etc/apt")
        for what in sorted(steps):
            with self.subTest(step=what):
                _, calls, _ = self.deps(what)
                self.assertNotIn("/etc/apt", calls)

    def test_deb_src_is_a_printed_step(self):
        r, calls, _ = self.deps("deb-src")
        self.assertIn("tee /etc/apt/sources.list.d/awsbox-deb-src.sources", calls)
        self.assertIn("deps: enabling deb-src", r.err)
        self.assertIn("/etc/apt/sources.list.d/awsbox-deb-src.sources", r.err)

    def test_demo_installs_only_what_it_needs(self):
        _, _, demo = self.deps("demo")
        _, _, check = self.deps("check")
        self.assertIn("gcc", demo)
        self.assertEqual(demo & {"clang", "llvm", "valgrind", "libclang-rt-14-dev", "libssl-dev"}, set())
        self.assertLessEqual(demo, check)
        self.assertIn("busybox-static", check)
        self.assertNotIn("valgrind", check)

    def test_dockerignore(self):
        lines = {l.strip().rstrip("/") for l in (ROOT / ".dockerignore").read_text().splitlines()
                 if l.strip() and not l.startswith("#")}
        self.assertLessEqual({"build", "awsbox", ".git"}, lines)

    def test_install_docs_only_when_asked(self):
        """make install-docs puts the pages and completions under DESTDIR/PREFIX; awsbox itself is
        taken as built (-o), so the test never rebuilds it."""
        dest = self.tmpdir()
        r = self.run("make", "-s", "-C", str(ROOT), "-o", "awsbox", "install-docs", f"DESTDIR={dest}", "PREFIX=/usr")
        self.ok(r)
        share = os.path.join(dest, "usr", "share")
        for name in harness.applets() + ["awsbox"]:
            self.assertTrue(os.path.isfile(os.path.join(share, "man", "man1", f"{name}.1")), name)
        bash = open(os.path.join(share, "bash-completion", "completions", "awsbox")).read()
        self.assertIn("_awsbox", bash)
        zsh = open(os.path.join(share, "zsh", "site-functions", "_awsbox")).read()
        self.assertTrue(zsh.startswith("#compdef awsbox"))

    def test_man_and_completion_from_the_binary(self):
        out = self.tmpdir()
        self.ok(self.run("python3", str(ROOT / "scripts" / "gen-docs"), str(harness.AWSBOX), out))
        names = harness.applets()
        for name in names:
            with self.subTest(applet=name):
                page = open(os.path.join(out, "man", "man1", f"{name}.1")).read()
                self.assertTrue(page.startswith(f".TH {name.upper()} 1 "))
                self.assertIn(".SH SYNOPSIS", page)
                exits = re.findall(r"^  (\d)  ", self.ok(self.run("awsbox", name, "--help")), re.M)
                self.assertIn(".SH EXIT STATUS", page)
                sec = page.split(".SH EXIT STATUS", 1)[1]
                self.assertEqual(re.findall(r"^  (\d)  ", sec, re.M), exits)
                opts = [l.split()[0] for l in self.ok(self.run("awsbox", name, "--list-options")).splitlines()]
                self.assertIn("--region", opts)
                # bash: what completing "--" offers is the option table
                script = (f"source {out}/completion/awsbox.bash; COMP_WORDS=({name} --); COMP_CWORD=1; _awsbox; "
                          'printf "%s\\n" "${COMPREPLY[@]}"')
                got = self.ok(self.run("bash", "-c", script)).split()
                self.assertEqual(sorted(got), sorted(opts))
                script = (f"source {out}/completion/awsbox.bash; COMP_WORDS=(awsbox {name} --regi); COMP_CWORD=2; "
                          '_awsbox; printf "%s\\n" "${COMPREPLY[@]}"')
                self.assertEqual(self.ok(self.run("bash", "-c", script)).split(), ["--region"])
        self.assertTrue(os.path.exists(os.path.join(out, "man", "man1", "awsbox.1")))
        zsh = open(os.path.join(out, "completion", "_awsbox")).read()
        self.assertTrue(zsh.startswith("#compdef awsbox " + " ".join(names)))
