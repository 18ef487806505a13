// The hand-written declarations in src/sys.rs against the real header: a C
// program compiled from estoria.h prints every struct's size and every
// field's offset, and they must equal Rust's. Needs a C compiler (`cc`, or
// $CC); without one the test says so and passes vacuously.
use std::mem::{offset_of, size_of};
use std::path::PathBuf;
use std::process::Command;

use estoria::sys::*;

const C_SOURCE: &str = "#include <estoria/estoria.h>\n#include <stdio.h>\n#include <stddef.h>\nint main(void) {\n  printf(\"est_uuid size %zu\\n\", sizeof(est_uuid));\n  printf(\"est_uuid.bytes %zu\\n\", offsetof(est_uuid, bytes));\n  printf(\"est_store_options size %zu\\n\", sizeof(est_store_options));\n  printf(\"est_store_options.struct_size %zu\\n\", offsetof(est_store_options, struct_size));\n  printf(\"est_store_options.sync_mode %zu\\n\", offsetof(est_store_options, sync_mode));\n  printf(\"est_store_options.sync_interval_ms %zu\\n\", offsetof(est_store_options, sync_interval_ms));\n  printf(\"est_store_options.read_only %zu\\n\", offsetof(est_store_options, read_only));\n  printf(\"est_append_options size %zu\\n\", sizeof(est_append_options));\n  printf(\"est_append_options.struct_size %zu\\n\", offsetof(est_append_options, struct_size));\n  printf(\"est_append_options.expect %zu\\n\", offsetof(est_append_options, expect));\n  printf(\"est_append_options.expected_version %zu\\n\", offsetof(est_append_options, expected_version));\n  printf(\"est_append_options.flags %zu\\n\", offsetof(est_append_options, flags));\n  printf(\"est_append_options.first_version %zu\\n\", offsetof(est_append_options, first_version));\n  printf(\"est_append_result size %zu\\n\", sizeof(est_append_result));\n  printf(\"est_append_result.struct_size %zu\\n\", offsetof(est_append_result, struct_size));\n  printf(\"est_append_result.first_version %zu\\n\", offsetof(est_append_result, first_version));\n  printf(\"est_append_result.last_version %zu\\n\", offsetof(est_append_result, last_version));\n  printf(\"est_append_result.first_position %zu\\n\", offsetof(est_append_result, first_position));\n  printf(\"est_append_result.last_position %zu\\n\", offsetof(est_append_result, last_position));\n  printf(\"est_append_result.actual_version %zu\\n\", offsetof(est_append_result, actual_version));\n  printf(\"est_read_options size %zu\\n\", sizeof(est_read_options));\n  printf(\"est_read_options.struct_size %zu\\n\", offsetof(est_read_options, struct_size));\n  printf(\"est_read_options.direction %zu\\n\", offsetof(est_read_options, direction));\n  printf(\"est_read_options.after_version %zu\\n\", offsetof(est_read_options, after_version));\n  printf(\"est_read_options.count %zu\\n\", offsetof(est_read_options, count));\n  printf(\"est_read_all_options size %zu\\n\", sizeof(est_read_all_options));\n  printf(\"est_read_all_options.struct_size %zu\\n\", offsetof(est_read_all_options, struct_size));\n  printf(\"est_read_all_options.after_position %zu\\n\", offsetof(est_read_all_options, after_position));\n  printf(\"est_read_all_options.count %zu\\n\", offsetof(est_read_all_options, count));\n  printf(\"est_event size %zu\\n\", sizeof(est_event));\n  printf(\"est_event.struct_size %zu\\n\", offsetof(est_event, struct_size));\n  printf(\"est_event.type %zu\\n\", offsetof(est_event, type));\n  printf(\"est_event.id %zu\\n\", offsetof(est_event, id));\n  printf(\"est_event.stream_type %zu\\n\", offsetof(est_event, stream_type));\n  printf(\"est_event.stream_uuid %zu\\n\", offsetof(est_event, stream_uuid));\n  printf(\"est_event.stream_version %zu\\n\", offsetof(est_event, stream_version));\n  printf(\"est_event.global_position %zu\\n\", offsetof(est_event, global_position));\n  printf(\"est_event.timestamp_ns %zu\\n\", offsetof(est_event, timestamp_ns));\n  printf(\"est_event.data %zu\\n\", offsetof(est_event, data));\n  printf(\"est_event.data_len %zu\\n\", offsetof(est_event, data_len));\n  printf(\"est_event.content_type %zu\\n\", offsetof(est_event, content_type));\n  printf(\"est_event.metadata_count %zu\\n\", offsetof(est_event, metadata_count));\n  printf(\"est_event.fb %zu\\n\", offsetof(est_event, fb));\n  printf(\"est_event.fb_len %zu\\n\", offsetof(est_event, fb_len));\n  printf(\"est_snapshot_write_options size %zu\\n\", sizeof(est_snapshot_write_options));\n  printf(\"est_snapshot_write_options.struct_size %zu\\n\", offsetof(est_snapshot_write_options, struct_size));\n  printf(\"est_snapshot_write_options.timestamp_ns %zu\\n\", offsetof(est_snapshot_write_options, timestamp_ns));\n  printf(\"est_stats size %zu\\n\", sizeof(est_stats));\n  printf(\"est_stats.struct_size %zu\\n\", offsetof(est_stats, struct_size));\n  printf(\"est_stats.events %zu\\n\", offsetof(est_stats, events));\n  printf(\"est_stats.streams %zu\\n\", offsetof(est_stats, streams));\n  printf(\"est_stats.bytes %zu\\n\", offsetof(est_stats, bytes));\n  printf(\"est_stats.segments %zu\\n\", offsetof(est_stats, segments));\n  printf(\"est_stats.first_position %zu\\n\", offsetof(est_stats, first_position));\n  printf(\"est_stats.last_position %zu\\n\", offsetof(est_stats, last_position));\n  printf(\"est_stats.snapshots %zu\\n\", offsetof(est_stats, snapshots));\n  printf(\"est_verify_report size %zu\\n\", sizeof(est_verify_report));\n  printf(\"est_verify_report.struct_size %zu\\n\", offsetof(est_verify_report, struct_size));\n  printf(\"est_verify_report.segments %zu\\n\", offsetof(est_verify_report, segments));\n  printf(\"est_verify_report.records %zu\\n\", offsetof(est_verify_report, records));\n  printf(\"est_verify_report.events %zu\\n\", offsetof(est_verify_report, events));\n  printf(\"est_verify_report.bytes %zu\\n\", offsetof(est_verify_report, bytes));\n  printf(\"est_aggregate_type size %zu\\n\", sizeof(est_aggregate_type));\n  printf(\"est_aggregate_type.struct_size %zu\\n\", offsetof(est_aggregate_type, struct_size));\n  printf(\"est_aggregate_type.type_name %zu\\n\", offsetof(est_aggregate_type, type_name));\n  printf(\"est_aggregate_type.user %zu\\n\", offsetof(est_aggregate_type, user));\n  printf(\"est_aggregate_type.new_state %zu\\n\", offsetof(est_aggregate_type, new_state));\n  printf(\"est_aggregate_type.apply %zu\\n\", offsetof(est_aggregate_type, apply));\n  printf(\"est_aggregate_type.free_state %zu\\n\", offsetof(est_aggregate_type, free_state));\n  printf(\"est_aggregate_type.encode %zu\\n\", offsetof(est_aggregate_type, encode));\n  printf(\"est_aggregate_type.decode %zu\\n\", offsetof(est_aggregate_type, decode));\n  printf(\"est_aggregate_type.snapshot_content_type %zu\\n\", offsetof(est_aggregate_type, snapshot_content_type));\n  printf(\"est_aggregate_store_options size %zu\\n\", sizeof(est_aggregate_store_options));\n  printf(\"est_aggregate_store_options.struct_size %zu\\n\", offsetof(est_aggregate_store_options, struct_size));\n  printf(\"est_aggregate_store_options.snapshot_every %zu\\n\", offsetof(est_aggregate_store_options, snapshot_every));\n  printf(\"est_aggregate_store_options.snapshot_keep_last %zu\\n\", offsetof(est_aggregate_store_options, snapshot_keep_last));\n  printf(\"est_aggregate_store_options.snapshot_keep_min_version %zu\\n\", offsetof(est_aggregate_store_options, snapshot_keep_min_version));\n  printf(\"est_aggregate_store_options.cache_capacity %zu\\n\", offsetof(est_aggregate_store_options, cache_capacity));\n  printf(\"est_aggregate_stats size %zu\\n\", sizeof(est_aggregate_stats));\n  printf(\"est_aggregate_stats.struct_size %zu\\n\", offsetof(est_aggregate_stats, struct_size));\n  printf(\"est_aggregate_stats.loads %zu\\n\", offsetof(est_aggregate_stats, loads));\n  printf(\"est_aggregate_stats.events_applied %zu\\n\", offsetof(est_aggregate_stats, events_applied));\n  printf(\"est_aggregate_stats.snapshots_used %zu\\n\", offsetof(est_aggregate_stats, snapshots_used));\n  printf(\"est_aggregate_stats.snapshots_written %zu\\n\", offsetof(est_aggregate_stats, snapshots_written));\n  printf(\"est_aggregate_stats.cache_hits %zu\\n\", offsetof(est_aggregate_stats, cache_hits));\n  printf(\"est_aggregate_stats.cache_misses %zu\\n\", offsetof(est_aggregate_stats, cache_misses));\n  return 0;\n}\n";

