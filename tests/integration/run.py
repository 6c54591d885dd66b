#!/usr/bin/env python3
"""run.py — runs the integration tests (tests/integration/test_*.py) against the built ./awsbox.

Usage: run.py [--list] [FILTER...]
  FILTER: run only the tests whose id (module.Class.test_name) contains one of these substrings.
Prints "ok   ID", "FAIL ID" (with details) or "skip ID: reason" per test, then how long the run
took, and last "N passed, N failed[, N skipped]". Exits 1 on any failure, 130 on Ctrl-C.
AWSBOX_TEST_KEEP=1 keeps the temporary directory (HOME, moto logs) for a look afterwards.
The environment the tests see is set up by harness.setup_session() (see harness.py).
"""
import importlib
import io
import signal
import sys
import time
import traceback
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import harness  # noqa: E402

OUT = sys.stdout


def say(line=""):
    OUT.write(line + "\n")
    OUT.flush()


def indent(text):
    return "".join("    " + l for l in text.rstrip("\n").splitlines(True)) + "\n"


class Result(unittest.TestResult):
    """One line per test as it ends; subtest failures count once, against their test."""

    def __init__(self):
        super().__init__()
        self.passed, self.failed, self.skipped = [], [], []
        self._state = None

    def startTest(self, test):
        super().startTest(test)
        self._state = dict(status=None, details=[], t0=time.monotonic())
        # A test's own prints show only when it fails.
        self._saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = self._captured = io.StringIO()

    def _fail(self, test, err, label=None):
        self._state["details"].append((label or test.id(), self._exc_info_to_string(err, test)))
        self._state["status"] = "FAIL"

    def addError(self, test, err):
        if self._state is None:  # setUpClass / setUpModule errors come without a startTest
            name = str(test)
            say(f"FAIL {name}")
            OUT.write(indent(self._exc_info_to_string(err, test) if hasattr(test, "id") else "".join(
                traceback.format_exception(*err))))
            self.failed.append(name)
            return
        super().addError(test, err)
        self._fail(test, err)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._fail(test, err)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._fail(test, err, subtest.id())

    def addSuccess(self, test):
        super().addSuccess(test)
        self._state["status"] = self._state["status"] or "ok"

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._state["status"] = "ok"

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._state["status"] = "FAIL"
        self._state["details"].append((test.id(), "unexpected success\n"))

    def addSkip(self, test, reason):
        # not TestResult.addSkip: it appends to self.skipped too, and each skip counted twice
        self._state["status"], self._state["reason"] = "skip", reason

    def stopTest(self, test):
        st = self._state
        sys.stdout, sys.stderr = self._saved
        captured = self._captured.getvalue()
        super().stopTest(test)
        self._state = None
        status = st["status"] or ("FAIL" if st["details"] else "ok")
        secs = time.monotonic() - st["t0"]
        took = f" ({secs:.1f}s)" if secs >= 0.5 else ""
        tid = test.id()
        if status == "ok":
            say(f"ok   {tid}{took}")
            self.passed.append(tid)
        elif status == "skip":
            say(f"skip {tid}: {st['reason']}")
            self.skipped.append(tid)
        else:
            say(f"FAIL {tid}{took}")
            for label, text in st["details"]:
                if label != tid:
                    say(f"  {label}:")
                OUT.write(indent(text))
            if captured.strip():
                OUT.write(indent("output:\n" + captured))
            self.failed.append(tid)
        for n in harness.S.notes:
            say(f"     {n}")
        harness.S.notes.clear()


def discover(filters):
    """(tests, import_failures): test_*.py in this folder, in name order, filtered."""
    loader = unittest.TestLoader()
    tests, broken = [], []

    def flatten(s):
        for t in s:
            if isinstance(t, unittest.TestSuite):
                yield from flatten(t)
            else:
                yield t

    for path in sorted(HERE.glob("test_*.py")):
        try:
            mod = importlib.import_module(path.stem)
        except Exception:
            broken.append((path.stem, traceback.format_exc()))
            continue
        for t in flatten(loader.loadTestsFromModule(mod)):
            if not filters or any(f in t.id() for f in filters):
                tests.append(t)
    if filters:  # a module that failed to import matters only if the filter could want it
        broken = [b for b in broken if any(f in b[0] or b[0] in f for f in filters)]
    return tests, broken


def main(argv):
    listing = "--list" in argv
    filters = [a for a in argv if a != "--list"]
    t0 = time.monotonic()
    got = []

    def interrupt(signum, frame):  # unittest passes KeyboardInterrupt through; SystemExit it would not
        got.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    tests, broken = discover(filters)
    if listing:
        for t in tests:
            say(t.id())
        return 0
    result = Result()
    for name, tb in broken:
        say(f"FAIL {name} (import)")
        OUT.write(indent(tb))
        result.failed.append(name)
    if not tests and not broken:
        say(f"no test matches {filters}" if filters else "no tests found")
        say("0 passed, 1 failed")
        return 1
    rc = 0
    try:
        harness.setup_session()
        unittest.TestSuite(tests).run(result)
    except KeyboardInterrupt:
        sys.stdout, sys.stderr = OUT, sys.__stderr__
        say("interrupted")
        result.failed.append("interrupted")
        rc = 128 + (got[0] if got else signal.SIGINT)
    except harness.SessionError as e:
        say(f"FAIL session: {e}")
        result.failed.append("session")
    finally:
        harness.stop_all()
    p, f, s = len(result.passed), len(result.failed), len(result.skipped)
    say(f"ran {p + f + s} tests in {time.monotonic() - t0:.1f}s")
    say(f"{p} passed, {f} failed" + (f", {s} skipped" if s else ""))
    return rc or (1 if f else 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
