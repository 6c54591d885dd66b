"""test_docs.py — README.md tells the truth: each applet's exit-status table is the one its
--help prints (both from the applet's NAME_exits table in the code), every applet has a section,
and the applets table lists them all."""
import re

import harness
from harness import ROOT, AwsboxTestCase


def readme():
    return (ROOT / "README.md").read_text()


def section(text, name):
    """The README section of applet name: from its heading to the next heading of level 2 or 3."""
    m = re.search(rf'^### <a id="{re.escape(name)}"></a>{re.escape(name)} .*$', text, re.M)
    if not m:
        return None
    nxt = re.search(r"^#{2,3} ", text[m.end():], re.M)
    return text[m.end():m.end() + nxt.start()] if nxt else text[m.end():]


def help_exits(out):
    """[(code, meaning)] from the "Exit status:" block that --help prints."""
    if "\nExit status:\n" not in out:
        return None
    block = out.split("\nExit status:\n", 1)[1]
    rows = []
    for line in block.splitlines():
        m = re.fullmatch(r"  (\d+)  (.+)", line)
        if not m:
            break
        rows.append((int(m.group(1)), m.group(2)))
    return rows


def readme_exits(sec):
    """[(code, meaning)] from the section's "Exit status:" table."""
    m = re.search(r"^Exit status:\n\n\| code \| meaning \|\n\|---\|---\|\n((?:\|.*\|\n)+)", sec, re.M)
    if not m:
        return None
    rows = []
    for line in m.group(1).splitlines():
        code, meaning = [c.strip() for c in line.strip("|").split("|", 1)]
        rows.append((int(code), meaning.replace("\\|", "|")))
    return rows


class Readme(AwsboxTestCase):
    servers = False

    def test_exit_tables_agree(self):
        text = readme()
        for name in harness.applets():
            with self.subTest(applet=name):
                sec = section(text, name)
                self.assertIsNotNone(sec, f"README has no section for {name}")
                h = help_exits(self.ok(self.run("awsbox", name, "--help")))
                self.assertTrue(h, f"{name} --help prints no exit status table")
                self.assertEqual([c for c, _ in h][:1], [0])
                self.assertEqual(readme_exits(sec), h, f"README's exit table for {name} differs from --help")

    def test_applets_table_lists_every_applet(self):
        listed = re.findall(r"^\| \[`(\w+)`\]\(#(\w+)\) \|", readme(), re.M)
        self.assertEqual([a for a, _ in listed], harness.applets())
        self.assertTrue(all(a == b for a, b in listed))

    def test_helpers_detect_a_difference(self):
        """The comparison can fail: a changed row is seen."""
        sec = "Exit status:\n\n| code | meaning |\n|---|---|\n| 0 | ok |\n| 3 | gone |\n\n"
        self.assertEqual(readme_exits(sec), [(0, "ok"), (3, "gone")])
        self.assertNotEqual(readme_exits(sec), help_exits("x\n\nExit status:\n  0  ok\n  3  not there\n"))
