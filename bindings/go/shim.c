/* shim.c: the binding's C shims (declared in shim.h); see cgo.go. */
#define EST_EXPERIMENTAL 1 /* est_aggregate_load_at, the hosts' calls, est_projection_* */
#include <stdlib.h>
#include <string.h>
#include "shim.h"

// gs_fail keeps the thread's message when a call failed.
static est_status gs_fail(est_status st, char **msg) {
  if (st < 0 && msg != NULL) *msg = strdup(est_last_error());
  return st;
}

est_status gs_store_open(const char *uri, const est_store_options *o, est_store **out, char **msg) {
  return gs_fail(est_store_open(uri, o, out), msg);
}

// gs_stamps copies what the store gave each written event into stamps
// (GS_STAMP int64 per event, room for n events), sets *got to the number of
// events, and closes the iterator.
static est_status gs_stamps(est_iter *it, int64_t *stamps, size_t n, size_t *got) {
  enum { kViews = 64 };
  est_event ev[kViews];
  ev[0].struct_size = sizeof(est_event);
  *got = 0;
  est_status st = EST_OK;
  while (st == EST_OK) {
    size_t count = 0;
    st = est_iter_next_batch(it, ev, kViews, &count);
    for (size_t i = 0; i < count; i++, ++*got) {
      if (*got == n) continue;  /* counted, not kept: the caller sees the mismatch */
      int64_t *out = stamps + GS_STAMP * *got;
      memcpy(out, ev[i].id.bytes, 16);
      out[2] = ev[i].timestamp_ns;
      out[3] = ev[i].stream_version;
      out[4] = ev[i].global_position;
    }
  }
  est_iter_close(it);
  return st == EST_END ? EST_OK : st;
}

// gs_append builds a batch from a packed buffer and appends it, all in one
// crossing. desc holds GS_DESC int64 per event: type offset, content type
// offset, data offset, data length, metadata count, ID offset (16 bytes; -1 =
// none) and timestamp (0 = none); the metadata pairs follow the data as
// "key\0value\0", in any order. *written (NULL ok) receives the written
// events; with stamps (NULL ok, GS_STAMP int64 per event) an append that
// wrote its batch fills stamps instead and leaves *written NULL: the
// events written are the batch's, and only what the store gave them is new.
est_status gs_append(est_store *s, const char *stream_id, const char *buf, const int64_t *desc,
                     size_t n, const est_append_options *o, est_append_result *r, est_iter **written,
                     int64_t *stamps, char **msg) {
  est_batch *b = NULL;
  est_status st = est_batch_new(&b);
  if (st != EST_OK) return gs_fail(st, msg);
  for (size_t i = 0; i < n && st == EST_OK; i++) {
    const int64_t *d = desc + GS_DESC * i;
    st = est_batch_add(b, buf + d[0], buf + d[2], (size_t)d[3], buf + d[1]);
    const char *p = buf + d[2] + d[3];
    for (int64_t m = 0; m < d[4] && st == EST_OK; m++) {
      const char *k = p;
      const char *v = k + strlen(k) + 1;
      p = v + strlen(v) + 1;
      st = est_batch_add_metadata(b, k, v);
    }
    if (st == EST_OK && d[5] >= 0) {
      est_uuid id;
      memcpy(id.bytes, buf + d[5], 16);
      st = est_batch_set_id(b, &id);
    }
    if (st == EST_OK && d[6] != 0) st = est_batch_set_timestamp(b, d[6]);
  }
  if (st == EST_OK) st = est_append_batch(s, stream_id, b, o, r, written);
  if (st == EST_OK && stamps != NULL && written != NULL && !(r->flags & EST_APPEND_DUPLICATE)) {
    est_iter *it = *written;
    *written = NULL;
    size_t got = 0;
    st = gs_stamps(it, stamps, n, &got);
    if (st == EST_OK && got != n) {
      est_batch_free(b);
      if (msg != NULL) *msg = strdup("append: the store wrote another number of events than the batch holds");
      return EST_ERR_INTERNAL;
    }
  }
  st = gs_fail(st, msg);
  est_batch_free(b);
  return st;
}

est_status gs_read_stream(est_store *s, const char *id, const est_read_options *o, est_iter **out,
                                 char **msg) {
  return gs_fail(est_read_stream(s, id, o, out), msg);
}

est_status gs_read_all(est_store *s, const est_read_all_options *o, est_iter **out, char **msg) {
  return gs_fail(est_read_all(s, o, out), msg);
}

