/* shim.h: the binding's C shims. Each runs one est_* call (or a few) and, on
 * failure, returns a strdup'd copy of est_last_error() through *msg, read in
 * the same C call as the failure. The caller frees *msg. */
#ifndef ESTORIA_GO_SHIM_H_
#define ESTORIA_GO_SHIM_H_
#include <stddef.h>
#include <stdint.h>
#include <estoria/estoria.h>

/* int64 per event in gs_append's descriptor, and in its stamps. */
#define GS_DESC 7
#define GS_STAMP 5

est_status gs_store_open(const char *uri, const est_store_options *o, est_store **out, char **msg);
est_status gs_append(est_store *s, const char *stream_id, const char *buf, const int64_t *desc, size_t n, const est_append_options *o, est_append_result *r, est_iter **written, int64_t *stamps, char **msg);
est_status gs_read_stream(est_store *s, const char *id, const est_read_options *o, est_iter **out, char **msg);
est_status gs_read_all(est_store *s, const est_read_all_options *o, est_iter **out, char **msg);
est_status gs_next_batch(est_iter *it, est_event *ev, size_t cap, size_t *count, const char **pairs, size_t pairs_cap, size_t *pairs_needed, char **msg);
est_status gs_fill_metadata(const est_event *ev, size_t count, const char **pairs, char **msg);
est_status gs_metadata(const est_event *ev, const char **pairs, char **msg);
est_status gs_delete_stream(est_store *s, const char *id, int64_t to, char **msg);
est_status gs_snapshot_write(est_store *s, const char *id, int64_t version, const void *data, size_t len, const char *content_type, int64_t ts, char **msg);
est_status gs_snapshot_read(est_store *s, const char *id, int64_t max_version, est_snapshot **out, char **msg);
est_status gs_snapshot_prune(est_store *s, const char *id, int64_t keep_last, int64_t min_version, char **msg);
est_status gs_store_sync(est_store *s, char **msg);
est_status gs_store_stats(est_store *s, est_stats *stats, char **msg);
est_status gs_store_verify(est_store *s, uintptr_t progress, est_verify_report *r, char **msg);
est_status gs_store_compact(est_store *s, uintptr_t progress, est_compact_report *r, char **msg);
est_status gs_list_streams(est_store *s, const char *after, est_stream_info *infos, size_t cap, size_t *count, char **msg);
void gs_set_log_handler(int on);
/* The host's callbacks (host.go): `user` is the store's host cell. */
void gs_host_options(est_store_options *o, void *user, int clock, int random, int log);
est_status gs_store_maintain(est_store *s, int64_t budget_us, int32_t *pending, int32_t *compacting, char **msg);
est_status gs_store_compact_schedule(est_store *s, char **msg);
est_status gs_store_cancel(est_store *s, char **msg);
est_status gs_aggregate_store_add_hook(est_aggregate_store *a, int32_t stage, void *user, char **msg);
est_status gs_hook_add_metadata(est_hook_context *ctx, const char *key, const char *value, char **msg);
est_status gs_aggregate_store_new(est_store *s, const char *type_name, void *user, int codec, const char *snapshot_content_type, const est_aggregate_store_options *o, est_aggregate_store **out, char **msg);
est_status gs_aggregate_new(est_aggregate_store *a, const est_uuid *uuid, est_aggregate **out, char **msg);
est_status gs_aggregate_load(est_aggregate_store *a, const est_uuid *uuid, int64_t to_version, est_aggregate **out, char **msg);
/* est_aggregate_load_at (experimental in the header). */
est_status gs_aggregate_load_at(est_aggregate_store *a, const est_uuid *uuid, int64_t timestamp_ns, est_aggregate **out, char **msg);
est_status gs_aggregate_append(est_aggregate *agg, const char *type, const void *data, size_t len, const char *meta, size_t meta_count, char **msg);
est_status gs_aggregate_save(est_aggregate *agg, est_append_result *r, char **msg);
est_status gs_aggregate_store_stats(est_aggregate_store *a, est_aggregate_stats *stats, char **msg);

#ifdef EST_EXPERIMENTAL
/* Projections (projection.go): `user` is the projection's cell, whose
 * handle (first, so that it reads as a handle cell) reaches the Go state; its
 * handler is the Go callback goEstProject, given the string table below. */
typedef struct gs_projection_cell {
  uintptr_t handle;  /* a runtime/cgo.Handle */
  const char **strs; /* per event: type, stream type, content type, then key and value per metadata pair */
  size_t *lens;      /* strlen of each */
  size_t cap;
} gs_projection_cell;
gs_projection_cell *gs_projection_cell_new(uintptr_t handle);
void gs_projection_cell_free(gs_projection_cell *c);
est_status gs_projection_new(est_store *s, const char *name, int32_t version, void *user, const char *prefix,
                             const char *const *types, size_t ntypes, uint32_t batch_max, uint32_t checkpoint_every,
                             uint32_t flags, est_projection **out, char **msg);
est_status gs_projection_run(est_projection *p, int64_t budget_us, est_projection_report *r, char **msg);
est_status gs_projection_rebuild(est_store *s, const char *name, int32_t next_version, const char *reason, char **msg);
est_status gs_projection_cutover(est_store *s, const char *name, int32_t version, char **msg);
est_status gs_projection_active_version(est_store *s, const char *name, int32_t *version, char **msg);
#endif

#endif
