// The hand-written declarations of src/sys.rs against the ABI as data: the
// build's estoria_abi.json (capi/abi/abi_dump.py: the real header's
// functions, struct layouts and constants; doc/abi.md), named by the
// ESTORIA_ABI_JSON environment variable (ctest sets it). Checked:
// - every struct sys.rs lays out has the JSON's size, alignment and field
//   names, offsets and sizes, in order;
// - every EST_* constant sys.rs defines has the JSON's value;
// - every function sys.rs binds exists, with the JSON's parameter count and
//   a return type exactly when the JSON's is not void.
// The lists are read from sys.rs's own text, so a declaration added there
// is checked without editing this test. Without ESTORIA_ABI_JSON the test
// fails: a layout check that quietly passes checks nothing.
use std::collections::BTreeMap;
use std::mem::{align_of, offset_of, size_of};

use estoria::sys::*;

// ------------------------------------------------------------ a JSON reader

#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64, Option<i128>),
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.get(key),
            _ => None,
        }
    }
    fn obj(&self) -> &BTreeMap<String, Json> {
        match self {
            Json::Obj(m) => m,
            other => panic!("expected a JSON object, found {other:?}"),
        }
    }
    fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(a) => a,
            other => panic!("expected a JSON array, found {other:?}"),
        }
    }
    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            other => panic!("expected a JSON string, found {other:?}"),
        }
    }
    fn int(&self) -> i128 {
        match self {
            Json::Num(_, Some(i)) => *i,
            other => panic!("expected a JSON integer, found {other:?}"),
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) {
        self.ws();
        assert_eq!(self.s.get(self.i), Some(&c), "JSON: expected '{}' at byte {}", c as char, self.i);
        self.i += 1;
    }
    fn value(&mut self) -> Json {
        self.ws();
        match self.s[self.i] {
            b'{' => {
                self.i += 1;
                let mut m = BTreeMap::new();
                self.ws();
                if self.s[self.i] == b'}' {
                    self.i += 1;
                    return Json::Obj(m);
                }
                loop {
                    self.ws();
                    let k = self.string();
                    self.eat(b':');
                    let v = self.value();
                    m.insert(k, v);
                    self.ws();
                    let c = self.s[self.i];
                    self.i += 1;
                    match c {
                        b',' => continue,
                        b'}' => return Json::Obj(m),
                        _ => panic!("JSON: bad object at byte {}", self.i),
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut a = Vec::new();
                self.ws();
                if self.s[self.i] == b']' {
                    self.i += 1;
                    return Json::Arr(a);
                }
                loop {
                    a.push(self.value());
                    self.ws();
                    let c = self.s[self.i];
                    self.i += 1;
                    match c {
                        b',' => continue,
                        b']' => return Json::Arr(a),
                        _ => panic!("JSON: bad array at byte {}", self.i),
                    }
                }
            }
            b'"' => Json::Str(self.string()),
            b't' => self.word("true", Json::Bool(true)),
            b'f' => self.word("false", Json::Bool(false)),
            b'n' => self.word("null", Json::Null),
            _ => {
                let start = self.i;
                while self.i < self.s.len() && b"+-0123456789.eE".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                let f: f64 = text.parse().unwrap_or_else(|_| panic!("JSON: bad number {text:?}"));
                Json::Num(f, text.parse::<i128>().ok())
            }
        }
    }
    fn word(&mut self, w: &str, v: Json) -> Json {
        assert!(self.s[self.i..].starts_with(w.as_bytes()), "JSON: bad literal at byte {}", self.i);
        self.i += w.len();
        v
    }
    fn string(&mut self) -> String {
        assert_eq!(self.s[self.i], b'"', "JSON: expected a string at byte {}", self.i);
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let c = self.s[self.i];
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).expect("JSON: strings are UTF-8"),
                b'\\' => {
                    let e = self.s[self.i];
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
                            self.i += 4;
                            let ch = char::from_u32(u32::from_str_radix(hex, 16).unwrap()).unwrap_or('?');
                            let mut b = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
    }
}

fn abi() -> Json {
    let path = std::env::var("ESTORIA_ABI_JSON").unwrap_or_default();
    assert!(
        !path.is_empty(),
        "ESTORIA_ABI_JSON is not set: point it at the build's abi/estoria_abi.json \
         (cmake --build --preset release --target estoria_abi_json; ctest sets it). \
         Without it the layout check would check nothing."
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("ESTORIA_ABI_JSON={path}: {e}"));
    let mut p = Parser { s: text.as_bytes(), i: 0 };
    p.value()
}

// ------------------------------------------------------ what sys.rs declares

const SYS_RS: &str = include_str!("../src/sys.rs");

/// The names of the structs sys.rs lays out (opaque handles, `_private`, aside).
fn declared_structs() -> Vec<String> {
    let mut out = Vec::new();
    let lines: Vec<&str> = SYS_RS.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some(rest) = line.strip_prefix("pub struct ") {
            let name = rest.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap();
            let opaque = lines.get(i + 1).is_some_and(|l| l.trim().starts_with("_private"));
            if !opaque {
                out.push(name.to_owned());
            }
        }
    }
    out
}

fn declared_constants() -> Vec<String> {
    SYS_RS
        .lines()
        .filter_map(|l| l.strip_prefix("pub const "))
        .map(|r| r.split(':').next().unwrap().trim().to_owned())
        .collect()
}

/// (name, parameter count, returns a value) of every `pub fn` in an extern block.
fn declared_functions() -> Vec<(String, usize, bool)> {
    let mut out = Vec::new();
    // Only the extern "C" blocks: walk them by their opening line.
    let blocks: Vec<&str> = SYS_RS.split("extern \"C\" {").skip(1).collect();
    assert!(!blocks.is_empty(), "found no extern \"C\" block in src/sys.rs");
    for block in blocks {
        // The block ends at the first line that is exactly "}".
        let body = block.split("\n}\n").next().unwrap();
        let mut s = body;
        while let Some(at) = s.find("pub fn ") {
            s = &s[at + "pub fn ".len()..];
            let open = s.find('(').unwrap();
            let name = s[..open].trim().to_owned();
            // The parameter list, up to the matching ')'.
            let bytes = s.as_bytes();
            let (mut depth, mut j) = (0i32, open);
            let mut params = 0usize;
            let mut segment_has_text = false;
            loop {
                let c = bytes[j];
                match c {
                    b'(' | b'<' | b'[' => {
                        depth += 1;
                        if depth == 1 {
                            j += 1;
                            continue;
                        }
                    }
                    b'>' if j > 0 && bytes[j - 1] == b'-' => {}
                    b')' | b'>' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    b',' if depth == 1 => {
                        if segment_has_text {
                            params += 1;
                        }
                        segment_has_text = false;
                        j += 1;
                        continue;
                    }
                    _ => {}
                }
                if depth >= 1 && !c.is_ascii_whitespace() {
                    segment_has_text = true;
                }
                j += 1;
            }
            if segment_has_text {
                params += 1;
            }
            let tail = &s[j + 1..];
            let end = tail.find(';').unwrap();
            let returns = tail[..end].contains("->");
            out.push((name, params, returns));
            s = &tail[end..];
        }
    }
    out
}

// ---------------------------------------------------- what Rust makes of it

struct Layout {
    name: &'static str,
    size: usize,
    align: usize,
    fields: Vec<(String, usize, usize)>, // C name, offset, size
}

fn field_size<T, F>(_: fn(&T) -> &F) -> usize {
    size_of::<F>()
}

macro_rules! layout {
    ($t:ident { $($f:ident),* $(,)? }) => {
        Layout {
            name: stringify!($t),
            size: size_of::<$t>(),
            align: align_of::<$t>(),
            fields: vec![$((
                stringify!($f).trim_end_matches('_').to_owned(),
                offset_of!($t, $f),
                field_size::<$t, _>(|s: &$t| &s.$f),
            )),*],
        }
    };
}

fn rust_layouts() -> Vec<Layout> {
    vec![
        layout!(est_uuid { bytes }),
        layout!(est_store_options {
            struct_size,
            sync_mode,
            sync_interval_ms,
            read_only,
            threads,
            clock_ns,
            random_bytes,
            host_user,
            log,
            log_user
        }),
        layout!(est_maintain_report { struct_size, pending, compacting }),
        layout!(est_allocator { struct_size, allocate, deallocate, user }),
        layout!(est_append_options { struct_size, expect, expected_version, flags, first_version }),
        layout!(est_append_result {
            struct_size,
            first_version,
            last_version,
            first_position,
            last_position,
            actual_version,
            flags
        }),
        layout!(est_read_options { struct_size, direction, after_version, count, until_timestamp_ns }),
        layout!(est_read_all_options { struct_size, after_position, count, until_timestamp_ns }),
        layout!(est_metadata_pair { key, value }),
        layout!(est_event {
            struct_size,
            type_,
            id,
            stream_type,
            stream_uuid,
            stream_version,
            global_position,
            timestamp_ns,
            data,
            data_len,
            content_type,
            metadata_count,
            fb,
            fb_len,
            metadata,
            record,
            record_len
        }),
        layout!(est_snapshot_write_options { struct_size, timestamp_ns }),
        layout!(est_stats { struct_size, events, streams, bytes, segments, first_position, last_position, snapshots }),
        layout!(est_verify_report { struct_size, segments, records, events, bytes }),
        layout!(est_compact_report {
            struct_size,
            segments_before,
            segments_after,
            bytes_before,
            bytes_after,
            events_kept,
            events_dropped
        }),
        layout!(est_stream_info { struct_size, version, events, id }),
        layout!(est_aggregate_type {
            struct_size,
            type_name,
            user,
            new_state,
            apply,
            free_state,
            encode,
            decode,
            snapshot_content_type
        }),
        layout!(est_aggregate_store_options {
            struct_size,
            snapshot_every,
            snapshot_keep_last,
            snapshot_keep_min_version,
            cache_capacity
        }),
        layout!(est_aggregate_stats {
            struct_size,
            loads,
            events_applied,
            snapshots_used,
            snapshots_written,
            cache_hits,
            cache_misses
        }),
        layout!(est_subscribe_options { struct_size, after_position, stream_prefix, event_types, event_types_len }),
        layout!(est_projection_handler { struct_size, name, version, user, handle }),
        layout!(est_projection_options {
            struct_size,
            stream_prefix,
            event_types,
            event_types_len,
            batch_max,
            checkpoint_every,
            flags
        }),
        layout!(est_projection_report { struct_size, position, head, handled, caught_up, skipped }),
    ]
}

macro_rules! constants {
    ($($c:ident),* $(,)?) => { vec![$((stringify!($c), $c as i128)),*] };
}

fn rust_constants() -> Vec<(&'static str, i128)> {
    constants![
        EST_ABI_VERSION_MAJOR,
        EST_ABI_VERSION_MINOR,
        EST_ABI_VERSION,
        EST_OK,
        EST_END,
        EST_ERR_INVALID_ARGUMENT,
        EST_ERR_NOT_FOUND,
        EST_ERR_VERSION_MISMATCH,
        EST_ERR_CLOSED,
        EST_ERR_IO,
        EST_ERR_CORRUPTION,
        EST_ERR_BUSY,
        EST_ERR_UNSUPPORTED,
        EST_ERR_NO_MEMORY,
        EST_ERR_INTERNAL,
        EST_ERR_APPLIED_PARTIALLY,
        EST_ERR_CANCELLED,
        EST_THREADS_LIBRARY,
        EST_THREADS_NONE,
        EST_ID_MAX_LEN,
        EST_TYPE_MAX_LEN,
        EST_SYNC_ALWAYS,
        EST_SYNC_INTERVAL,
        EST_SYNC_NONE,
        EST_EXPECT_ANY,
        EST_EXPECT_VERSION,
        EST_EXPECT_NO_STREAM,
        EST_EXPECT_STREAM_EXISTS,
        EST_APPEND_RESTORE,
        EST_APPEND_DUPLICATE,
        EST_FORWARD,
        EST_REVERSE,
        EST_LOG_ERROR,
        EST_LOG_WARNING,
        EST_LOG_INFO,
        EST_HOOK_BEFORE_LOAD,
        EST_HOOK_AFTER_LOAD,
        EST_HOOK_BEFORE_SAVE,
        EST_HOOK_AFTER_SAVE,
        EST_POSITION_END,
        EST_TXN_MAX_APPENDS,
        EST_TXN_MAX_EVENTS,
        EST_PROJECTION_EXACTLY_ONCE,
        EST_PROJECTION_CONTINUE_ON_ERROR,
        EST_PROJECTION_CUTOVER_WHEN_CAUGHT_UP,
        EST_PROJECTION_BATCH_MAX,
    ]
}

// --------------------------------------------------------------------- tests

#[test]
fn every_struct_matches_the_headers_layout() {
    let abi = abi();
    let structs = abi.get("structs").expect("the JSON has no \"structs\"").obj();
    let layouts = rust_layouts();
    let checked: Vec<&str> = layouts.iter().map(|l| l.name).collect();
    for name in declared_structs() {
        assert!(checked.contains(&name.as_str()), "src/sys.rs lays out {name}, which this test does not check");
    }
    let mut problems = Vec::new();
    for l in &layouts {
        let Some(c) = structs.get(l.name) else {
            problems.push(format!("{}: not in the header", l.name));
            continue;
        };
        if c.get("size").unwrap().int() as usize != l.size {
            problems.push(format!("{}: size {} in Rust, {} in C", l.name, l.size, c.get("size").unwrap().int()));
        }
        if c.get("align").unwrap().int() as usize != l.align {
            problems.push(format!("{}: align {} in Rust, {} in C", l.name, l.align, c.get("align").unwrap().int()));
        }
        let cf = c.get("fields").unwrap().arr();
        let c_names: Vec<&str> = cf.iter().map(|f| f.get("name").unwrap().str()).collect();
        let r_names: Vec<&str> = l.fields.iter().map(|f| f.0.as_str()).collect();
        if c_names != r_names {
            problems.push(format!("{}: fields {:?} in Rust, {:?} in C", l.name, r_names, c_names));
            continue;
        }
        for (f, (fname, off, size)) in cf.iter().zip(&l.fields) {
            let (co, cs) = (f.get("offset").unwrap().int() as usize, f.get("size").unwrap().int() as usize);
            if (co, cs) != (*off, *size) {
                problems
                    .push(format!("{}.{fname}: offset {off} size {size} in Rust, offset {co} size {cs} in C", l.name));
            }
        }
    }
    assert!(problems.is_empty(), "layouts differ from the header:\n{}", problems.join("\n"));
    println!("{} structs match the header's layout", layouts.len());
}

#[test]
fn every_constant_has_the_headers_value() {
    let abi = abi();
    let constants = abi.get("constants").expect("the JSON has no \"constants\"").obj();
    let mine = rust_constants();
    for name in declared_constants() {
        assert!(mine.iter().any(|(n, _)| *n == name), "src/sys.rs defines {name}, which this test does not check");
    }
    let mut problems = Vec::new();
    for (name, value) in &mine {
        match constants.get(*name) {
            None => problems.push(format!("{name}: not in the header")),
            Some(c) => {
                let v = c.get("value").unwrap().int();
                if v != *value {
                    problems.push(format!("{name}: {value} in Rust, {v} in C"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "constants differ from the header:\n{}", problems.join("\n"));
    println!("{} constants match the header", mine.len());
}

#[test]
fn every_bound_function_exists_with_its_arity() {
    let abi = abi();
    let functions = abi.get("functions").expect("the JSON has no \"functions\"").obj();
    let mine = declared_functions();
    assert!(mine.len() > 50, "parsed only {} functions from src/sys.rs", mine.len());
    let mut problems = Vec::new();
    for (name, params, returns) in &mine {
        let Some(f) = functions.get(name) else {
            problems.push(format!("{name}: not in the header"));
            continue;
        };
        let cp = f.get("params").unwrap().arr().len();
        if cp != *params {
            problems.push(format!("{name}: {params} parameters in Rust, {cp} in C"));
        }
        let c_returns = f.get("returns").unwrap().str() != "void";
        if c_returns != *returns {
            problems.push(format!("{name}: returns {} in Rust, {} in C", returns, f.get("returns").unwrap().str()));
        }
    }
    assert!(problems.is_empty(), "bindings differ from the header:\n{}", problems.join("\n"));
    println!("{} functions bound as the header declares them", mine.len());
}

#[test]
fn the_json_reader_reads_what_the_dump_writes() {
    let mut p = Parser { s: br#"{"a": [1, -2, {"b": "x\"y\u0041"}], "c": true, "d": null}"#, i: 0 };
    let v = p.value();
    assert_eq!(v.get("a").unwrap().arr()[1].int(), -2);
    assert_eq!(v.get("a").unwrap().arr()[2].get("b").unwrap().str(), "x\"yA");
    assert_eq!(v.get("c"), Some(&Json::Bool(true)));
    assert_eq!(v.get("d"), Some(&Json::Null));
}
