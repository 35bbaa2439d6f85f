#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Read values out of `fwd stats --json` output (a file, or - for stdin).

  jget.py FILE PATH...
  jget.py --reasons-grown BEFORE AFTER


Each PATH is dot-separated keys; "rule:NAME" selects the rules[] element
whose "name" is NAME; "rules-sum" is the sum of every rule's packets. A
missing key prints "missing" (the test then fails its comparison), except
under malformed.reasons, where a reason never seen counts as 0. One value
is printed per line. Exit 2 when the input is not a JSON object.
--reasons-grown prints "REASON+N" for every malformed reason whose count
grew between two snapshots, space-separated ("none" when none grew).
"""
import json
import sys


def lookup(doc, path):
    if path == "rules-sum":
        return sum(int(r.get("packets", 0)) for r in doc.get("rules", []))
    cur = doc
    parts = path.split(".")
    for i, part in enumerate(parts):
        if part.startswith("rule:"):
            name = part[5:]
            found = [r for r in cur.get("rules", []) if r.get("name") == name]
            if not found:
                return "missing"
            cur = found[0]
            continue
        if not isinstance(cur, dict) or part not in cur:
            if parts[:i] == ["malformed", "reasons"]:
                return 0
            return "missing"
        cur = cur[part]
    if isinstance(cur, bool):
        return int(cur)
    return cur


def load(path):
    with open(path) as f:
        return json.load(f)


def reasons_grown(before, after):
    rb = load(before).get("malformed", {}).get("reasons", {})
    ra = load(after).get("malformed", {}).get("reasons", {})
    out = ["%s+%d" % (k, v - rb.get(k, 0)) for k, v in sorted(ra.items())
           if v != rb.get(k, 0)]
    print(" ".join(out) if out else "none")
    return 0


def main():
    if sys.argv[1] == "--reasons-grown":
        return reasons_grown(sys.argv[2], sys.argv[3])
    src = sys.stdin if sys.argv[1] == "-" else open(sys.argv[1])
    try:
        doc = json.load(src)
    except ValueError as e:
        print("jget: not JSON: %s" % e, file=sys.stderr)
        return 2
    if not isinstance(doc, dict):
        print("jget: not a JSON object", file=sys.stderr)
        return 2
    for path in sys.argv[2:]:
        v = lookup(doc, path)
        print(json.dumps(v) if isinstance(v, (dict, list)) else v)
    return 0


if __name__ == "__main__":
    sys.exit(main())
