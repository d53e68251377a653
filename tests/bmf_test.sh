#!/usr/bin/env bash
# `report --format bmf` is what Bencher takes: valid against the Bencher Metric Format's schema
# (tests/bmf.schema.json), within Bencher's limits (a benchmark's name at most 1024 characters, a
# measure's slug at most 64, kebab-case), each metric inside its interval, and the same medians
# and intervals as the JSON report's summaries of the same file: one benchmark per cell that
# succeeded, none for a failed one. Several files: each benchmark named after its file's label.
#   tests/bmf_test.sh IPCBENCH RUN_JSON SCHEMA
set -euo pipefail
exe=$1
run_json=$2
schema=$3
tmp=$(mktemp -d /tmp/ipcbench-bmf.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$exe" report --format bmf "$run_json" > "$tmp/bmf.json"
"$exe" report --format json "$run_json" > "$tmp/summary.json"
cp "$run_json" "$tmp/a.json"
cp "$run_json" "$tmp/b.json"
"$exe" report --format bmf "$tmp/a.json" "$tmp/b.json" > "$tmp/two.json"
/usr/bin/python3 - "$tmp/bmf.json" "$tmp/summary.json" "$schema" "$tmp/two.json" <<'PY'
import json, re, sys
import jsonschema

bmf = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
schema = json.load(open(sys.argv[3]))
two = json.load(open(sys.argv[4]))
jsonschema.validate(bmf, schema)
jsonschema.validate(two, schema)

failed = set()
ok = set()
for e in doc["benchmarks"]:
    if e.get("run_type") == "iteration":
        (failed if e.get("error_occurred") else ok).add(e["name"])
failed -= ok  # a cell with a failed repetition and good ones is a benchmark
assert set(bmf) == ok, (sorted(set(bmf) ^ ok))[:5]
assert failed, "the stored run has a failed cell: it must be left out"
assert not failed & set(bmf)

def close(a, b):
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1)

checked = 0
summaries = {e["run_name"]: e for e in doc["benchmarks"] if e.get("run_type") == "aggregate"}
for name, measures in bmf.items():
    assert 0 < len(name) <= 1024, name
    assert measures, name
    for slug, metric in measures.items():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug) and len(slug) <= 64, slug
        assert set(metric) <= {"value", "lower_value", "upper_value"}, metric
        assert ("lower_value" in metric) == ("upper_value" in metric), metric
        if "lower_value" in metric:
            assert metric["lower_value"] <= metric["value"] <= metric["upper_value"], (name, slug)
        key = slug.replace("-", "_")
        s = summaries[name]
        if key in s:
            assert close(metric["value"], s[key]), (name, slug, metric, s[key])
            ci = s.get(key + "_ci95")
            if ci:
                assert close(metric["lower_value"], ci[0]) and close(metric["upper_value"], ci[1])
            checked += 1
    assert "cpu-ns-per-iteration" in measures, name
assert checked > 100, checked
assert any("p50-ns" in m for m in bmf.values()) and any("bytes-per-second" in m for m in bmf.values())
assert len(two) == 2 * len(bmf), (len(two), len(bmf))
labels = {n.rsplit(": ", 1)[0] for n in two}
assert len(labels) == 2, labels
assert {n.rsplit(": ", 1)[1] for n in two} == set(bmf)
print("bmf: %d benchmarks valid, %d metrics equal to the JSON summaries" % (len(bmf), checked))
PY
