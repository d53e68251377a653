#!/usr/bin/env bash
# How big `report --format html` makes the page of a results file, and how long headless chromium
# takes to show it: the page's bytes, then (median of ROUNDS loads, each in a fresh browser) the
# navigation's own times from the browser (DOM interactive, DOMContentLoaded, load), the time its
# script took (sort handlers, filters, plots drawn), and the wall time of the whole browser
# command (its start, the load, the DOM's dump, its exit).
#   bench/html_load.sh [RESULTS.json|DIR ...] (default results/reference.json) [-- ROUNDS]
# The claim (README, "report"): the reference run's page is a few hundred KB and shows in well
# under a second once the browser runs.
set -euo pipefail
cd "$(dirname "$0")/.."
files=()
rounds=5
while [ $# -gt 0 ]; do
  if [ "$1" = -- ]; then rounds=$2; break; fi
  files+=("$1")
  shift
done
[ ${#files[@]} -gt 0 ] || files=(results/reference.json)
browser=$(command -v chromium) || { echo "html_load: no chromium (scripts/install-deps.sh --tests)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/ipcbench-html-load.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
build/ipcbench report --format html "${files[@]}" > "$tmp/page.html"
/usr/bin/python3 - "$tmp/page.html" <<'PY'
import sys
page = sys.argv[1]
html = open(page, encoding="utf-8").read()
# The page's own script's time: from just before it starts to just after it ends.
at = html.rindex("<script>")
html = html[:at] + "<script>window.__t0 = performance.now();</script>" + html[at:]
probe = """<script>window.__t1 = performance.now();
window.addEventListener('load', () => setTimeout(() => {
  const n = performance.getEntriesByType('navigation')[0];
  const p = document.createElement('pre'); p.id = 'timing';
  p.textContent = [n.domInteractive, n.domContentLoadedEventEnd, n.loadEventEnd, window.__t1 - window.__t0].join(' ');
  document.body.appendChild(p);
}, 0));</script>"""
open(page.replace(".html", "-probed.html"), "w", encoding="utf-8").write(html.replace("</body>", probe + "</body>", 1))
PY
echo "page: $(stat -c %s "$tmp/page.html") bytes ($(wc -l < "$tmp/page.html") lines) for ${files[*]}"
for i in $(seq "$rounds"); do
  start=$(date +%s%N)
  "$browser" --headless --no-sandbox --disable-gpu --user-data-dir="$tmp/profile$i" \
    --window-size=1280,900 --dump-dom "file://$tmp/page-probed.html" 2> /dev/null |
    grep -o '<pre id="timing">[^<]*' | sed 's/.*>//' | tr '\n' ' '
  echo "$(( ($(date +%s%N) - start) / 1000000 ))"
done | /usr/bin/python3 -c '
import sys, statistics
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
names = ["DOM interactive", "DOMContentLoaded", "load", "page script", "browser command (wall)"]
for i, n in enumerate(names):
    v = [r[i] for r in rows]
    print("%-24s median %7.0f ms  (min %.0f, max %.0f, %d loads)" % (n, statistics.median(v), min(v), max(v), len(v)))
'
