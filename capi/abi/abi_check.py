#!/usr/bin/env python3
"""Checks the ABI the build produced against the committed baseline.

  abi_check.py BASELINE.json CURRENT.json

BASELINE is the stable part of the last release's ABI (abi_dump.py
--stable-only); CURRENT is this build's (abi_dump.py --library). The stable
part may grow, never change: every baseline function keeps its exact
signature, every baseline struct keeps its fields' names, types and offsets
and its alignment (it may grow at its end: the struct_size rule), every
typedef its type, every constant its value (EST_ABI_VERSION_MINOR and
EST_ABI_VERSION may grow), and nothing of the baseline moves to the
experimental section or disappears. A break is allowed only with a new
SONAME, and then the baseline must be made anew for it (doc/abi.md "ABI
baseline"): a baseline whose SONAME is not the library's fails too.
Exits 1 naming every break, 0 with a one-line summary otherwise.
"""
import json
import sys

GROWING = {"EST_ABI_VERSION_MINOR", "EST_ABI_VERSION"}


def main():
    with open(sys.argv[1]) as f:
        base = json.load(f)
    with open(sys.argv[2]) as f:
        cur = json.load(f)
    breaks = []

    def gone_or_moved(section, name):
        item = cur[section].get(name)
        if item is None:
            breaks.append(f"{section[:-1]} {name} is gone")
            return None
        if item["experimental"]:
            breaks.append(f"{section[:-1]} {name} moved into the experimental section")
        return item

    if base.get("soname") != cur.get("soname"):
        breaks.append(f"the baseline is for {base.get('soname')!r} but the library is {cur.get('soname')!r}: "
                      "a new SONAME needs a new baseline")
    for name, fn in base["functions"].items():
        now = gone_or_moved("functions", name)
        if now is not None and now["signature"] != fn["signature"]:
            breaks.append(f"function {name} changed: {fn['signature']} -> {now['signature']}")
    for name, st in base["structs"].items():
        now = gone_or_moved("structs", name)
        if now is None:
            continue
        if now["align"] != st["align"]:
            breaks.append(f"struct {name}: alignment {st['align']} -> {now['align']}")
        if now["size"] < st["size"]:
            breaks.append(f"struct {name}: shrank from {st['size']} to {now['size']} bytes")
        for i, field in enumerate(st["fields"]):
            if i >= len(now["fields"]):
                breaks.append(f"struct {name}: field {field['name']} is gone")
                continue
            nf = now["fields"][i]
            for key in ("name", "type", "offset", "size"):
                if nf[key] != field[key]:
                    breaks.append(f"struct {name}: field {i} ({field['name']}) {key} {field[key]!r} -> {nf[key]!r}")
    for name, td in base["typedefs"].items():
        now = gone_or_moved("typedefs", name)
        if now is not None and now["type"] != td["type"]:
            breaks.append(f"typedef {name} changed: {td['type']} -> {now['type']}")
    for name, c in base["constants"].items():
        now = gone_or_moved("constants", name)
        if now is None:
            continue
        if name in GROWING and now["value"] >= c["value"] and \
                cur["constants"]["EST_ABI_VERSION_MAJOR"]["value"] == base["constants"]["EST_ABI_VERSION_MAJOR"]["value"]:
            continue
        if now["value"] != c["value"]:
            breaks.append(f"constant {name} changed: {c['value']} -> {now['value']}")

    if breaks:
        print(f"abi_check: {len(breaks)} incompatible change(s) against the baseline {sys.argv[1]}:")
        for b in breaks:
            print(f"  - {b}")
        return 1
    added = {s: sorted(set(k for k, v in cur[s].items() if not v["experimental"]) - set(base[s])) for s in
             ("functions", "structs", "typedefs", "constants")}
    experimental = sum(1 for s in ("functions", "structs", "typedefs", "constants")
                       for v in cur[s].values() if v["experimental"])
    n_added = sum(len(v) for v in added.values())
    print(f"abi_check: compatible with {sys.argv[1]} ({cur.get('soname')}): {len(base['functions'])} functions, "
          f"{len(base['structs'])} structs, {len(base['constants'])} constants unchanged; "
          f"{n_added} stable additions{': ' + ', '.join(sum(added.values(), [])) if n_added else ''}; "
          f"{experimental} experimental declarations (not checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
