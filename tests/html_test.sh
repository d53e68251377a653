#!/usr/bin/env bash
# `report --format html` as a browser shows it (Debian's chromium, headless): the page of two files
# side by side loads without a console error or an uncaught exception; it has every table of the
# Markdown report with the same rows (count and order), each scenario's plots, the files'
# contexts; a click on a column's header sorts the table by that column's numbers, a second
# click the other way; the transport filter hides the rows of other transports; at a phone's
# width nothing but the tables' own scroll boxes is wider than the window. The page of four
# files of three commits (copies of one run, one cell made three times slower in the last
# commit, one file of a second machine) has a history: one line per machine, and that cell's
# change, and no other, listed as slower.
#   tests/html_test.sh IPCBENCH RUN_JSON OLD_JSON
# Exits 77 (skipped) without chromium: scripts/install-deps.sh --tests installs it.
set -euo pipefail
exe=$1
run_json=$2
old_json=$3
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "html_test: no chromium (scripts/install-deps.sh --tests installs it): skipped" >&2
  exit 77
fi
tmp=$(mktemp -d /tmp/ipcbench-html.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The checks run in the page, after its own script, and write what they found into it.
cat > "$tmp/probe_head.html" <<'EOF'
<script>window.__errors = []; window.addEventListener('error', (e) => window.__errors.push(String(e.message)));
const __ce = console.error; console.error = (...a) => { window.__errors.push(a.join(' ')); __ce(...a); };</script>
EOF
cat > "$tmp/probe_tail.html" <<'EOF'
<script>
(function () {
  const out = { errors: window.__errors, tables: [], sort: [], filter: null, plots: 0,
    contexts: document.querySelectorAll('#context .context').length,
    overflow: document.documentElement.scrollWidth - window.innerWidth, history: null };
  for (const t of document.querySelectorAll('#tables table.cells')) {
    out.tables.push([t.dataset.scenario, +t.dataset.size, Array.from(t.tBodies[0].rows).map((r) =>
      Array.from(r.cells).map((c) => c.textContent))]);
  }
  out.plots = document.querySelectorAll('#plot-area .plot svg').length;
  // Sort the first table with a numeric column by its last numeric column, both ways.
  const table = document.querySelector('#tables table.cells');
  const heads = Array.from(table.tHead.rows[0].cells);
  const col = heads.map((h, i) => [h, i]).filter(([h]) => !h.classList.contains('text')).pop()[1];
  const values = () => Array.from(table.tBodies[0].rows).filter((r) => !r.classList.contains('failed'))
    .map((r) => r.cells[col].dataset.v).filter((v) => v !== undefined).map(Number);
  out.sort.push(heads[col].textContent, values());
  heads[col].click();
  out.sort.push(values());
  heads[col].click();
  out.sort.push(values());
  // Filter by a transport.
  const input = document.getElementById('f-transport');
  input.value = 'shm';
  input.dispatchEvent(new Event('input'));
  const shown = [];
  for (const t of document.querySelectorAll('#tables table.cells')) {
    const c = Array.from(t.tHead.rows[0].cells).findIndex((h) => h.textContent === 'transport');
    for (const r of t.tBodies[0].rows) if (!r.hidden) shown.push(r.cells[c].textContent);
  }
  out.filter = { shown: shown, count: document.getElementById('f-count').textContent };
  input.value = '';
  input.dispatchEvent(new Event('input'));
  const h = document.getElementById('history');
  if (h) {
    out.history = { charts: h.querySelectorAll('.plot svg').length,
      lines: Array.from(h.querySelectorAll('.plot')).map((p) => p.querySelectorAll('.legend span').length),
      rings: h.querySelectorAll('.plot svg circle[r="6.5"]').length,
      changes: Array.from(h.querySelectorAll('#history-changes tbody tr')).map((r) =>
        Array.from(r.cells).map((c) => c.textContent)) };
  }
  const pre = document.createElement('pre');
  pre.id = 'probe-result';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
EOF

# The page with the probes: the head's before the page's own script, the tail's after it.
probe() {
  /usr/bin/python3 - "$1" "$tmp/probe_head.html" "$tmp/probe_tail.html" "$2" <<'PY'
import sys
page, head, tail, out = sys.argv[1:]
html = open(page, encoding="utf-8").read()
html = html.replace("<head>", "<head>" + open(head).read(), 1)
html = html.replace("</body>", open(tail).read() + "</body>", 1)
open(out, "w", encoding="utf-8").write(html)
PY
}
# The page's DOM after its scripts ran, at a window of WIDTH; the browser's console on stderr.
render() {
  "$browser" --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
    --user-data-dir="$tmp/profile" --enable-logging=stderr --v=0 --window-size="$2,900" \
    --dump-dom "file://$1" > "$3" 2> "$3.log"
  if grep -q ':CONSOLE' "$3.log"; then
    echo "FAIL: the browser's console has messages for $1:" >&2
    grep ':CONSOLE' "$3.log" >&2
    exit 1
  fi
}

"$exe" report --format html "$run_json" "$old_json" > "$tmp/page.html"
"$exe" report "$run_json" "$old_json" > "$tmp/page.md"
probe "$tmp/page.html" "$tmp/probed.html"
# At a phone's width: the checks below do not depend on it, and the overflow check needs it.
render "$tmp/probed.html" 390 "$tmp/page.dom"

# History: four files of three commits (dates in order) and two machines.
mkdir "$tmp/hist"
/usr/bin/python3 - "$run_json" "$tmp" <<'PY'
import json, sys
run, tmp = sys.argv[1:]
lines = open(run).read()
doc = json.loads(lines)
# The first pingpong cell with several repetitions gets three times slower in the last commit.
names = [e["name"] for e in doc["benchmarks"] if e.get("scenario") == "pingpong"
         and e.get("run_type") == "iteration" and not e.get("error_occurred")]
slow = next(n for n in names if names.count(n) >= 3 and not n.startswith("pingpong/floor"))
open(tmp + "/slow_cell", "w").write(slow)
for i, (commit, date, label, factor) in enumerate([
        ("aaaa1111", "2026-01-01T00:00:00+00:00", "m1", 1),
        ("bbbb2222", "2026-02-01T00:00:00+00:00", "m1", 1),
        ("cccc3333", "2026-03-01T00:00:00+00:00", "m1", 3),
        ("bbbb2222", "2026-02-02T00:00:00+00:00", "m2", 1)]):
    d = json.loads(lines)
    d["context"].update(git_commit=commit, date=date, label=label)
    for e in d["benchmarks"]:
        if e["name"] == slow and factor != 1:
            for k in ("p50_ns", "real_time", "cpu_time"):
                if k in e: e[k] *= factor
    json.dump(d, open("%s/hist/%d.json" % (tmp, i), "w"))
PY
"$exe" report --format html "$tmp/hist" > "$tmp/history.html" 2> "$tmp/history.err" || true
probe "$tmp/history.html" "$tmp/history_probed.html"
render "$tmp/history_probed.html" 1280 "$tmp/history.dom"

/usr/bin/python3 - "$tmp" <<'PY'
import json, re, sys
tmp = sys.argv[1]
fail = []
def result(name):
    dom = open("%s/%s" % (tmp, name), encoding="utf-8").read()
    m = re.search(r'<pre id="probe-result">(.*?)</pre>', dom, re.S)
    if not m:
        sys.exit("FAIL: %s: the probe did not run (the page's script stopped?)" % name)
    import html
    return json.loads(html.unescape(m.group(1)))

wide, hist = result("page.dom"), result("history.dom")
narrow = wide
for name, r in (("page", wide), ("history", hist)):
    if r["errors"]:
        fail.append("%s: errors in the page: %s" % (name, r["errors"]))

# Every table of the Markdown report, with its rows in the same order.
md = open(tmp + "/page.md", encoding="utf-8").read()
tables = []
for block in re.split(r"^### ", md, flags=re.M)[1:]:
    rows = [l for l in block.splitlines() if l.startswith("|")][2:]
    tables.append([[c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", r)[1:-1]] for r in rows])
page = [t[2] for t in wide["tables"]]
if len(page) != len(tables):
    fail.append("%d tables in the page, %d in the Markdown report" % (len(page), len(tables)))
for i, (p, m) in enumerate(zip(page, tables)):
    if len(p) != len(m):
        fail.append("table %d (%s, %d B): %d rows, Markdown %d" % (i, wide["tables"][i][0], wide["tables"][i][1], len(p), len(m)))
    elif [r[:2] for r in p] != [r[:2] for r in m]:
        fail.append("table %d: rows not in the Markdown report's order" % i)
    elif any(a != b for pr, mr in zip(p, m) for a, b in zip(pr, mr)):
        fail.append("table %d: a cell differs from the Markdown report's: %s" % (i, next((pr, mr) for pr, mr in zip(p, m) if pr != mr)))
if len(page) < 4:
    fail.append("only %d tables" % len(page))
if wide["plots"] < 4:
    fail.append("only %d plots" % wide["plots"])
if wide["contexts"] != 2:
    fail.append("%d contexts for two files" % wide["contexts"])

head, before, up, down = wide["sort"]
if len(up) < 3:
    fail.append("the sort probe's column (%s) has %d numbers" % (head, len(up)))
if up != sorted(before) or down != sorted(before, reverse=True):
    fail.append("sorting by %s: %s then %s from %s" % (head, up, down, before))
if up == before and down == before:
    fail.append("sorting by %s changed nothing" % head)

shown = wide["filter"]["shown"]
if not shown or any("shm" not in t for t in shown):
    fail.append("transport filter 'shm' shows %s" % shown[:10])
if narrow["overflow"] > 0:
    fail.append("at 390 px the page is %d px wider than the window" % narrow["overflow"])

slow = open(tmp + "/slow_cell").read()
h = hist["history"]
if not h:
    fail.append("no history for files of three commits")
else:
    if h["charts"] < 2:
        fail.append("%d history charts" % h["charts"])
    if h["lines"][0] != 2:
        fail.append("the first history chart has %d lines, not one a machine (2)" % h["lines"][0])
    if [(c[0], c[1], c[2], c[3], c[5]) for c in h["changes"]] != [(slow, "m1", "bbbb2222", "cccc3333", "slower")]:
        fail.append("history changes %s, expected %s slower on m1 from bbbb2222 to cccc3333" % (h["changes"], slow))
    if h["rings"] != 1:
        fail.append("%d ringed points, expected 1" % h["rings"])
if fail:
    print("FAIL: " + "\nFAIL: ".join(fail))
    sys.exit(1)
print("html: %d tables (%d rows) as in the Markdown report, %d plots, sorting, filter, phone width, "
      "history of 4 files (%d charts, change: %s)" % (len(page), sum(map(len, page)), wide["plots"], h["charts"], slow))
PY