/* Fetches the next batch of views and, in the same crossing, the metadata
 * pointers of all of them, event after event, into pairs (2 per pair) when
 * pairs_cap (in pairs) suffices; *pairs_needed says how many there are. */
est_status gs_next_batch(est_iter *it, est_event *ev, size_t cap, size_t *count, const char **pairs,
                         size_t pairs_cap, size_t *pairs_needed, char **msg) {
  ev[0].struct_size = sizeof(est_event);
  est_status st = est_iter_next_batch(it, ev, cap, count);
  if (st != EST_OK) return gs_fail(st, msg);
  size_t need = 0;
  for (size_t i = 0; i < *count; i++) need += ev[i].metadata_count;
  *pairs_needed = need;
  if (need == 0 || need > pairs_cap) return EST_OK;
  return gs_fill_metadata(ev, *count, pairs, msg);
}

/* Fills pairs with the metadata pointers of events[0..count), in order. */
est_status gs_fill_metadata(const est_event *ev, size_t count, const char **pairs, char **msg) {
  for (size_t i = 0; i < count; i++) {
    est_status st = gs_metadata(&ev[i], pairs, msg);
    if (st != EST_OK) return st;
    pairs += 2 * ev[i].metadata_count;
  }
  return EST_OK;
}

// gs_metadata fills pairs[2*i], pairs[2*i+1] with every metadata pair of ev.
est_status gs_metadata(const est_event *ev, const char **pairs, char **msg) {
  for (size_t i = 0; i < ev->metadata_count; i++) {
    est_status st = est_event_metadata(ev, i, &pairs[2 * i], &pairs[2 * i + 1]);
    if (st != EST_OK) return gs_fail(st, msg);
  }
  return EST_OK;
}

est_status gs_delete_stream(est_store *s, const char *id, int64_t to, char **msg) {
  return gs_fail(est_delete_stream(s, id, to), msg);
}

est_status gs_snapshot_write(est_store *s, const char *id, int64_t version, const void *data, size_t len,
                                    const char *content_type, int64_t ts, char **msg) {
  est_snapshot_write_options o = EST_SNAPSHOT_WRITE_OPTIONS_INIT;
  o.timestamp_ns = ts;
  return gs_fail(est_snapshot_write(s, id, version, data, len, content_type, &o), msg);
}

est_status gs_snapshot_read(est_store *s, const char *id, int64_t max_version, est_snapshot **out,
                                   char **msg) {
  return gs_fail(est_snapshot_read(s, id, max_version, out), msg);
}

est_status gs_snapshot_prune(est_store *s, const char *id, int64_t keep_last, int64_t min_version,
                                    char **msg) {
  return gs_fail(est_snapshot_prune(s, id, keep_last, min_version), msg);
}

est_status gs_store_sync(est_store *s, char **msg) { return gs_fail(est_store_sync(s), msg); }

est_status gs_store_stats(est_store *s, est_stats *stats, char **msg) {
  stats->struct_size = sizeof(est_stats);
  return gs_fail(est_store_stats(s, stats), msg);
}

#include "_cgo_export.h"

/* progress is a cgo.Handle value (0 = no callback); see admin.go. */
static void tr_progress(void *user, uint64_t done, uint64_t total) {
  goEstProgress((uintptr_t)user, done, total);
}

est_status gs_store_verify(est_store *s, uintptr_t progress, est_verify_report *r, char **msg) {
  r->struct_size = sizeof(est_verify_report);
  return gs_fail(est_store_verify(s, progress ? tr_progress : NULL, (void *)progress, r), msg);
}

est_status gs_store_compact(est_store *s, uintptr_t progress, est_compact_report *r, char **msg) {
  r->struct_size = sizeof(est_compact_report);
  return gs_fail(est_store_compact(s, progress ? tr_progress : NULL, (void *)progress, r), msg);
}

est_status gs_list_streams(est_store *s, const char *after, est_stream_info *infos, size_t cap, size_t *count,
                           char **msg) {
  infos[0].struct_size = sizeof(est_stream_info);
  return gs_fail(est_list_streams(s, after, infos, cap, count), msg);
}

static void tr_log(void *user, int32_t level, const char *message) {
  (void)user;
  goEstLog(level, (char *)message);
}

void gs_set_log_handler(int on) { est_set_log_handler(on ? tr_log : NULL, NULL); }

/* ------------------------------------------------------------ aggregates */

/* The Go callbacks (aggregate.go, //export) take non-const pointers; these
 * trampolines give the vtable its exact C signatures. */

