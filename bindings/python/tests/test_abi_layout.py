"""The ctypes declarations of estoria._native against the ABI as data.

The build writes estoria_abi.json (capi/abi/abi_dump.py: the real header's
functions, struct layouts and constants; doc/abi.md); ctest names it in
ESTORIA_ABI_JSON. Every ctypes Structure the package declares must have the
header's size, alignment and field offsets and sizes; every EST_* constant
the header's value; every function bound the header's parameter count and a
result exactly when the header's is not void. Without ESTORIA_ABI_JSON these
tests fail: a layout check that quietly passes checks nothing.
"""

from __future__ import annotations

import ctypes
import json
import os
from typing import Any, Dict, List

import pytest

from estoria import _native as n


@pytest.fixture(scope="module")
def abi() -> Dict[str, Any]:
    path = os.environ.get("ESTORIA_ABI_JSON", "")
    if not path:
        pytest.fail(
            "ESTORIA_ABI_JSON is not set: point it at the build's abi/estoria_abi.json "
            "(cmake --build --preset release --target estoria_abi_json; ctest sets it)",
            pytrace=False,
        )
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def structures() -> List[type]:
    return [
        v
        for v in vars(n).values()
        if isinstance(v, type) and issubclass(v, ctypes.Structure) and v.__module__ == n.__name__
    ]


def test_every_structure_has_the_headers_layout(abi: Dict[str, Any]) -> None:
    found = structures()
    assert len(found) >= 15, [s.__name__ for s in found]
    problems = []
    for cls in found:
        c = abi["structs"].get(cls.__name__)
        if c is None:
            problems.append(f"{cls.__name__}: not in the header")
            continue
        if ctypes.sizeof(cls) != c["size"]:
            problems.append(f"{cls.__name__}: size {ctypes.sizeof(cls)} in Python, {c['size']} in C")
        if ctypes.alignment(cls) != c["align"]:
            problems.append(f"{cls.__name__}: align {ctypes.alignment(cls)} in Python, {c['align']} in C")
        names = [f[0] for f in cls._fields_]
        c_names = [f["name"] for f in c["fields"]]
        if names != c_names:
            problems.append(f"{cls.__name__}: fields {names} in Python, {c_names} in C")
            continue
        for f in c["fields"]:
            d = getattr(cls, f["name"])
            if (d.offset, d.size) != (f["offset"], f["size"]):
                problems.append(
                    f"{cls.__name__}.{f['name']}: offset {d.offset} size {d.size} in Python, "
                    f"offset {f['offset']} size {f['size']} in C"
                )
    assert not problems, "\n".join(problems)


def test_every_constant_has_the_headers_value(abi: Dict[str, Any]) -> None:
    mine = {k: v for k, v in vars(n).items() if k.startswith("EST_") and isinstance(v, int)}
    assert len(mine) >= 25
    problems = []
    for name, value in sorted(mine.items()):
        c = abi["constants"].get(name)
        if c is None:
            problems.append(f"{name}: not in the header")
        elif c["value"] != value:
            problems.append(f"{name}: {value} in Python, {c['value']} in C")
    assert not problems, "\n".join(problems)


def test_every_bound_function_exists_with_its_arity(abi: Dict[str, Any]) -> None:
    assert len(n.DECLARED) >= 50
    problems = []
    for name, (restype, argtypes) in sorted(n.DECLARED.items()):
        f = abi["functions"].get(name)
        if f is None:
            problems.append(f"{name}: not in the header")
            continue
        if len(argtypes) != len(f["params"]):
            problems.append(f"{name}: {len(argtypes)} parameters in Python, {len(f['params'])} in C")
        if (restype is None) != (f["returns"] == "void"):
            problems.append(f"{name}: returns {restype} in Python, {f['returns']} in C")
        elif restype is not None and f["returns"] in ("int64_t", "uint32_t", "size_t", "est_status", "int32_t"):
            want = {"int64_t": 8, "uint32_t": 4, "size_t": ctypes.sizeof(ctypes.c_size_t), "est_status": 4, "int32_t": 4}
            if ctypes.sizeof(restype) != want[f["returns"]]:
                problems.append(f"{name}: returns {restype} in Python, {f['returns']} in C")
    assert not problems, "\n".join(problems)


