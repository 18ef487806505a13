#!/usr/bin/env python3
"""The C ABI of estoria as data, produced from the real header.

  abi_dump.py --header estoria.h [--library libestoria.so] [--stable-only] [--out FILE]

Writes one JSON document describing every declaration of the header whose
name starts with est_/EST_: functions (their C signature), structs (size,
alignment, and each field's type, offset and size), typedefs, and integer
constants, each marked "experimental" when it sits in the header's
experimental section (#ifdef EST_EXPERIMENTAL ... #endif). Names, types and
sections come from clang's AST of the header; sizes, offsets and constant
values from a probe program compiled against it by the C compiler, so the
numbers are the compiler's, not ours. With --library, the SONAME too.

The bindings check their own declarations against this document, and
abi_check.py compares it with the committed baseline of the last release
(doc/abi.md "ABI baseline").
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile


def experimental_ranges(text):
    """Character ranges [begin, end) of the header's experimental sections."""
    ranges = []
    for m in re.finditer(r"^#ifdef EST_EXPERIMENTAL\b", text, flags=re.M):
        end = text.find("#endif /* EST_EXPERIMENTAL */", m.end())
        if end < 0:
            sys.exit("abi_dump: an experimental section without its #endif /* EST_EXPERIMENTAL */")
        ranges.append((m.start(), end))
    return ranges


def in_ranges(offset, ranges):
    return any(b <= offset < e for b, e in ranges)


def clang_ast(clang, header, include_dir):
    out = subprocess.run(
        [clang, "-Xclang", "-ast-dump=json", "-fsyntax-only", "-x", "c", "-std=c99", "-DEST_EXPERIMENTAL",
         "-I", include_dir, header],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def loc_offset(node):
    loc = node.get("loc", {})
    if "offset" in loc:
        return loc["offset"]
    return loc.get("expansionLoc", {}).get("offset", -1)


def collect_decls(ast, ranges):
    functions, structs, typedefs = {}, {}, {}
    for node in ast.get("inner", []):
        name = node.get("name", "")
        if not name.startswith("est_"):
            continue
        exp = in_ranges(loc_offset(node), ranges)
        kind = node["kind"]
        if kind == "FunctionDecl":
            params = [p.get("type", {}).get("qualType", "") for p in node.get("inner", []) if p["kind"] == "ParmVarDecl"]
            qual = node["type"]["qualType"]
            functions[name] = {"signature": qual, "returns": qual.split("(")[0].strip(), "params": params,
                               "experimental": exp}
        elif kind == "RecordDecl" and node.get("completeDefinition"):
            fields = [{"name": f["name"], "type": f["type"]["qualType"]}
                      for f in node.get("inner", []) if f["kind"] == "FieldDecl"]
            structs[name] = {"fields": fields, "experimental": exp}
        elif kind == "TypedefDecl":
            qual = node["type"]["qualType"]
            if qual in ("struct " + name, name):  # typedef struct est_x est_x: the struct says it all
                continue
            typedefs[name] = {"type": qual, "experimental": exp}
    return functions, structs, typedefs


def collect_constants(cc, header, include_dir, text, ranges):
    macros = subprocess.run([cc, "-dM", "-E", "-x", "c", "-std=c99", "-DEST_EXPERIMENTAL", "-I", include_dir, header],
                            check=True, capture_output=True, text=True).stdout
    positions = {m.group(1): m.start() for m in re.finditer(r"^#define\s+(EST_\w+)", text, flags=re.M)}
    names = []
    for line in macros.splitlines():
        m = re.match(r"#define (EST_\w+) (.+)$", line)
        if not m or m.group(1) not in positions:
            continue
        name, value = m.group(1), m.group(2)
        if name.endswith("_INIT") or name in ("EST_API", "EST_EXPERIMENTAL") or value.startswith("__attribute__"):
            continue
        names.append(name)
    return {n: {"experimental": in_ranges(positions[n], ranges)} for n in sorted(names)}


def probe(cc, header, include_dir, structs, constants):
    """Compiles and runs a C program that prints the compiler's numbers."""
    lines = ["#define EST_EXPERIMENTAL", f'#include "{os.path.abspath(header)}"', "#include <stddef.h>",
             "#include <stdio.h>", "int main(void) {"]
    for s, info in structs.items():
        lines.append(f'  printf("S {s} %zu %zu\\n", sizeof(struct {s}), _Alignof(struct {s}));')
        for f in info["fields"]:
            n = f["name"]
            lines.append(f'  printf("F {s} {n} %zu %zu\\n", offsetof(struct {s}, {n}), '
                         f'sizeof(((struct {s} *)0)->{n}));')
    for c in constants:
        lines.append(f'  printf("C {c} %lld\\n", (long long)({c}));')
    lines += ["  return 0;", "}"]
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "probe.c"), os.path.join(tmp, "probe")
        with open(src, "w") as f:
            f.write("\n".join(lines) + "\n")
        subprocess.run([cc, "-std=c11", "-I", include_dir, "-o", exe, src], check=True)
        return subprocess.run([exe], check=True, capture_output=True, text=True).stdout


def soname(library):
    out = subprocess.run(["readelf", "-d", library], check=True, capture_output=True, text=True).stdout
    m = re.search(r"\(SONAME\).*\[(.*)\]", out)
    return m.group(1) if m else ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--header", required=True)
    ap.add_argument("--library")
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"))
    ap.add_argument("--clang", default="clang")
    ap.add_argument("--stable-only", action="store_true", help="leave out the experimental section (a baseline)")
    ap.add_argument("--out")
    args = ap.parse_args()

    include_dir = os.path.dirname(os.path.dirname(os.path.abspath(args.header)))
    with open(args.header, encoding="utf-8") as f:
        text = f.read()
    ranges = experimental_ranges(text)
    functions, structs, typedefs = collect_decls(clang_ast(args.clang, args.header, include_dir), ranges)
    constants = collect_constants(args.cc, args.header, include_dir, text, ranges)

    for line in probe(args.cc, args.header, include_dir, structs, constants).splitlines():
        kind, rest = line[0], line[2:].split()
        if kind == "S":
            structs[rest[0]].update(size=int(rest[1]), align=int(rest[2]))
        elif kind == "F":
            field = next(f for f in structs[rest[0]]["fields"] if f["name"] == rest[1])
            field.update(offset=int(rest[2]), size=int(rest[3]))
        elif kind == "C":
            constants[rest[0]]["value"] = int(rest[1])

    doc = {"header": "estoria/estoria.h", "functions": functions, "structs": structs, "typedefs": typedefs,
           "constants": constants}
    if args.library:
        doc["soname"] = soname(args.library)
    if args.stable_only:
        for section in ("functions", "structs", "typedefs", "constants"):
            doc[section] = {k: v for k, v in doc[section].items() if not v["experimental"]}
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