fn rust_layout() -> String {
    let mut out = String::new();
    out.push_str(&format!("est_uuid size {}\n", size_of::<est_uuid>()));
    out.push_str(&format!("est_uuid.bytes {}\n", offset_of!(est_uuid, bytes)));
    out.push_str(&format!("est_store_options size {}\n", size_of::<est_store_options>()));
    out.push_str(&format!("est_store_options.struct_size {}\n", offset_of!(est_store_options, struct_size)));
    out.push_str(&format!("est_store_options.sync_mode {}\n", offset_of!(est_store_options, sync_mode)));
    out.push_str(&format!("est_store_options.sync_interval_ms {}\n", offset_of!(est_store_options, sync_interval_ms)));
    out.push_str(&format!("est_store_options.read_only {}\n", offset_of!(est_store_options, read_only)));
    out.push_str(&format!("est_append_options size {}\n", size_of::<est_append_options>()));
    out.push_str(&format!("est_append_options.struct_size {}\n", offset_of!(est_append_options, struct_size)));
    out.push_str(&format!("est_append_options.expect {}\n", offset_of!(est_append_options, expect)));
    out.push_str(&format!(
        "est_append_options.expected_version {}\n",
        offset_of!(est_append_options, expected_version)
    ));
    out.push_str(&format!("est_append_options.flags {}\n", offset_of!(est_append_options, flags)));
    out.push_str(&format!("est_append_options.first_version {}\n", offset_of!(est_append_options, first_version)));
    out.push_str(&format!("est_append_result size {}\n", size_of::<est_append_result>()));
    out.push_str(&format!("est_append_result.struct_size {}\n", offset_of!(est_append_result, struct_size)));
    out.push_str(&format!("est_append_result.first_version {}\n", offset_of!(est_append_result, first_version)));
    out.push_str(&format!("est_append_result.last_version {}\n", offset_of!(est_append_result, last_version)));
    out.push_str(&format!("est_append_result.first_position {}\n", offset_of!(est_append_result, first_position)));
    out.push_str(&format!("est_append_result.last_position {}\n", offset_of!(est_append_result, last_position)));
    out.push_str(&format!("est_append_result.actual_version {}\n", offset_of!(est_append_result, actual_version)));
    out.push_str(&format!("est_read_options size {}\n", size_of::<est_read_options>()));
    out.push_str(&format!("est_read_options.struct_size {}\n", offset_of!(est_read_options, struct_size)));
    out.push_str(&format!("est_read_options.direction {}\n", offset_of!(est_read_options, direction)));
    out.push_str(&format!("est_read_options.after_version {}\n", offset_of!(est_read_options, after_version)));
    out.push_str(&format!("est_read_options.count {}\n", offset_of!(est_read_options, count)));
    out.push_str(&format!("est_read_all_options size {}\n", size_of::<est_read_all_options>()));
    out.push_str(&format!("est_read_all_options.struct_size {}\n", offset_of!(est_read_all_options, struct_size)));
    out.push_str(&format!(
        "est_read_all_options.after_position {}\n",
        offset_of!(est_read_all_options, after_position)
    ));
    out.push_str(&format!("est_read_all_options.count {}\n", offset_of!(est_read_all_options, count)));
    out.push_str(&format!("est_event size {}\n", size_of::<est_event>()));
    out.push_str(&format!("est_event.struct_size {}\n", offset_of!(est_event, struct_size)));
    out.push_str(&format!("est_event.type {}\n", offset_of!(est_event, type_)));
    out.push_str(&format!("est_event.id {}\n", offset_of!(est_event, id)));
    out.push_str(&format!("est_event.stream_type {}\n", offset_of!(est_event, stream_type)));
    out.push_str(&format!("est_event.stream_uuid {}\n", offset_of!(est_event, stream_uuid)));
    out.push_str(&format!("est_event.stream_version {}\n", offset_of!(est_event, stream_version)));
    out.push_str(&format!("est_event.global_position {}\n", offset_of!(est_event, global_position)));
    out.push_str(&format!("est_event.timestamp_ns {}\n", offset_of!(est_event, timestamp_ns)));
    out.push_str(&format!("est_event.data {}\n", offset_of!(est_event, data)));
    out.push_str(&format!("est_event.data_len {}\n", offset_of!(est_event, data_len)));
    out.push_str(&format!("est_event.content_type {}\n", offset_of!(est_event, content_type)));
    out.push_str(&format!("est_event.metadata_count {}\n", offset_of!(est_event, metadata_count)));
    out.push_str(&format!("est_event.fb {}\n", offset_of!(est_event, fb)));
    out.push_str(&format!("est_event.fb_len {}\n", offset_of!(est_event, fb_len)));
    out.push_str(&format!("est_snapshot_write_options size {}\n", size_of::<est_snapshot_write_options>()));
    out.push_str(&format!(
        "est_snapshot_write_options.struct_size {}\n",
        offset_of!(est_snapshot_write_options, struct_size)
    ));
    out.push_str(&format!(
        "est_snapshot_write_options.timestamp_ns {}\n",
        offset_of!(est_snapshot_write_options, timestamp_ns)
    ));
    out.push_str(&format!("est_stats size {}\n", size_of::<est_stats>()));
    out.push_str(&format!("est_stats.struct_size {}\n", offset_of!(est_stats, struct_size)));
    out.push_str(&format!("est_stats.events {}\n", offset_of!(est_stats, events)));
    out.push_str(&format!("est_stats.streams {}\n", offset_of!(est_stats, streams)));
    out.push_str(&format!("est_stats.bytes {}\n", offset_of!(est_stats, bytes)));
    out.push_str(&format!("est_stats.segments {}\n", offset_of!(est_stats, segments)));
    out.push_str(&format!("est_stats.first_position {}\n", offset_of!(est_stats, first_position)));
    out.push_str(&format!("est_stats.last_position {}\n", offset_of!(est_stats, last_position)));
    out.push_str(&format!("est_stats.snapshots {}\n", offset_of!(est_stats, snapshots)));
    out.push_str(&format!("est_verify_report size {}\n", size_of::<est_verify_report>()));
    out.push_str(&format!("est_verify_report.struct_size {}\n", offset_of!(est_verify_report, struct_size)));
    out.push_str(&format!("est_verify_report.segments {}\n", offset_of!(est_verify_report, segments)));
    out.push_str(&format!("est_verify_report.records {}\n", offset_of!(est_verify_report, records)));
    out.push_str(&format!("est_verify_report.events {}\n", offset_of!(est_verify_report, events)));
    out.push_str(&format!("est_verify_report.bytes {}\n", offset_of!(est_verify_report, bytes)));
    out.push_str(&format!("est_aggregate_type size {}\n", size_of::<est_aggregate_type>()));
    out.push_str(&format!("est_aggregate_type.struct_size {}\n", offset_of!(est_aggregate_type, struct_size)));
    out.push_str(&format!("est_aggregate_type.type_name {}\n", offset_of!(est_aggregate_type, type_name)));
    out.push_str(&format!("est_aggregate_type.user {}\n", offset_of!(est_aggregate_type, user)));
    out.push_str(&format!("est_aggregate_type.new_state {}\n", offset_of!(est_aggregate_type, new_state)));
    out.push_str(&format!("est_aggregate_type.apply {}\n", offset_of!(est_aggregate_type, apply)));
    out.push_str(&format!("est_aggregate_type.free_state {}\n", offset_of!(est_aggregate_type, free_state)));
    out.push_str(&format!("est_aggregate_type.encode {}\n", offset_of!(est_aggregate_type, encode)));
    out.push_str(&format!("est_aggregate_type.decode {}\n", offset_of!(est_aggregate_type, decode)));
    out.push_str(&format!(
        "est_aggregate_type.snapshot_content_type {}\n",
        offset_of!(est_aggregate_type, snapshot_content_type)
    ));
    out.push_str(&format!("est_aggregate_store_options size {}\n", size_of::<est_aggregate_store_options>()));
    out.push_str(&format!(
        "est_aggregate_store_options.struct_size {}\n",
        offset_of!(est_aggregate_store_options, struct_size)
    ));
    out.push_str(&format!(
        "est_aggregate_store_options.snapshot_every {}\n",
        offset_of!(est_aggregate_store_options, snapshot_every)
    ));
    out.push_str(&format!(
        "est_aggregate_store_options.snapshot_keep_last {}\n",
        offset_of!(est_aggregate_store_options, snapshot_keep_last)
    ));
    out.push_str(&format!(
        "est_aggregate_store_options.snapshot_keep_min_version {}\n",
        offset_of!(est_aggregate_store_options, snapshot_keep_min_version)
    ));
    out.push_str(&format!(
        "est_aggregate_store_options.cache_capacity {}\n",
        offset_of!(est_aggregate_store_options, cache_capacity)
    ));
    out.push_str(&format!("est_aggregate_stats size {}\n", size_of::<est_aggregate_stats>()));
    out.push_str(&format!("est_aggregate_stats.struct_size {}\n", offset_of!(est_aggregate_stats, struct_size)));
    out.push_str(&format!("est_aggregate_stats.loads {}\n", offset_of!(est_aggregate_stats, loads)));
    out.push_str(&format!("est_aggregate_stats.events_applied {}\n", offset_of!(est_aggregate_stats, events_applied)));
    out.push_str(&format!("est_aggregate_stats.snapshots_used {}\n", offset_of!(est_aggregate_stats, snapshots_used)));
    out.push_str(&format!(
        "est_aggregate_stats.snapshots_written {}\n",
        offset_of!(est_aggregate_stats, snapshots_written)
    ));
    out.push_str(&format!("est_aggregate_stats.cache_hits {}\n", offset_of!(est_aggregate_stats, cache_hits)));
    out.push_str(&format!("est_aggregate_stats.cache_misses {}\n", offset_of!(est_aggregate_stats, cache_misses)));
    out
}