def test_event_metadata_is_read_from_the_array(memory_store: Any) -> None:
    # One crossing per batch of events: the metadata comes from est_event.metadata,
    # not from est_event_metadata (which this test makes fail).
    import estoria

    sid = estoria.new_id("order")
    memory_store.append(sid, [("Placed", b"{}", "", {"b": "2", "a": "1", "c": "3"})])
    saved = n.lib.est_event_metadata
    calls = []

    def refuse(*args: Any) -> int:
        calls.append(args)
        return n.EST_ERR_INTERNAL

    n.lib.est_event_metadata = refuse
    try:
        (event,) = list(memory_store.read_stream(sid))
    finally:
        n.lib.est_event_metadata = saved
    assert calls == []
    assert list(event.metadata.items()) == [("a", "1"), ("b", "2"), ("c", "3")]


def test_the_projection_engine_is_bound(abi: Dict[str, Any]) -> None:
    # The layout tests above cover whatever _native declares; this one fails
    # when a part of the projection ABI is not declared at all.
    structs = {s.__name__ for s in structures()}
    wanted = {"est_projection_handler", "est_projection_options", "est_projection_report"}
    assert wanted <= structs, wanted - structs
    assert {s for s in abi["structs"] if s.startswith("est_projection_")} == wanted
    constants = {k for k in vars(n) if k.startswith("EST_PROJECTION_")}
    assert constants == {k for k in abi["constants"] if k.startswith("EST_PROJECTION_")}
    # The _init helpers are the C _INIT macros: Python fills struct_size itself (n.sized).
    functions = {f for f in abi["functions"] if f.startswith("est_projection_") and not f.endswith("_init")}
    assert functions <= set(n.DECLARED), functions - set(n.DECLARED)


def _c_size(c_type: str) -> int:
    c_type = c_type.strip()
    if c_type.endswith("*"):
        return ctypes.sizeof(ctypes.c_void_p)
    sizes = {"int64_t": 8, "uint64_t": 8, "int32_t": 4, "uint32_t": 4, "int": 4, "est_status": 4,
             "size_t": ctypes.sizeof(ctypes.c_size_t), "void": 0}
    return sizes[c_type]


def test_every_callback_field_has_the_headers_prototype(abi: Dict[str, Any]) -> None:
    # A CFUNCTYPE field's parameters and result against the header's function
    # pointer type ("est_status (*)(void *, const est_event *, size_t, est_txn *)"):
    # count and size of each; a wrong prototype reads garbage arguments.
    import re

    checked = 0
    problems = []
    for cls in structures():
        c_fields = {f["name"]: f for f in abi["structs"].get(cls.__name__, {}).get("fields", [])}
        for name, py_type in cls._fields_:
            if not hasattr(py_type, "_argtypes_") or name not in c_fields:
                continue
            c_type = c_fields[name]["type"]
            c_type = abi["typedefs"].get(c_type, {}).get("type", c_type)  # est_log_fn, ...
            m = re.fullmatch(r"(.+?)\s*\(\*\)\((.*)\)", c_type)
            assert m, c_type
            c_params = [p for p in m.group(2).split(",") if p.strip() not in ("", "void")]
            py_sizes = [ctypes.sizeof(t) for t in py_type._argtypes_]
            c_sizes = [_c_size(p) for p in c_params]
            py_result = 0 if py_type._restype_ is None else ctypes.sizeof(py_type._restype_)
            if py_sizes != c_sizes or py_result != _c_size(m.group(1)):
                problems.append(f"{cls.__name__}.{name}: {py_result} {py_sizes} in Python, {c_type} in C")
            checked += 1
    assert checked >= 6
    assert not problems, "\n".join(problems)
