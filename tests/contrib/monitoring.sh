#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# contrib/monitoring: the Grafana dashboard and the Prometheus alert rules
# load (JSON, YAML with the rule-file shape), and every metric they use is
# one the milter's endpoint really serves (a running milter is asked).
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
need_cmd python3 curl
python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed"

MON="$SMX_SOURCE_DIR/contrib/monitoring"
conf="$SMX_TEST_DIR/milter.conf"
log="$SMX_TEST_DIR/milter.log"
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
: >"$log"
mport=$(free_port)
write_milter_conf "$conf" "$(free_port)" "metrics_listen = \"$mport\""
"$SMX_BIN_DIR/smimectl" -c "$conf" init >/dev/null || fail "smimectl init"
trap 'stop_milter' EXIT
start_milter "$conf" "$log"
wait_for_port "$mport" 10 || fail "no metrics listener on 127.0.0.1:$mport"
curl -s -S --max-time 10 -o "$SMX_TEST_DIR/metrics.txt" "http://127.0.0.1:$mport/metrics" \
  || fail "cannot fetch /metrics"

python3 - "$MON" "$SMX_TEST_DIR/metrics.txt" <<'PY' || fail "monitoring files (above)"
import json, re, sys, yaml
mon, served_file = sys.argv[1], sys.argv[2]
served = set()
for line in open(served_file):
    m = re.match(r"# TYPE (\S+) (\S+)", line)
    if m:
        name, kind = m.groups()
        served.add(name)
        if kind == "histogram":
            served.update({name + "_bucket", name + "_sum", name + "_count"})
if not served:
    sys.exit("the endpoint served no metric families")
bad = 0
def check(where, expr):
    global bad
    for name in set(re.findall(r"\bsmime_milter_[a-z_]+", expr)):
        if name not in served:
            print(f"{where}: {name} is not served by the milter"); bad += 1

dash = json.load(open(f"{mon}/grafana-dashboard.json"))
panels = dash.get("panels") or []
if not panels:
    sys.exit("the dashboard has no panels")
for p in panels:
    targets = p.get("targets") or []
    if not targets:
        print(f"dashboard panel {p.get('title')!r} has no query"); bad += 1
    for t in targets:
        check(f"dashboard panel {p.get('title')!r}", t["expr"])
for v in dash.get("templating", {}).get("list", []):
    check(f"dashboard variable {v['name']}", str(v.get("query", "")))

rules = yaml.safe_load(open(f"{mon}/alerts.yml"))
n = 0
for group in rules["groups"]:
    for r in group["rules"]:
        n += 1
        for key in ("alert", "expr", "annotations"):
            if key not in r:
                print(f"alert rule {r.get('alert')!r} lacks {key}"); bad += 1
        check(f"alert {r.get('alert')}", r.get("expr", ""))
if n == 0:
    sys.exit("no alert rules")
# The families an admin needs most are covered.
used = json.dumps(dash) + open(f"{mon}/alerts.yml").read()
for family in ("smime_milter_messages_total", "smime_milter_signatures_verified_total",
               "smime_milter_harvests_total", "smime_milter_recipients_refused_total",
               "smime_milter_failures_total", "smime_milter_message_duration_seconds_bucket"):
    if family not in used:
        print(f"nothing shows {family}"); bad += 1
sys.exit(1 if bad else 0)
PY
echo "PASS"
