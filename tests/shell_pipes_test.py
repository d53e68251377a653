#!/usr/bin/python3
"""No shell script of the project that sets `pipefail` pipes into `grep -q`.

`grep -q` exits at its first match; whatever still writes into the pipe then dies of SIGPIPE,
and under pipefail the pipeline fails although grep matched. Whether the writer has finished
by then depends on the scheduler, so such a check passes alone and fails on a loaded machine
(the install test did: "the installed completion does not offer shm"). Match on a here-string
of the captured output instead: grep -q PATTERN <<< "$(command)".

  tests/shell_pipes_test.py SOURCE_DIR            checks the project's scripts
  tests/shell_pipes_test.py --self-test           checks that the checker finds what it should
"""
import pathlib
import re
import sys

PIPE_INTO_QUIET_GREP = re.compile(
    r"\|\s*(?:\\\n\s*)?grep\s+(?:-\S+\s+)*?(?:-(?!-)[A-Za-z]*q[A-Za-z]*|--quiet)(?=\s)")


def offending_lines(text: str) -> list[int]:
    if not re.search(r"set\s+-\S*o\s+pipefail|set\s+-o\s+pipefail|pipefail", text):
        return []
    code = "\n".join(line.split(" #")[0] if not line.lstrip().startswith("#") else ""
                     for line in text.splitlines())
    lines = []
    for m in PIPE_INTO_QUIET_GREP.finditer(code):
        if "||" in code[max(0, m.start() - 1):m.start() + 1]:
            continue  # `||`, not a pipe
        lines.append(code.count("\n", 0, m.start()) + 1)
    return lines


def self_test() -> int:
    bad = ["set -euo pipefail\nfind . | grep -q . || exit 1\n",
           "set -o pipefail\nman x |\n  grep -qx shm\n",
           "set -euo pipefail\nprintf x | grep -F -q x\n",
           "set -euo pipefail\nprintf x | grep --quiet x\n"]
    good = ["set -euo pipefail\ngrep -q x <<< \"$(printf x)\"\n",
            "set -euo pipefail\nfalse || grep -q x f\n",
            "set -eu\nfind . | grep -q .\n",  # no pipefail: only grep's status counts
            "set -euo pipefail\n# a | grep -q comment\n"]
    wrong = [t for t in bad if not offending_lines(t)] + [t for t in good if offending_lines(t)]
    for t in wrong:
        print(f"FAIL: misjudged {t!r}", file=sys.stderr)
    return 1 if wrong else 0


def main() -> int:
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    root = pathlib.Path(sys.argv[1])
    scripts = [p for d in ("tests", "scripts", "packaging", "bench", ".ci") for p in (root / d).rglob("*")
               if p.is_file() and (p.suffix == ".sh" or p.name == "run")]
    found = 0
    for p in sorted(scripts):
        for n in offending_lines(p.read_text(errors="replace")):
            print(f"{p.relative_to(root)}:{n}: a pipe into grep -q under pipefail (SIGPIPE race); "
                  "use grep -q PATTERN <<< \"$(command)\"", file=sys.stderr)
            found += 1
    print(f"{len(scripts)} scripts checked, {found} pipes into grep -q")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