#[test]
fn sys_structs_match_the_c_header() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let include = root.join("../../capi/include");
    let dir = std::env::temp_dir().join(format!("estoria-rust-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("layout.c");
    let exe = dir.join("layout");
    std::fs::write(&src, C_SOURCE).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let built = Command::new(&cc).arg("-std=c99").arg("-I").arg(&include).arg(&src).arg("-o").arg(&exe).status();
    match built {
        Err(e) => {
            eprintln!("no C compiler ({cc}: {e}): layout not checked");
            let _ = std::fs::remove_dir_all(&dir);
            return;
        }
        Ok(s) => assert!(s.success(), "{cc} failed on the layout program"),
    }
    let out = Command::new(&exe).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success());
    let c = String::from_utf8(out.stdout).unwrap();
    let rust = rust_layout();
    for (cl, rl) in c.lines().zip(rust.lines()) {
        assert_eq!(cl, rl, "C (left) and sys.rs (right) disagree");
    }
    assert_eq!(c.lines().count(), rust.lines().count());
}

fn header() -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join("../../capi/include/estoria/estoria.h")).unwrap()
}

fn sys_source() -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join("src/sys.rs")).unwrap()
}

#[test]
fn sys_declares_every_function_of_the_header() {
    let h = header();
    let sys = sys_source();
    let mut names = Vec::new();
    for line in h.lines().filter(|l| l.starts_with("EST_API ")) {
        let before_paren = line.split('(').next().unwrap();
        let name = before_paren.split(|c: char| !(c.is_alphanumeric() || c == '_')).rfind(|w| !w.is_empty());
        names.push(name.unwrap().to_string());
    }
    assert!(names.len() > 60, "found only {} EST_API functions", names.len());
    for n in &names {
        assert!(sys.contains(&format!("pub fn {n}(")), "sys.rs lacks {n}");
    }
}

#[test]
fn sys_constants_equal_the_header_macros() {
    let h = header();
    let sys = sys_source();
    let mut checked = 0;
    for line in h.lines() {
        let mut w = line.split_whitespace();
        if w.next() != Some("#define") {
            continue;
        }
        let (Some(name), Some(value)) = (w.next(), w.next()) else { continue };
        let value = value.trim_start_matches('(').trim_end_matches(')').trim_end_matches('u');
        let Ok(v) = value.parse::<i64>() else { continue };
        let decl = sys
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("pub const {name}:")))
            .unwrap_or_else(|| panic!("sys.rs lacks {name}"));
        let rust_value = decl.split('=').nth(1).unwrap().trim().trim_end_matches(';');
        assert_eq!(rust_value.parse::<i64>().ok(), Some(v), "{name}: header {v}, sys.rs {rust_value}");
        checked += 1;
    }
    assert!(checked > 30, "checked only {checked} macros");
}