static est_status tr_new_state(void *user, const est_uuid *id, void **state) {
  return goEstNewState(user, (est_uuid *)id, state);
}
static est_status tr_apply(void *user, void *state, const est_event *event) {
  return goEstApply(user, state, (est_event *)event);
}
static void tr_free_state(void *user, void *state) { goEstFreeState(user, state); }
static est_status tr_encode(void *user, const void *state, est_buffer *out) {
  return goEstEncode(user, (void *)state, out);
}
static est_status tr_decode(void *user, const uint8_t *data, size_t len, void **state) {
  return goEstDecode(user, (uint8_t *)data, len, state);
}

est_status gs_aggregate_store_new(est_store *s, const char *type_name, void *user, int codec,
                                  const char *snapshot_content_type, const est_aggregate_store_options *o,
                                  est_aggregate_store **out, char **msg) {
  est_aggregate_type t = EST_AGGREGATE_TYPE_INIT;
  t.type_name = type_name;
  t.user = user;
  t.new_state = tr_new_state;
  t.apply = tr_apply;
  t.free_state = tr_free_state;
  if (codec) {
    t.encode = tr_encode;
    t.decode = tr_decode;
  }
  t.snapshot_content_type = snapshot_content_type;
  return gs_fail(est_aggregate_store_new(s, &t, o, out), msg);
}

static est_status tr_hook(void *user, int32_t stage, est_hook_context *ctx, const char *aggregate_id,
                          int64_t version) {
  return goEstHook(user, stage, ctx, (char *)aggregate_id, version);
}

est_status gs_aggregate_store_add_hook(est_aggregate_store *a, int32_t stage, void *user, char **msg) {
  return gs_fail(est_aggregate_store_add_hook(a, stage, tr_hook, user), msg);
}

est_status gs_hook_add_metadata(est_hook_context *ctx, const char *key, const char *value, char **msg) {
  return gs_fail(est_hook_add_metadata(ctx, key, value), msg);
}

est_status gs_aggregate_new(est_aggregate_store *a, const est_uuid *uuid, est_aggregate **out, char **msg) {
  return gs_fail(est_aggregate_new(a, uuid, out), msg);
}

est_status gs_aggregate_load(est_aggregate_store *a, const est_uuid *uuid, int64_t to_version,
                             est_aggregate **out, char **msg) {
  return gs_fail(est_aggregate_load(a, uuid, to_version, out), msg);
}

est_status gs_aggregate_load_at(est_aggregate_store *a, const est_uuid *uuid, int64_t timestamp_ns,
                                est_aggregate **out, char **msg) {
  return gs_fail(est_aggregate_load_at(a, uuid, timestamp_ns, out), msg);
}

/* Queues one event; its metadata pairs follow in meta as "key\0value\0". */
est_status gs_aggregate_append(est_aggregate *agg, const char *type, const void *data, size_t len,
                               const char *meta, size_t meta_count, char **msg) {
  est_status st = est_aggregate_append(agg, type, data, len, NULL);
  for (size_t i = 0; i < meta_count && st == EST_OK; i++) {
    const char *k = meta;
    const char *v = k + strlen(k) + 1;
    meta = v + strlen(v) + 1;
    st = est_aggregate_append_metadata(agg, k, v);
  }
  return gs_fail(st, msg);
}

est_status gs_aggregate_save(est_aggregate *agg, est_append_result *r, char **msg) {
  return gs_fail(est_aggregate_save(agg, r), msg);
}

est_status gs_aggregate_store_stats(est_aggregate_store *a, est_aggregate_stats *stats, char **msg) {
  stats->struct_size = sizeof(est_aggregate_stats);
  return gs_fail(est_aggregate_store_stats(a, stats), msg);
}

/* ----------------------------------------------------------------- hosts */

static int64_t tr_clock(void *user) { return goEstClock(user); }
static void tr_random(void *user, void *buf, size_t len) { goEstRandom(user, buf, len); }
static void tr_store_log(void *user, int32_t level, const char *message) {
  goEstStoreLog(user, level, (char *)message);
}

void gs_host_options(est_store_options *o, void *user, int clock, int random, int log) {
  o->host_user = user;
  if (clock) o->clock_ns = tr_clock;
  if (random) o->random_bytes = tr_random;
  if (log) {
    o->log = tr_store_log;
    o->log_user = user;
  }
}

est_status gs_store_maintain(est_store *s, int64_t budget_us, int32_t *pending, int32_t *compacting, char **msg) {
  est_maintain_report r = EST_MAINTAIN_REPORT_INIT;
  est_status st = gs_fail(est_store_maintain(s, budget_us, &r), msg);
  *pending = r.pending;
  *compacting = r.compacting;
  return st;
}

est_status gs_store_compact_schedule(est_store *s, char **msg) { return gs_fail(est_store_compact_schedule(s), msg); }

est_status gs_store_cancel(est_store *s, char **msg) { return gs_fail(est_store_cancel(s), msg); }

/* ----------------------------------------------------------- projections */

/* Before each handler call the trampoline lays out, for the Go side, every
 * string of the views with its length (C's strlen, not a byte loop in Go):
 * per event its type, stream type and content type, then key and value of
 * each metadata pair. The Go callback takes untyped pointers: _cgo_export.h
 * may see estoria.h without its experimental section (est_txn). */
static est_status tr_project(void *user, const est_event *events, size_t count, est_txn *tx) {
  gs_projection_cell *c = (gs_projection_cell *)user;
  size_t need = 0;
  for (size_t i = 0; i < count; i++) need += 3 + 2 * events[i].metadata_count;
  if (need > c->cap) {
    size_t cap = c->cap * 2 > need ? c->cap * 2 : need;
    const char **strs = (const char **)realloc((void *)c->strs, cap * sizeof *strs);
    if (strs != NULL) c->strs = strs;
    size_t *lens = (size_t *)realloc(c->lens, cap * sizeof *lens);
    if (lens != NULL) c->lens = lens;
    if (strs == NULL || lens == NULL) {
      est_set_error("allocating the projection's string table");
      return EST_ERR_NO_MEMORY;
    }
    c->cap = cap;
  }
  const char **s = c->strs;
  for (size_t i = 0; i < count; i++) {
    const est_event *e = &events[i];
    *s++ = e->type;
    *s++ = e->stream_type;
    *s++ = e->content_type;
    for (size_t j = 0; j < e->metadata_count; j++) {
      if (e->metadata != NULL) {
        *s++ = e->metadata[j].key;
        *s++ = e->metadata[j].value;
        continue;
      }
      est_status st = est_event_metadata(e, j, &s[0], &s[1]);
      if (st != EST_OK) return st;
      s += 2;
    }
  }
  for (size_t k = 0; k < need; k++) c->lens[k] = strlen(c->strs[k]);
  return goEstProject(user, (void *)events, count, (void *)tx, (void *)c->strs, c->lens);
}

gs_projection_cell *gs_projection_cell_new(uintptr_t handle) {
  gs_projection_cell *c = (gs_projection_cell *)calloc(1, sizeof *c);
  if (c != NULL) c->handle = handle;
  return c;
}

void gs_projection_cell_free(gs_projection_cell *c) {
  if (c == NULL) return;
  free((void *)c->strs);
  free(c->lens);
  free(c);
}

est_status gs_projection_new(est_store *s, const char *name, int32_t version, void *user, const char *prefix,
                             const char *const *types, size_t ntypes, uint32_t batch_max, uint32_t checkpoint_every,
                             uint32_t flags, est_projection **out, char **msg) {
  est_projection_handler h = EST_PROJECTION_HANDLER_INIT;
  h.name = name;
  h.version = version;
  h.user = user;
  h.handle = tr_project;
  est_projection_options o = EST_PROJECTION_OPTIONS_INIT;
  o.stream_prefix = prefix;
  o.event_types = types;
  o.event_types_len = ntypes;
  o.batch_max = batch_max;
  o.checkpoint_every = checkpoint_every;
  o.flags = flags;
  return gs_fail(est_projection_new(s, &h, &o, out), msg);
}

est_status gs_projection_run(est_projection *p, int64_t budget_us, est_projection_report *r, char **msg) {
  r->struct_size = sizeof(est_projection_report);
  return gs_fail(est_projection_run(p, budget_us, r), msg);
}

est_status gs_projection_rebuild(est_store *s, const char *name, int32_t next_version, const char *reason, char **msg) {
  return gs_fail(est_projection_rebuild(s, name, next_version, reason), msg);
}

est_status gs_projection_cutover(est_store *s, const char *name, int32_t version, char **msg) {
  return gs_fail(est_projection_cutover(s, name, version), msg);
}

est_status gs_projection_active_version(est_store *s, const char *name, int32_t *version, char **msg) {
  return gs_fail(est_projection_active_version(s, name, version), msg);
}
