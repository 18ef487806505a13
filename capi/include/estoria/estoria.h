/*
 * estoria.h: the C ABI of estoria, an embeddable event-sourcing engine.
 *
 * Everything a program links against is declared here. The header compiles
 * as C99 and as C++; nothing of the engine's C++ (types, exceptions,
 * allocators) crosses it.
 *
 * Conventions, for every call below:
 * - Every fallible call returns an est_status: EST_OK (0), EST_END (1, an
 *   iterator is exhausted: not an error) or a negative error code. Codes are
 *   pinned and never renumbered; treat an unknown negative code as an error.
 *   On failure, est_last_error() describes it on the calling thread.
 * - A pointer parameter not marked "NULL ok" is required: NULL is
 *   EST_ERR_INVALID_ARGUMENT. A (NULL, 0) pair is an empty byte range.
 * - Handles are opaque. Each constructor (_new, _open) has one destroyer
 *   (_free, _close) that accepts NULL. On failure, *out handles are NULL.
 * - Option structs start with `uint32_t struct_size` and have an _INIT macro
 *   and an est_<struct>_init() function. The library reads only the bytes
 *   the caller's struct_size covers; a size below the first release is
 *   EST_ERR_INVALID_ARGUMENT, a larger one is accepted only when the bytes
 *   the library does not know are zero (else EST_ERR_UNSUPPORTED); one
 *   above 4096 is taken for an uninitialised field (EST_ERR_INVALID_ARGUMENT).
 *   Output structs are written only within their struct_size. NULL options mean
 *   the defaults.
 * - Views returned by an iterator point into memory that the iterator owns
 *   and stay valid until the next call on that iterator or its close.
 *   Nothing else is borrowed, and the library keeps no caller pointer after
 *   a call returns.
 * - Threads: a store handle may be used from many threads at once; an
 *   iterator, batch or aggregate from one thread at a time. est_store_close
 *   must not race other calls on the same store: it is the last call on it.
 * - Closing a store does not invalidate its children: iterators then return
 *   EST_ERR_CLOSED, and handles may be freed in any order.
 * - A handle must not be used across fork(): a call from the child is
 *   EST_ERR_INVALID_ARGUMENT, and the child's _close/_free of it frees only
 *   the handle, leaving what the parent owns (locks, threads) alone.
 * - No input can crash the library: values, strings and byte ranges are
 *   checked, and bad input is EST_ERR_INVALID_ARGUMENT with the store
 *   unchanged. An est_event passed back must be one the library filled and
 *   that is still valid.
 */
#ifndef ESTORIA_ESTORIA_H_
#define ESTORIA_ESTORIA_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define EST_API
#elif defined(__GNUC__)
#define EST_API __attribute__((visibility("default")))
#else
#define EST_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version: major << 16 | minor. Bindings refuse another major. */
#define EST_ABI_VERSION_MAJOR 1
#define EST_ABI_VERSION_MINOR 3
#define EST_ABI_VERSION ((EST_ABI_VERSION_MAJOR << 16) | EST_ABI_VERSION_MINOR)

/* ---------------------------------------------------------------- status */

typedef int32_t est_status;

#define EST_OK 0
#define EST_END 1                    /* an iterator is exhausted; not an error */
#define EST_ERR_INVALID_ARGUMENT (-1)
#define EST_ERR_NOT_FOUND (-2)
#define EST_ERR_VERSION_MISMATCH (-3)
#define EST_ERR_CLOSED (-4)
#define EST_ERR_IO (-5)
#define EST_ERR_CORRUPTION (-6)
#define EST_ERR_BUSY (-7)            /* the store is locked by another writer */
#define EST_ERR_UNSUPPORTED (-8)     /* the backend lacks the capability */
#define EST_ERR_NO_MEMORY (-9)
#define EST_ERR_INTERNAL (-10)
#define EST_ERR_APPLIED_PARTIALLY (-11) /* an aggregate save appended its events but could not apply them: reload */
#define EST_ERR_CANCELLED (-12)      /* est_store_cancel stopped the call; the store is as it was */

/** The name of a status ("EST_OK", "EST_ERR_NOT_FOUND", ...); "EST_UNKNOWN"
 *  for a code this library does not know. Never NULL; static storage. */
EST_API const char *est_status_name(est_status status);

/** This thread's message for its last failed call; "" when there was none.
 *  Never NULL. Valid until the next est_* call on this thread. A successful
 *  call (and EST_END) leaves the message as it was, like errno: read it only
 *  right after a call has returned an error. */
EST_API const char *est_last_error(void);

/** EST_ABI_VERSION of the library actually loaded. */
EST_API uint32_t est_abi_version(void);

/* ---------------------------------------------------------- IDs and UUIDs */

typedef struct est_uuid {
  uint8_t bytes[16];
} est_uuid;

/** Longest text form of an ID, "type_uuid", with its NUL: a 255-byte type,
 *  "_", 36 UUID characters and the terminator. */
#define EST_ID_MAX_LEN 293
/** Longest type name in bytes, without the NUL. */
#define EST_TYPE_MAX_LEN 255

/** Fills *out with a random (version 4) UUID from the kernel's generator. */
EST_API est_status est_uuid_v4(est_uuid *out);
/** Fills *out with a time-ordered (version 7) UUID; strictly increasing
 *  within this process. */
EST_API est_status est_uuid_v7(est_uuid *out);

/** Writes "type_uuid" (UUID canonical lower-case) with its NUL into buf.
 *  @return EST_ERR_INVALID_ARGUMENT when the type is not a valid type name
 *          (1 to 255 bytes of UTF-8 without NUL or control characters, not
 *          starting or ending with '_') or buf is too small; nothing is
 *          written then. EST_ID_MAX_LEN always suffices. */
EST_API est_status est_id_format(const char *type, const est_uuid *uuid, char *buf, size_t buf_len);

/** Parses the text form of an ID; the exact inverse of est_id_format, so
 *  upper-case or unhyphenated UUIDs are refused. The type (with its NUL) is
 *  written to type_buf and the UUID to *uuid.
 *  @return EST_ERR_INVALID_ARGUMENT when the text is not an ID or type_buf
 *          is too small (EST_TYPE_MAX_LEN + 1 always suffices); nothing is
 *          written then. */
EST_API est_status est_id_parse(const char *text, char *type_buf, size_t type_buf_len, est_uuid *uuid);

/* ------------------------------------------------------------------ store */

typedef struct est_store est_store;

#define EST_LOG_ERROR 0
#define EST_LOG_WARNING 1
#define EST_LOG_INFO 2

/** Receives what the library cannot return to a caller: a failed background
 *  flush, a failed snapshot write after a save, recovery cutting a torn
 *  tail. Called from any thread, possibly concurrently; must not call back
 *  into the library. `message` is valid during the call only. */
typedef void (*est_log_fn)(void *user, int32_t level, const char *message);

#define EST_SYNC_ALWAYS 0    /* durable before an append returns (default) */
#define EST_SYNC_INTERVAL 1  /* flushed in the background every sync_interval_ms */
#define EST_SYNC_NONE 2      /* written to the OS; flushed when it pleases */

#define EST_THREADS_LIBRARY 0 /* the library starts the threads it needs (default) */
#define EST_THREADS_NONE 1    /* none: the host calls est_store_maintain from its own loop */

/* The host fields (from threads on; ABI 1.2) are for programs that own
 * their threads, clock and randomness, such as game engines: doc/abi.md
 * "Hosts". The callbacks are called from the thread making a call on the
 * store (or from est_store_maintain), possibly concurrently when the store
 * is used from several threads; they must not call back into the library. */
typedef struct est_store_options {
  uint32_t struct_size;
  int32_t sync_mode;        /* EST_SYNC_ALWAYS (default), EST_SYNC_INTERVAL, EST_SYNC_NONE */
  int32_t sync_interval_ms; /* 0 = the default (100) */
  int32_t read_only;        /* 0 or 1 (other values are refused); also file:PATH?mode=ro: either asks for it */
  int32_t threads;          /* EST_THREADS_LIBRARY (default) or EST_THREADS_NONE */
  /* NULL = the system clock. Unix nanoseconds: event and snapshot
     timestamps, the time in UUIDv7 IDs, the interval flush's schedule. */
  int64_t (*clock_ns)(void *user);
  /* NULL = the library's (ChaCha20 keyed from getrandom). Fills buf with
     len random bytes: the random bits of the IDs the store makes. */
  void (*random_bytes)(void *user, void *buf, size_t len);
  void *host_user;          /* passed to clock_ns and random_bytes */
  est_log_fn log;           /* NULL = the process-wide handler; else this store's messages go here */
  void *log_user;           /* passed to log */
} est_store_options;

#define EST_STORE_OPTIONS_INIT {sizeof(est_store_options), EST_SYNC_ALWAYS, 0, 0, EST_THREADS_LIBRARY, NULL, NULL, NULL, NULL, NULL}
EST_API void est_store_options_init(est_store_options *options);

/**
 * Opens a store.
 * URIs: "memory:" (a fresh private in-memory store each time);
 * "file:PATH", "file:///ABSOLUTE/PATH" or a bare PATH: the embedded file
 * store, a directory created if absent (one writer at a time: a second open
 * is EST_ERR_BUSY naming the holder's PID). Settings go in the query,
 * "&"-separated: segment_bytes=N, preallocate_bytes=N, checkpoint_bytes=N,
 * mode=ro|rw (doc/abi.md "Store URIs" gives their ranges and defaults).
 * A read-only open (mode=ro or options.read_only) takes no lock: it works
 * beside a writer in this or another process, sees only whole batches the
 * writer has published (durable ones under EST_SYNC_ALWAYS), in order, and
 * catches up with new ones at each call; calls that write are
 * EST_ERR_UNSUPPORTED. "postgresql://" and "postgres://": the PostgreSQL store (a libpq
 * connection URI; pool_size=N, schema=NAME and page_size=N (events a read
 * holds in memory at once, default 1000) in the query).
 * @param options NULL ok: the defaults.
 * @param out     receives the store; free it with est_store_close.
 * @return EST_OK; EST_ERR_INVALID_ARGUMENT (unknown scheme, bad options),
 *         EST_ERR_UNSUPPORTED, EST_ERR_BUSY, EST_ERR_IO, ...
 */
EST_API est_status est_store_open(const char *uri, const est_store_options *options, est_store **out);

/** Closes the store and frees the handle; NULL is a no-op. Iterators made
 *  from it stay valid handles but then return EST_ERR_CLOSED. */
EST_API void est_store_close(est_store *store);

/* ------------------------------------------------------------------ batch */

typedef struct est_batch est_batch;

/** Creates an empty batch of events to append; free it with est_batch_free. */
EST_API est_status est_batch_new(est_batch **out);

/** Adds an event. type is a type name (see est_id_format); data is copied.
 *  @param content_type NULL ok: "" (undeclared); copied verbatim.
 *  @return EST_ERR_INVALID_ARGUMENT for a bad type name. */
EST_API est_status est_batch_add(est_batch *batch, const char *type, const void *data, size_t data_len,
                                 const char *content_type);

/** Adds a metadata pair to the last added event. Keys are non-empty.
 *  Metadata before any event or a duplicate key on one event is
 *  EST_ERR_INVALID_ARGUMENT. Keys starting "estoria." are reserved for the
 *  toolkit's own components (Estoria's event-stream snapshot store writes
 *  them through the event store): a store accepts and returns them; the
 *  aggregate calls refuse them in what user code adds. */
EST_API est_status est_batch_add_metadata(est_batch *batch, const char *key, const char *value);

/** Sets the ID of the last added event; every append keeps it (events
 *  without one get a new UUIDv7 from the store). A batch whose events all
 *  carry IDs is an idempotent append: see EST_APPEND_DUPLICATE. */
EST_API est_status est_batch_set_id(est_batch *batch, const est_uuid *id);

/** Sets the timestamp (unix ns, > 0) of the last added event; kept only by
 *  an append with EST_APPEND_RESTORE. */
EST_API est_status est_batch_set_timestamp(est_batch *batch, int64_t timestamp_ns);

/** The batch as a FlatBuffers WritableEventBatch (file identifier "ESTB"),
 *  ready for est_append. *bytes is owned by the batch and valid until the
 *  next est_batch_add*, est_batch_set_* or est_batch_free on it.
 *  @return EST_ERR_INVALID_ARGUMENT when the batch holds no event. */
EST_API est_status est_batch_bytes(est_batch *batch, const uint8_t **bytes, size_t *len);

/** Frees the batch; NULL is a no-op. */
EST_API void est_batch_free(est_batch *batch);

/* ----------------------------------------------------------------- append */

typedef struct est_iter est_iter;

#define EST_EXPECT_ANY 0       /* no check; expected_version is ignored */
#define EST_EXPECT_VERSION 1   /* the stream's version must be expected_version */
#define EST_EXPECT_NO_STREAM 2 /* the stream's version must be 0 */
#define EST_EXPECT_STREAM_EXISTS 3 /* the stream must exist: written and not wholly deleted
                                      (a stream truncated empty exists) */

#define EST_APPEND_RESTORE 1u  /* keep each event's id and timestamp_ns, and start a
                                  stream that does not exist at first_version (import) */

typedef struct est_append_options {
  uint32_t struct_size;
  int32_t expect;           /* EST_EXPECT_ANY (default), EST_EXPECT_VERSION, EST_EXPECT_NO_STREAM */
  int64_t expected_version; /* with EST_EXPECT_VERSION; 0 = the stream must be empty */
  uint32_t flags;           /* EST_APPEND_RESTORE */
  int64_t first_version;    /* with EST_APPEND_RESTORE; 0 = 1 */
} est_append_options;

#define EST_APPEND_OPTIONS_INIT {sizeof(est_append_options), EST_EXPECT_ANY, 0, 0, 0}
EST_API void est_append_options_init(est_append_options *options);

typedef struct est_append_result {
  uint32_t struct_size;
  int64_t first_version, last_version;
  int64_t first_position, last_position; /* 0 where the backend has no global order */
  int64_t actual_version;                /* the stream's version after the call, also on VERSION_MISMATCH */
  uint32_t flags;                        /* EST_APPEND_DUPLICATE (written only when struct_size covers it) */
} est_append_result;

/* est_append_result.flags: the batch was already in the stream (every
 * event carries a caller-set ID, est_batch_set_id, and those IDs are in the
 * stream in order at the expected place: the versions after the expected
 * one for EST_EXPECT_VERSION, the first ones for EST_EXPECT_NO_STREAM, the
 * last ones for EST_EXPECT_ANY and EST_EXPECT_STREAM_EXISTS). Nothing was
 * written; the result is the original append's and `written` yields the
 * original events. Some but not all of the IDs there is
 * EST_ERR_VERSION_MISMATCH. IDs are compared, not payloads. So an append
 * whose outcome is unknown (EST_ERR_IO from PostgreSQL: "may have
 * committed") is safe to retry with the same batch and expectation. */
#define EST_APPEND_DUPLICATE 1u

#define EST_APPEND_RESULT_INIT {sizeof(est_append_result), 0, 0, 0, 0, 0, 0}
EST_API void est_append_result_init(est_append_result *result);

/**
 * Appends a FlatBuffers WritableEventBatch to `stream_id` ("type_uuid")
 * atomically: all events or none. The bytes are verified and copied; nothing
 * is kept after the call returns. Strings inside the batch must not contain
 * NUL; metadata must be sorted by key and unique ("estoria." keys are
 * accepted: see est_batch_add_metadata).
 * @param options NULL ok: EST_EXPECT_ANY.
 * @param result  NULL ok; filled on EST_OK and on EST_ERR_VERSION_MISMATCH.
 * @param written NULL ok; receives an iterator over the written events,
 *                exactly as a later read returns them.
 * A batch whose events all carry IDs (est_batch_set_id) and are already in
 * the stream at the expected place writes nothing: EST_OK with
 * EST_APPEND_DUPLICATE in result->flags and the original result.
 * @return EST_OK; EST_ERR_VERSION_MISMATCH when the expectation fails (the
 *         stream is unchanged, result->actual_version says where it is), or
 *         when some but not all of the batch's IDs are there;
 *         EST_ERR_INVALID_ARGUMENT, EST_ERR_CLOSED, EST_ERR_IO, ...
 *         EST_ERR_IO from PostgreSQL may mean the commit's reply was lost
 *         (the append may have committed): retrying the same batch with
 *         IDs on every event is safe, it returns EST_APPEND_DUPLICATE if
 *         the first attempt landed.
 */
EST_API est_status est_append(est_store *store, const char *stream_id, const uint8_t *batch, size_t batch_len,
                              const est_append_options *options, est_append_result *result, est_iter **written);

/**
 * Appends the events of `batch` to `stream_id` atomically, as est_append
 * does with the batch's bytes, but without copying and re-verifying them:
 * every input was checked when it was added to the batch. The batch is
 * unchanged and may be appended again or freed.
 * @return as est_append; EST_ERR_INVALID_ARGUMENT for an empty batch.
 */
EST_API est_status est_append_batch(est_store *store, const char *stream_id, est_batch *batch,
                                    const est_append_options *options, est_append_result *result,
                                    est_iter **written);

/* ------------------------------------------------------------------ reads */

#define EST_FORWARD 0
#define EST_REVERSE 1

typedef struct est_read_options {
  uint32_t struct_size;
  int32_t direction;     /* EST_FORWARD (default) or EST_REVERSE */
  int64_t after_version; /* forward: exclusive lower bound; reverse: inclusive upper bound, 0 = the tip */
  int64_t count;         /* at most this many events; 0 = all */
  /* ABI 1.2. The stream as of this time (unix ns; 0 = no bound): its live
     events up to, not including, the first one stamped later. Stamps need
     not ascend with versions, so an event stamped earlier that follows one
     stamped later is not read either (doc/data-model.md, "Reads as of a
     time"). Negative is EST_ERR_INVALID_ARGUMENT. */
  int64_t until_timestamp_ns;
} est_read_options;

#define EST_READ_OPTIONS_INIT {sizeof(est_read_options), EST_FORWARD, 0, 0, 0}
EST_API void est_read_options_init(est_read_options *options);

typedef struct est_read_all_options {
  uint32_t struct_size;
  int64_t after_position; /* exclusive */
  int64_t count;          /* 0 = all */
  /* ABI 1.2. 0 = no bound; else the read ends before the first event after
     after_position stamped later than this (unix ns): from position 0, the
     global order as of that time (doc/data-model.md, "Reads as of a
     time"). Negative is EST_ERR_INVALID_ARGUMENT. */
  int64_t until_timestamp_ns;
} est_read_all_options;

#define EST_READ_ALL_OPTIONS_INIT {sizeof(est_read_all_options), 0, 0, 0}
EST_API void est_read_all_options_init(est_read_all_options *options);

/**
 * Reads one stream. The iterator is a snapshot taken now: events deleted
 * later are still yielded by it. Free it with est_iter_close.
 * @param options NULL ok: forward from the start, all events.
 * @return EST_OK; EST_ERR_NOT_FOUND for a stream never written (or wholly
 *         deleted); an existing stream with nothing past the bound gives
 *         an empty iterator. EST_ERR_INVALID_ARGUMENT for negative bounds.
 */
EST_API est_status est_read_stream(est_store *store, const char *stream_id, const est_read_options *options,
                                   est_iter **out);

/**
 * Reads all events in ascending global position. Finite: the frontier is
 * fixed when this call returns, and nothing new ever appears at or below a
 * position once it has been visible.
 * @param options NULL ok: from the start, all events.
 */
EST_API est_status est_read_all(est_store *store, const est_read_all_options *options, est_iter **out);

/** One metadata pair of an event view; both strings NUL-terminated. */
typedef struct est_metadata_pair {
  const char *key;
  const char *value;
} est_metadata_pair;

typedef struct est_event {
  uint32_t struct_size;
  const char *type;        /* NUL-terminated, valid until the next call on the iterator */
  est_uuid id;
  const char *stream_type;
  est_uuid stream_uuid;
  int64_t stream_version;
  int64_t global_position;
  int64_t timestamp_ns;    /* unix time */
  const uint8_t *data;     /* never NULL, also when data_len is 0 */
  size_t data_len;
  const char *content_type; /* "" when undeclared */
  size_t metadata_count;
  /* This event as a FlatBuffers estoria Event, when the store keeps it so;
     NULL (fb_len 0) when it keeps a compact record (the memory store), for
     a caller whose struct_size covers `record` (ABI 1.3): build it with
     est_event_flatbuffer. Always set for older callers. */
  const uint8_t *fb;
  size_t fb_len;
  /* Since ABI 1.1: the metadata_count pairs, sorted by key (NULL when there
     are none), valid as long as the view. Filled only for a caller whose
     struct_size covers it; est_event_metadata reads one pair of any view. */
  const est_metadata_pair *metadata;
  /* Since ABI 1.3: the stored record this view points into, valid as long as
     the view. Every string and the data of the view lie inside it, except
     perhaps stream_type; its layout is the store's (doc/data-model.md,
     "Stored records"), not an interface: copy it whole, do not parse it. */
  const uint8_t *record;
  size_t record_len;
} est_event;

#define EST_EVENT_INIT {sizeof(est_event), NULL, {{0}}, NULL, {{0}}, 0, 0, 0, NULL, 0, NULL, 0, NULL, 0, NULL, NULL, 0}
EST_API void est_event_init(est_event *event);

/** Fills *event with a view of the next event.
 *  @return EST_OK; EST_END when exhausted (and on every later call);
 *          EST_ERR_CLOSED once the store is closed; another error. */
EST_API est_status est_iter_next(est_iter *iter, est_event *event);

/** Fills up to `capacity` views, all valid until the next call on the
 *  iterator; *count says how many. events[0].struct_size (as set by
 *  EST_EVENT_INIT) gives the size of every element, the array's stride; the
 *  other elements' struct_size are not read, and are set to it for every
 *  element filled.
 *  @return EST_OK with *count >= 1 (possibly fewer than capacity while more
 *          remain); EST_END with *count = 0. */
EST_API est_status est_iter_next_batch(est_iter *iter, est_event *events, size_t capacity, size_t *count);

/** The index-th metadata pair of an event view (sorted by key); the strings
 *  live as long as the view. EST_ERR_INVALID_ARGUMENT past metadata_count. */
EST_API est_status est_event_metadata(const est_event *event, size_t index, const char **key, const char **value);

/** ABI 1.3. The event view as a FlatBuffers estoria Event (schema/estoria.fbs),
 *  copied into `buf`, which must be 8-byte aligned. With buf NULL and
 *  buf_len 0, only sets *fb_len to the size needed. A buf_len smaller than
 *  that is EST_ERR_INVALID_ARGUMENT with *fb_len set and nothing written.
 *  The view must be one the library filled (it reads its fields and its
 *  metadata), at any struct_size. */
EST_API est_status est_event_flatbuffer(const est_event *event, uint8_t *buf, size_t buf_len, size_t *fb_len);

/** Frees the iterator; NULL is a no-op. */
EST_API void est_iter_close(est_iter *iter);

/* --------------------------------------------------------------- deletion */

/**
 * Deletes a stream. to_version 0 deletes it wholly: it then behaves as never
 * written (its ID reusable from version 1) and its snapshots go with it.
 * to_version N > 0 removes events <= N (later events keep their versions;
 * at or past the tip the stream is emptied but keeps its tip) and the
 * snapshots below N; at or below what is already gone nothing happens.
 * @return EST_OK; EST_ERR_NOT_FOUND for a stream never written;
 *         EST_ERR_INVALID_ARGUMENT for a negative to_version.
 */
EST_API est_status est_delete_stream(est_store *store, const char *stream_id, int64_t to_version);

/* -------------------------------------------------------------- snapshots */

typedef struct est_snapshot est_snapshot;

typedef struct est_snapshot_write_options {
  uint32_t struct_size;
  int64_t timestamp_ns; /* 0 = the store stamps the write time */
} est_snapshot_write_options;

#define EST_SNAPSHOT_WRITE_OPTIONS_INIT {sizeof(est_snapshot_write_options), 0}
EST_API void est_snapshot_write_options_init(est_snapshot_write_options *options);

/** Writes a snapshot of aggregate `aggregate_id` ("type_uuid") at `version`
 *  (> 0); data is copied. The stream need not exist.
 *  @param content_type NULL ok: "".  @param options NULL ok. */
EST_API est_status est_snapshot_write(est_store *store, const char *aggregate_id, int64_t version, const void *data,
                                      size_t data_len, const char *content_type,
                                      const est_snapshot_write_options *options);

/** Reads the newest snapshot (highest version, then latest written) at or
 *  below max_version (0 = any). Free it with est_snapshot_free.
 *  @return EST_OK; EST_ERR_NOT_FOUND when there is none. */
EST_API est_status est_snapshot_read(est_store *store, const char *aggregate_id, int64_t max_version,
                                     est_snapshot **out);

/* Accessors of a snapshot; the returned data lives as long as the handle.
 * A NULL snapshot gives 0 / NULL / "". */
EST_API int64_t est_snapshot_version(const est_snapshot *snapshot);
EST_API int64_t est_snapshot_timestamp_ns(const est_snapshot *snapshot);
EST_API const uint8_t *est_snapshot_data(const est_snapshot *snapshot, size_t *len);
EST_API const char *est_snapshot_content_type(const est_snapshot *snapshot);
/** Frees the snapshot; NULL is a no-op. */
EST_API void est_snapshot_free(est_snapshot *snapshot);

/* ------------------------------------------------- snapshot retention */

/** Removes snapshots of `aggregate_id`: all but the `keep_last` newest
 *  (0 = no count limit) and all below `min_version` (0 = no bound). Durable
 *  as an append is. EST_OK also when there was nothing to remove. */
EST_API est_status est_snapshot_prune(est_store *store, const char *aggregate_id, int64_t keep_last,
                                      int64_t min_version);

/* ---------------------------------------------- durability and operation */

/** Makes everything appended, deleted and snapshotted so far durable. Under
 *  EST_SYNC_ALWAYS that is already so; under the other modes this is how a
 *  host asks for it, and how it hears of a failure that est_store_close
 *  (void) cannot report. A store whose write or sync failed is poisoned:
 *  this and every later call on it return EST_ERR_IO until it is reopened. */
EST_API est_status est_store_sync(est_store *store);

/** Sets the process-wide log handler (NULL = discard, the default). The
 *  library never prints. Returns once no call of the handler it replaces
 *  is in progress (calls it replaces may still be running when it is
 *  called; none is afterwards), so a plugin that sets NULL may then free
 *  `user` or unload the handler's code. Called from inside a handler call
 *  it cannot wait for that call and returns at once. Each copy of the
 *  library (a plugin linking libestoria.a carries its own) has its own
 *  handler. */
EST_API void est_set_log_handler(est_log_fn handler, void *user);

/** Progress of a long operation: `done` of `total` units (bytes for verify
 *  and compaction). Called on the calling thread. */
typedef void (*est_progress_fn)(void *user, uint64_t done, uint64_t total);

typedef struct est_stats {
  uint32_t struct_size;
  int64_t events;         /* live events (deleted and truncated ones excluded) */
  int64_t streams;        /* live streams (wholly deleted ones excluded) */
  int64_t bytes;          /* bytes of the store's files on disk (0 in memory) */
  int64_t segments;       /* log segment files (0 in memory) */
  int64_t first_position; /* lowest live global position, 0 when empty */
  int64_t last_position;  /* highest position handed out so far, 0 when none */
  int64_t snapshots;      /* snapshots held */
} est_stats;

#define EST_STATS_INIT {sizeof(est_stats), 0, 0, 0, 0, 0, 0, 0}
EST_API void est_stats_init(est_stats *stats);

/** Fills `stats` (within its struct_size). */
EST_API est_status est_store_stats(est_store *store, est_stats *stats);

typedef struct est_verify_report {
  uint32_t struct_size;
  int64_t segments; /* files checked */
  int64_t records;  /* log records checked (batches, deletions, snapshots) */
  int64_t events;   /* event records checked */
  int64_t bytes;    /* bytes read */
} est_verify_report;

#define EST_VERIFY_REPORT_INIT {sizeof(est_verify_report), 0, 0, 0, 0}
EST_API void est_verify_report_init(est_verify_report *report);

/** Checks the whole store: every record's checksum and structure, read with
 *  pread (never through a mapping), while the store stays usable.
 *  @param progress NULL ok.  @param report NULL ok: filled on EST_OK and on
 *  EST_ERR_CORRUPTION.
 *  @return EST_OK; EST_ERR_CORRUPTION naming the segment and offset of the
 *          first damage. */
EST_API est_status est_store_verify(est_store *store, est_progress_fn progress, void *progress_user,
                                    est_verify_report *report);

typedef struct est_compact_report {
  uint32_t struct_size;
  int64_t segments_before; /* segment files rewritten */
  int64_t segments_after;  /* segment files that replaced them */
  int64_t bytes_before;    /* bytes of the segments rewritten */
  int64_t bytes_after;     /* bytes of the segments that replaced them */
  int64_t events_kept;     /* live events copied */
  int64_t events_dropped;  /* deleted and truncated events reclaimed */
} est_compact_report;

#define EST_COMPACT_REPORT_INIT {sizeof(est_compact_report), 0, 0, 0, 0, 0, 0}
EST_API void est_compact_report_init(est_compact_report *report);

/** Rewrites the store's sealed log segments without their deleted and
 *  truncated events, online: appends and reads go on meanwhile (appends
 *  pause only for the moment the new segments are swapped in). Every
 *  remaining event keeps its stream version and global position; deletion
 *  records and the live snapshots are kept. The new segments are made
 *  durable and published through the store's manifest before the old files
 *  are removed; iterators created before keep reading what they began with.
 *  Nothing to reclaim: EST_OK, with the report's counts at 0.
 *  @param progress NULL ok (bytes of old segments processed, of the total).
 *  @param report NULL ok: filled on EST_OK.
 *  @return EST_OK; EST_ERR_UNSUPPORTED for a read-only open or a backend
 *          that reclaims in place (PostgreSQL: VACUUM); EST_ERR_IO (and the
 *          store poisoned) when publishing the new segments fails midway. */
EST_API est_status est_store_compact(est_store *store, est_progress_fn progress, void *progress_user,
                                     est_compact_report *report);

/* --------------------------------------------------------- listing streams */

typedef struct est_stream_info {
  uint32_t struct_size;
  int64_t version;          /* the stream's version (its tip) */
  int64_t events;           /* live events (fewer than version after truncation) */
  char id[EST_ID_MAX_LEN];  /* "type_uuid", NUL-terminated */
} est_stream_info;

#define EST_STREAM_INFO_INIT {sizeof(est_stream_info), 0, 0, {0}}
EST_API void est_stream_info_init(est_stream_info *info);

/** Lists the live streams (written and not wholly deleted) in the byte order
 *  of their ID text, starting after `after_id` (NULL or "" = from the first):
 *  fills up to `capacity` elements, *count says how many; fewer than
 *  capacity means the end. To page, pass the last ID of a page as the next
 *  after_id. streams[0].struct_size (EST_STREAM_INFO_INIT) gives every
 *  element's size (the array's stride).
 *  @param after_id NULL ok. */
EST_API est_status est_list_streams(est_store *store, const char *after_id, est_stream_info *streams,
                                    size_t capacity, size_t *count);

/* ------------------------------------------------------------ aggregates */

/* The aggregate engine: load = the newest usable snapshot, then a fold of the
 * later events through the host's apply callback; save = append the queued
 * events expecting the loaded version, apply them, snapshot when the policy
 * says so. One engine for every language; host code runs in callbacks. No
 * library lock is held while a callback runs. */

/** From inside a callback: the message that goes with the error status the
 *  callback is about to return (copied; becomes est_last_error()). */
EST_API void est_set_error(const char *message);

/** A growable byte buffer the library owns, written by an encode callback. */
typedef struct est_buffer est_buffer;
EST_API est_status est_buffer_append(est_buffer *buffer, const void *data, size_t len);

/** An aggregate type: callbacks over the host's state (an opaque void*).
 *  Callbacks return EST_OK or an error status (message via est_set_error). */
typedef struct est_aggregate_type {
  uint32_t struct_size;
  const char *type_name; /* the aggregate type: its streams are "type_uuid"; copied */
  void *user;            /* passed to every callback */
  /** A new, empty state for aggregate `id`. */
  est_status (*new_state)(void *user, const est_uuid *id, void **state);
  /** Applies one event (a view valid during the call) to `state`. */
  est_status (*apply)(void *user, void *state, const est_event *event);
  /** Frees a state from new_state or decode. */
  void (*free_state)(void *user, void *state);
  /** Optional, both or neither: the state as bytes (snapshots and cache). */
  est_status (*encode)(void *user, const void *state, est_buffer *out);
  est_status (*decode)(void *user, const uint8_t *data, size_t len, void **state);
  const char *snapshot_content_type; /* NULL ok: ""; copied */
} est_aggregate_type;

#define EST_AGGREGATE_TYPE_INIT {sizeof(est_aggregate_type), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}
EST_API void est_aggregate_type_init(est_aggregate_type *type);

/** Valid during a hook call only. */
typedef struct est_hook_context est_hook_context;
/** From a before-save hook: adds metadata to every event of the save. An
 *  empty key, or one starting "estoria." (reserved for the toolkit's own
 *  components), is EST_ERR_INVALID_ARGUMENT. */
EST_API est_status est_hook_add_metadata(est_hook_context *ctx, const char *key, const char *value);

#define EST_HOOK_BEFORE_LOAD 0
#define EST_HOOK_AFTER_LOAD 1
#define EST_HOOK_BEFORE_SAVE 2
#define EST_HOOK_AFTER_SAVE 3

/** A hook: `stage` is one of EST_HOOK_*; `version` is the aggregate's
 *  version (the requested to_version before a load). An error from a
 *  before-hook fails the operation with that status; an after-hook's error
 *  goes to the log handler. */
typedef est_status (*est_aggregate_hook_fn)(void *user, int32_t stage, est_hook_context *ctx,
                                           const char *aggregate_id, int64_t version);

typedef struct est_aggregate_store_options {
  uint32_t struct_size;
  int64_t snapshot_every;            /* snapshot after a save crossing a multiple of N events; 0 = never */
  int64_t snapshot_keep_last;        /* retention: keep the newest N; 0 = all */
  int64_t snapshot_keep_min_version; /* retention: drop snapshots below V; 0 = none */
  int64_t cache_capacity;            /* aggregates cached (LRU, encoded state); 0 = no cache */
} est_aggregate_store_options;

#define EST_AGGREGATE_STORE_OPTIONS_INIT {sizeof(est_aggregate_store_options), 0, 0, 0, 0}
EST_API void est_aggregate_store_options_init(est_aggregate_store_options *options);

typedef struct est_aggregate_store est_aggregate_store;
typedef struct est_aggregate est_aggregate;

/** An aggregate store over `store` for one aggregate type. Like an
 *  iterator, it may outlive est_store_close (its calls then return
 *  EST_ERR_CLOSED) and be freed in any order. Snapshots or a cache without
 *  encode/decode are EST_ERR_INVALID_ARGUMENT. @param options NULL ok. */
EST_API est_status est_aggregate_store_new(est_store *store, const est_aggregate_type *type,
                                           const est_aggregate_store_options *options,
                                           est_aggregate_store **out);
EST_API void est_aggregate_store_free(est_aggregate_store *astore);

/** Adds a hook for `stage`; hooks of one stage run in the order added.
 *  Add hooks before the store is shared between threads. */
EST_API est_status est_aggregate_store_add_hook(est_aggregate_store *astore, int32_t stage,
                                                est_aggregate_hook_fn hook, void *user);

/** A new aggregate at version 0. @param uuid NULL ok: a new UUIDv7. */
EST_API est_status est_aggregate_new(est_aggregate_store *astore, const est_uuid *uuid, est_aggregate **out);

/** Loads aggregate `uuid` at `to_version` (0 = the latest).
 *  @return EST_OK; EST_ERR_NOT_FOUND for an aggregate never written;
 *          EST_ERR_INVALID_ARGUMENT when to_version is past the tip. */
EST_API est_status est_aggregate_load(est_aggregate_store *astore, const est_uuid *uuid, int64_t to_version,
                                      est_aggregate **out);

/** Queues a domain event on the aggregate (copied). @param content_type NULL ok. */
EST_API est_status est_aggregate_append(est_aggregate *agg, const char *type, const void *data, size_t data_len,
                                        const char *content_type);
/** Adds metadata to the last queued event. Keys starting "estoria." are
 *  reserved for the toolkit's own components: the save refuses them with
 *  EST_ERR_INVALID_ARGUMENT, before any hook runs or anything is written
 *  (the event store itself accepts them; see est_batch_add_metadata). */
EST_API est_status est_aggregate_append_metadata(est_aggregate *agg, const char *key, const char *value);

/** Appends the queued events expecting the aggregate's version, then
 *  applies them. @param result NULL ok.
 *  @return EST_OK; EST_ERR_VERSION_MISMATCH (nothing written; the aggregate
 *          keeps its queue and state: reload and retry);
 *          EST_ERR_APPLIED_PARTIALLY (written, but apply failed: reload). */
EST_API est_status est_aggregate_save(est_aggregate *agg, est_append_result *result);

/** The host state (owned by the aggregate; valid until its next load/save or free). */
EST_API void *est_aggregate_state(est_aggregate *agg);
EST_API int64_t est_aggregate_version(const est_aggregate *agg);
/** The aggregate's ID ("type_uuid"), valid as long as the handle. */
EST_API const char *est_aggregate_id(const est_aggregate *agg);
/** Events queued and not yet saved. */
EST_API size_t est_aggregate_pending(const est_aggregate *agg);
EST_API void est_aggregate_free(est_aggregate *agg);

typedef struct est_aggregate_stats {
  uint32_t struct_size;
  int64_t loads;            /* successful loads */
  int64_t events_applied;   /* events folded by loads (not by saves) */
  int64_t snapshots_used;   /* loads that started from a snapshot */
  int64_t snapshots_written;
  int64_t cache_hits;
  int64_t cache_misses;
} est_aggregate_stats;

#define EST_AGGREGATE_STATS_INIT {sizeof(est_aggregate_stats), 0, 0, 0, 0, 0, 0}
EST_API void est_aggregate_stats_init(est_aggregate_stats *stats);
/** Counters of this aggregate store since it was created. */
EST_API est_status est_aggregate_store_stats(est_aggregate_store *astore, est_aggregate_stats *stats);

/* ======================================================================
 * Experimental section.
 *
 * Calls and types declared here work and are tested, but their names,
 * parameters and fields may still change in a minor release. They are seen
 * only when the user defines EST_EXPERIMENTAL before including this header,
 * and they are exported under their own symbol version node
 * (ESTORIA_EXPERIMENTAL in capi/estoria.map), so a program that uses one says
 * so at compile time and at link time. A call leaves this section when a
 * release freezes it: it then moves above, under ESTORIA_1 rules (never
 * changed again).
 * ====================================================================== */
#ifdef EST_EXPERIMENTAL

/* ------------------------------------------------------------- redaction */

/** Copies `text` into buf with every password in it replaced by "***": a
 *  URI's userinfo password (postgresql://alice:***@host/db) and the value
 *  of every password= setting (a URI query or a libpq key=value string).
 *  Messages from est_last_error() and the log handler are redacted already;
 *  this is for text a program prints itself, such as a URI it was given.
 *  *len (NULL ok) receives the redacted text's length without its NUL, also
 *  when buf_len is too small, so a caller may ask with (NULL, 0) first.
 *  @return EST_ERR_INVALID_ARGUMENT when text is NULL, or buf_len is below
 *          *len + 1 (nothing written then; buf may be NULL only then). */
EST_API est_status est_uri_redact(const char *text, char *buf, size_t buf_len, size_t *len);

/* ---------------------------------------------------------------------
 * Live subscriptions: catch up from a position, then follow commits.
 *
 * A subscription delivers exactly what est_read_all(after_position) would
 * return, in order, then every later commit: no gap and no duplicate across
 * the switch from catching up to following, only the stable prefix, nothing
 * deleted before its delivery. It reads from the store's log, so a slow
 * subscriber never slows a writer nor holds memory that grows with its lag.
 * Commits made in this process wake it at once; a read-only file store
 * (mode=ro) in another process is woken when the writer publishes.
 *
 * Thread safety: one thread at a time per subscription, except
 * est_subscription_wake (any thread). Closing the store makes every call
 * EST_ERR_CLOSED (a waiting poll returns it promptly); the subscription must
 * still be closed, in any order with the store.
 * ------------------------------------------------------------------- */

typedef struct est_subscription est_subscription;

/** As after_position: only what commits after the subscription is made. */
#define EST_POSITION_END (-1)

typedef struct est_subscribe_options {
  uint32_t struct_size;
  int64_t after_position;         /* 0 = from the first event; EST_POSITION_END */
  const char *stream_prefix;      /* NULL or "" = every stream; else a prefix of the
                                     stream ID's text form "type_uuid" */
  const char *const *event_types; /* NULL = every type; else exact names */
  size_t event_types_len;         /* entries of event_types (0 with NULL) */
} est_subscribe_options;

#define EST_SUBSCRIBE_OPTIONS_INIT {sizeof(est_subscribe_options), 0, NULL, NULL, 0}
EST_API void est_subscribe_options_init(est_subscribe_options *options);

/** Subscribes to `store` (the filters are copied: nothing is kept).
 *  @param options NULL ok: every event from the first.
 *  @return EST_OK; EST_ERR_INVALID_ARGUMENT (a position below
 *          EST_POSITION_END, an invalid type name, event_types NULL with a
 *          length or holding NULL); EST_ERR_CLOSED, EST_ERR_IO, ... */
EST_API est_status est_subscribe(est_store *store, const est_subscribe_options *options,
                                 est_subscription **out);

/** Fills up to `capacity` views of the next events (valid until the next
 *  poll or close of this subscription, like an iterator's) and sets *count.
 *  Waits up to `timeout_us` for the first: 0 = never wait (a host's frame),
 *  < 0 = until events, a wake or the store's close.
 *  events[0].struct_size gives the array's stride (as est_iter_next_batch).
 *  @return EST_OK, with *count == 0 on timeout or wake; EST_ERR_CLOSED once
 *          the store is closed; EST_ERR_INVALID_ARGUMENT. */
EST_API est_status est_subscription_poll(est_subscription *sub, est_event *events, size_t capacity,
                                         size_t *count, int64_t timeout_us);

/** Every event at or below it was delivered or filtered out: a checkpoint
 *  to subscribe again from. -1 for a NULL handle. */
EST_API int64_t est_subscription_position(const est_subscription *sub);

/** A descriptor that polls readable when events may be ready (for epoll, a
 *  game loop, asyncio). Owned by the subscription: do not read or close it.
 *  Readable does not promise events: poll with timeout 0 then. */
EST_API est_status est_subscription_fd(est_subscription *sub, int *fd);

/** Makes a waiting est_subscription_poll (or the next one) return EST_OK
 *  with *count == 0. Any thread, any time before the subscription's close. */
EST_API est_status est_subscription_wake(est_subscription *sub);

/** Ends the subscription; accepts NULL. */
EST_API void est_subscription_close(est_subscription *sub);

/* ----------------------------------------------------------- transactions */

/* Appends to several streams, all or nothing. One handle is used from one
 * thread at a time; it holds copies of what was appended, never the
 * caller's batches. Closing the store makes its transactions
 * EST_ERR_CLOSED; they may still be freed, in any order. */
typedef struct est_txn est_txn;

/** Starts an empty transaction on `store`. *out is freed with est_txn_free.
 *  @return EST_OK; EST_ERR_INVALID_ARGUMENT, EST_ERR_CLOSED. */
EST_API est_status est_txn_new(est_store *store, est_txn **out);

/**
 * Adds an append of `batch` to `stream_id` with `options` (NULL ok:
 * EST_EXPECT_ANY) to the transaction. Every input is checked at once and
 * the batch's events are copied: the batch may be freed or reused right
 * away. Nothing is written and no expectation is checked before
 * est_txn_commit. Appends are applied in the order they are added: a later
 * append of the same stream sees the earlier ones (expect the version they
 * leave). A transaction holds at most EST_TXN_MAX_APPENDS appends and
 * EST_TXN_MAX_EVENTS events.
 * @return EST_OK; EST_ERR_INVALID_ARGUMENT (bad input, or the transaction
 *         would grow past its limits: it is unchanged), EST_ERR_CLOSED.
 */
EST_API est_status est_txn_append(est_txn *txn, const char *stream_id, est_batch *batch,
                                  const est_append_options *options);
#define EST_TXN_MAX_APPENDS 10000
#define EST_TXN_MAX_EVENTS 100000

/**
 * Commits the transaction: every expectation is checked, and every append
 * is written, or none is. The events of the appends that write take
 * contiguous global positions with no other commit between them, and the
 * file store writes them as one record of its log, which recovery keeps or
 * drops whole. Each append is checked for duplicates as est_append does
 * (EST_APPEND_DUPLICATE): a retried transaction writes nothing again.
 * `results` (NULL ok when results_len is 0) receives one result per append,
 * in the order they were added; results_len must be 0 or at least the
 * number of appends. On EST_OK each is filled; on EST_ERR_VERSION_MISMATCH
 * nothing is written, each result holds only actual_version (its stream's
 * version), and est_last_error() names the failing append's index and
 * stream. A transaction with no append commits nothing and returns EST_OK.
 * A committed transaction is empty again and may be reused; a failed one
 * keeps its appends (fix nothing and retry, or free it).
 * @return EST_OK; EST_ERR_VERSION_MISMATCH; EST_ERR_INVALID_ARGUMENT (a
 *         results array too short: nothing written); EST_ERR_CLOSED;
 *         EST_ERR_UNSUPPORTED (a backend without transactions);
 *         EST_ERR_IO (from PostgreSQL, may have committed: retry it, the
 *         duplicate check makes that safe when every event has an ID).
 */
EST_API est_status est_txn_commit(est_txn *txn, est_append_result *results, size_t results_len);

/**
 * Saves the queued events of `count` aggregates (of any types, over one
 * store) in one transaction: each append expects its aggregate's version,
 * and all are written or none. Then each aggregate applies its events as
 * est_aggregate_save does. Aggregates with nothing queued are skipped; one
 * aggregate given twice is EST_ERR_INVALID_ARGUMENT.
 * @param results NULL ok; else `count` results, filled as est_aggregate_save
 *        fills its one.
 * @return EST_OK; EST_ERR_VERSION_MISMATCH (nothing written, every queue
 *         kept; the message names the stream); EST_ERR_APPLIED_PARTIALLY
 *         (written, an apply failed: reload that aggregate); ...
 */
EST_API est_status est_aggregate_save_many(est_aggregate *const *aggs, size_t count, est_append_result *results);

/**
 * Gives the event queued last on `agg` a caller-chosen ID (copied), which
 * makes the save retry-safe: when every queued event carries an ID and those
 * events are already in the stream right after the aggregate's version (a
 * save whose reply was lost), the save writes nothing, returns the original
 * result flagged EST_APPEND_DUPLICATE and applies the events as a save does.
 * @return EST_OK; EST_ERR_INVALID_ARGUMENT before any queued event or for a
 *         NULL id.
 */
EST_API est_status est_aggregate_set_event_id(est_aggregate *agg, const est_uuid *id);

/**
 * Loads aggregate `uuid` as of `timestamp_ns` (unix ns, > 0): the fold of its
 * stream as of that time (est_read_options.until_timestamp_ns: the live
 * events up to, not including, the first one stamped later), at the version
 * of the last of them. A snapshot is used only at or below that version and
 * stamped at or before timestamp_ns; the cache is neither read nor filled.
 * Hooks run as for est_aggregate_load, with that version.
 * @return EST_OK; EST_ERR_NOT_FOUND for an aggregate never written, or with
 *         no live event stamped at or before timestamp_ns;
 *         EST_ERR_INVALID_ARGUMENT for timestamp_ns <= 0, or when the events
 *         it needs were truncated and no usable snapshot covers them.
 */
EST_API est_status est_aggregate_load_at(est_aggregate_store *astore, const est_uuid *uuid, int64_t timestamp_ns,
                                         est_aggregate **out);

/**
 * Adds a save of projection `projection_id`'s checkpoint at `position` to
 * the transaction: it is saved, as est_checkpoint_save saves, only if the
 * transaction commits (every expectation held), in the same record of the
 * log as its appends, so a projection's output and its checkpoint commit
 * together (exactly once). The last save of an ID in a transaction wins; a
 * transaction may hold only saves (at most EST_TXN_MAX_CHECKPOINTS).
 * @return EST_OK; EST_ERR_INVALID_ARGUMENT (a bad ID, a negative position,
 *         past the limit: the transaction unchanged), EST_ERR_CLOSED.
 */
EST_API est_status est_txn_checkpoint(est_txn *txn, const char *projection_id, int64_t position);
#define EST_TXN_MAX_CHECKPOINTS 1000

/** The number of appends the transaction holds (0 for NULL). */
EST_API size_t est_txn_size(const est_txn *txn);

/** Frees the transaction (uncommitted appends are dropped); NULL is a no-op. */
EST_API void est_txn_free(est_txn *txn);

/* ----------------------------------------------------------------- hosts
 * A host that owns its threads opens a store with EST_THREADS_NONE and
 * calls est_store_maintain from its own loop (a game's frame): it does the
 * background work the library's threads would (zeros written ahead of the
 * log, the interval flush, index checkpoints) and the steps of a scheduled
 * compaction, in steps bounded by a budget. doc/abi.md "Hosts". A read-only
 * file store opened so starts no watch thread for its subscriptions: each
 * est_store_maintain looks at the writer's progress and makes their
 * descriptors readable (est_subscription_fd); a poll reads what the writer
 * has published in any case.
 */

typedef struct est_maintain_report {
  uint32_t struct_size;
  int32_t pending;    /* 1 when background work remains that a call now would do */
  int32_t compacting; /* 1 while a scheduled compaction is unfinished */
} est_maintain_report;

#define EST_MAINTAIN_REPORT_INIT {sizeof(est_maintain_report), 0, 0}
EST_API void est_maintain_report_init(est_maintain_report *report);

/**
 * Does the store's pending background work for about budget_us
 * microseconds: a step starts only while the budget lasts, and one at least
 * runs when any is pending, so a call overruns by at most one step. With
 * EST_THREADS_LIBRARY only a scheduled compaction is left to it. Any
 * store, any mode: with nothing pending it returns at once.
 * @param report NULL ok; filled on EST_OK.
 * @return EST_OK; EST_ERR_INVALID_ARGUMENT for a negative budget;
 *         EST_ERR_CANCELLED when the scheduled compaction was cancelled
 *         (abandoned; the store is as it was); EST_ERR_IO, ...: a step's
 *         failure (a failed scheduled compaction is abandoned).
 */
EST_API est_status est_store_maintain(est_store *store, int64_t budget_us, est_maintain_report *report);

/**
 * Schedules a compaction (est_store_compact's work) that est_store_maintain
 * then runs in steps: a host compacts a live store a few milliseconds per
 * frame. Scheduling one while one is scheduled does nothing; est_store_compact
 * meanwhile finishes the scheduled one at once. Stores with nothing to step
 * (memory) compact at once.
 * @return EST_OK; EST_ERR_UNSUPPORTED as est_store_compact.
 */
EST_API est_status est_store_compact_schedule(est_store *store);

/**
 * Stops the compactions and verifies running or scheduled on the store:
 * they return EST_ERR_CANCELLED (a scheduled one, from the next
 * est_store_maintain) and leave the store as it was. Callable from any
 * thread, also from their progress callback; with nothing running it does
 * nothing (later calls are not cancelled).
 */
EST_API est_status est_store_cancel(est_store *store);

/*
 * The host's allocator: where the library's own large buffers come from
 * (a game engine's heap, an arena, accounting). doc/abi.md "Hosts".
 *
 * Covered: the stored events (each append's block of records, which the
 * memory store keeps and the file store holds until written); the stores'
 * indexes (each stream's and the global order's arrays, the maps of streams
 * and of snapshots); batches (est_batch's events and its FlatBuffers bytes,
 * the copy est_append verifies, the builder that makes stored records);
 * snapshots' data (which the memory and file stores keep in memory, and
 * est_snapshot_read's); iterator, subscription and projection buffers
 * (views, metadata arrays, records read with pread); the buffers the file
 * store reads segments into (recovery, verify, compaction).
 *
 * Not covered: what Abseil, FlatBuffers' verifier, libpq and the C++
 * runtime allocate for themselves (thread stacks, exceptions, thread-local
 * storage, std::string's and the containers' own small needs); small
 * per-call and per-handle objects (the handles themselves, error messages,
 * copies of options and IDs, a transaction's copies of its batches); the
 * file store's segment files, which are memory mappings, not heap; the file
 * store's write-ahead zeros and index checkpoint buffers; aggregate states,
 * which the type's own callbacks allocate.
 */
typedef struct est_allocator {
  uint32_t struct_size;
  /* size bytes (> 0) aligned to alignment (a power of two, at most 16
     today); NULL when out of memory (the call then fails, mostly with
     EST_ERR_NO_MEMORY). */
  void *(*allocate)(void *user, size_t size, size_t alignment);
  /* Releases what allocate returned; size is the size it was asked for. */
  void (*deallocate)(void *user, void *ptr, size_t size);
  void *user; /* passed to both */
} est_allocator;

#define EST_ALLOCATOR_INIT {sizeof(est_allocator), NULL, NULL, NULL}
EST_API void est_allocator_init(est_allocator *allocator);

/**
 * Routes the library's own large buffers (above) through `allocator`, for
 * the rest of the process. Call it first: once est_store_open or
 * est_batch_new has been called (whatever it returned), or once an
 * allocator was set, it returns EST_ERR_INVALID_ARGUMENT and changes
 * nothing. Without it, the library uses operator new and delete.
 * The functions are called from any thread, the library's own included,
 * possibly at once, and must not call into the library. The allocator must
 * stay usable while any handle is open; once every handle is closed or
 * freed, nothing allocated through it is outstanding. The choice is
 * process-wide (a plugin that links its own copy of the library has its own).
 * The struct is copied.
 * @return EST_OK; EST_ERR_INVALID_ARGUMENT for a NULL allocator or function,
 *         a bad struct_size, or a call too late or repeated (see above);
 *         EST_ERR_UNSUPPORTED for fields this library does not know.
 */
EST_API est_status est_set_allocator(const est_allocator *allocator);

/* ---------------------------------------------------------------------
 * Projection checkpoints: how far a projection has handled the global
 * order, kept in the store itself (the file store's log, the memory
 * store, a PostgreSQL table), with Estoria's checkpoint store semantics
 * (doc/data-model.md "Checkpoints"). A projection ID is Estoria's
 * "name_vN": the name [a-z][a-z0-9_]*, not ending with '_', at most 40
 * characters; N >= 1, written without leading zeros ("orders_v1").
 * ------------------------------------------------------------------- */

/**
 * Saves `position` (>= 0: the global position the projection has handled
 * through) as the checkpoint of `projection_id`. Last write wins: a lower
 * position overwrites too. The store stamps updated_at with its clock on
 * every save, also at an unchanged position, later than the projection's
 * previous stamp (a heartbeat). Durable like an append under the store's
 * sync mode.
 * @return EST_OK; EST_ERR_INVALID_ARGUMENT (a bad ID or a negative
 *         position: nothing saved); EST_ERR_CLOSED; EST_ERR_IO.
 */
EST_API est_status est_checkpoint_save(est_store *store, const char *projection_id, int64_t position);

/**
 * Loads the checkpoint of `projection_id`: *position, and *updated_at_ns
 * (NULL ok; unix ns, the store's clock at the last save).
 * @return EST_OK; EST_ERR_NOT_FOUND when the projection has none (never
 *         saved, or deleted): outputs untouched; EST_ERR_INVALID_ARGUMENT;
 *         EST_ERR_CLOSED.
 */
EST_API est_status est_checkpoint_load(est_store *store, const char *projection_id, int64_t *position,
                                       int64_t *updated_at_ns);

/**
 * Deletes the checkpoint of `projection_id` (the projection then starts
 * from the beginning). Durable like an append.
 * @return EST_OK; EST_ERR_NOT_FOUND when it has none;
 *         EST_ERR_INVALID_ARGUMENT; EST_ERR_CLOSED.
 */
EST_API est_status est_checkpoint_delete(est_store *store, const char *projection_id);

/** Called by est_checkpoint_list once per checkpoint; the ID is valid
 *  during the call. Anything but EST_OK stops the listing, which returns it. */
typedef est_status (*est_checkpoint_visit_fn)(void *user, const char *projection_id, int64_t position,
                                              int64_t updated_at_ns);

/**
 * Calls `visit` for every checkpoint of the store, in ascending ID order,
 * as they were when the call began (for tools). No library lock is held
 * during a call: `visit` may call the library.
 * @return EST_OK; the first status `visit` returned other than EST_OK;
 *         EST_ERR_INVALID_ARGUMENT (NULL visit); EST_ERR_CLOSED.
 */
EST_API est_status est_checkpoint_list(est_store *store, est_checkpoint_visit_fn visit, void *user);
/* ------------------------------------------------------------ projections
 *
 * One projection engine for every language (doc/data-model.md
 * "Projections"). A projection is a handler over the store's global order,
 * identified by a name and a version ("name_vN", its checkpoint's ID). The
 * engine resumes from the checkpoint (a projection that never saved one
 * starts at the first event), catches up, then follows new commits through
 * a subscription (no gap, no duplicate between the two), handing the handler
 * runs of up to batch_max events in position order as est_event views:
 * zero-copy, valid during the call only.
 *
 * Guarantees:
 * - At least once (the default): the handler runs before the checkpoint is
 *   saved; the checkpoint never passes what the handler finished, and a
 *   crash hands again at most what followed the last save.
 * - EST_PROJECTION_EXACTLY_ONCE: the handler receives a transaction (tx)
 *   and appends its outputs through it (est_txn_append); the engine commits
 *   them with the checkpoint in one transaction, so a crash anywhere neither
 *   loses nor repeats an output. The handler must not commit or free tx.
 *   The outputs wait in tx for the checkpoint's cadence (checkpoint_every;
 *   0 = each call commits), or until they use half of a transaction's
 *   limits; a failed run drops what waits, and the next run hands its
 *   inputs again.
 * - A handler error (any status but EST_OK; a message via est_set_error)
 *   stops the run: est_projection_run returns it, the checkpoint is at the
 *   last call that succeeded, and the next run hands the failed events
 *   again. With EST_PROJECTION_CONTINUE_ON_ERROR the failed call's events
 *   are handed again one at a time; each that fails is reported to the log
 *   handler (the store's, else the process-wide one) and skipped, and
 *   counted in the report.
 *   In exactly-once mode a failed call's appends are dropped.
 * - The checkpoint is saved every checkpoint_every events, whenever the
 *   projection reaches the head, and at the end of every run. An idle
 *   projection re-saves it at most once a second, so that its updated_at
 *   shows it is alive.
 *
 * Thread safety: one thread at a time per projection, except
 * est_projection_wake. Closing the store makes est_projection_run
 * EST_ERR_CLOSED (a waiting run returns promptly); the projection must still
 * be freed, in any order with the store.
 * ------------------------------------------------------------------- */

typedef struct est_projection est_projection;

typedef struct est_projection_handler {
  uint32_t struct_size;
  const char *name; /* [a-z][a-z0-9_]*, not ending in '_', at most 40 bytes; copied */
  int32_t version;  /* >= 1; the projection's ID is "name_vN" */
  void *user;       /* passed to handle */
  /* A run of `count` (>= 1) events in position order, valid during the call;
     tx is non-NULL in exactly-once mode: what the handler appends through it
     commits with the checkpoint. Returns EST_OK or an error status. */
  est_status (*handle)(void *user, const est_event *events, size_t count, est_txn *tx);
} est_projection_handler;

#define EST_PROJECTION_HANDLER_INIT {sizeof(est_projection_handler), NULL, 1, NULL, NULL}
EST_API void est_projection_handler_init(est_projection_handler *handler);

#define EST_PROJECTION_EXACTLY_ONCE 1u
#define EST_PROJECTION_CONTINUE_ON_ERROR 2u
/* A requested rebuild's version cuts over on its own once caught up. */
#define EST_PROJECTION_CUTOVER_WHEN_CAUGHT_UP 4u
/* Most events one handler call receives (a larger batch_max is clamped). */
#define EST_PROJECTION_BATCH_MAX 4096

typedef struct est_projection_options {
  uint32_t struct_size;
  const char *stream_prefix;      /* NULL or "" = every stream; as est_subscribe_options */
  const char *const *event_types; /* NULL = every type; else exact names */
  size_t event_types_len;
  uint32_t batch_max;        /* events per handle call; 0 = 256 */
  uint32_t checkpoint_every; /* events between checkpoints; 0 = every call */
  uint32_t flags;            /* EST_PROJECTION_EXACTLY_ONCE, EST_PROJECTION_CONTINUE_ON_ERROR,
                                EST_PROJECTION_CUTOVER_WHEN_CAUGHT_UP */
} est_projection_options;

#define EST_PROJECTION_OPTIONS_INIT {sizeof(est_projection_options), NULL, NULL, 0, 0, 0, 0}
EST_API void est_projection_options_init(est_projection_options *options);

typedef struct est_projection_report {
  uint32_t struct_size;
  int64_t position; /* checkpointed: every event at or below it was handled, skipped or filtered out */
  int64_t head;     /* the store's last visible position when the run ended */
  int64_t handled;  /* events handed to the handler in this run (a failed call's count too) */
  int32_t caught_up; /* 1 when position reached head */
  int64_t skipped;  /* events skipped after a handler error (EST_PROJECTION_CONTINUE_ON_ERROR) */
} est_projection_report;

#define EST_PROJECTION_REPORT_INIT {sizeof(est_projection_report), 0, 0, 0, 0, 0}
EST_API void est_projection_report_init(est_projection_report *report);

/** Makes a projection of `store` driven by `handler` (copied; handler->user
 *  is kept and passed back). Loads its checkpoint; nothing runs until
 *  est_projection_run. *out is freed with est_projection_free.
 *  @param options NULL ok: every event, batches of 256, a checkpoint per
 *         call, at least once, stop on a handler error.
 *  @return EST_OK; EST_ERR_INVALID_ARGUMENT (a bad name or version, a NULL
 *          handle callback, bad filters or flags); EST_ERR_CLOSED;
 *          EST_ERR_UNSUPPORTED (exactly once on a backend without
 *          transactions); EST_ERR_IO. */
EST_API est_status est_projection_new(est_store *store, const est_projection_handler *handler,
                                      const est_projection_options *options, est_projection **out);

/** Catches up and follows for at most `budget_us` (a host's frame: a few
 *  milliseconds): 0 = everything ready now, never waiting for a commit;
 *  < 0 = until est_projection_wake or the store's close. Handler calls start only within the budget; the run then
 *  saves the checkpoint (one durable write) before it returns.
 *  @param report NULL ok; filled on every return once the run started.
 *  @return EST_OK (also after a wake); the handler's own error status (the
 *          checkpoint at the last call that succeeded); EST_ERR_CLOSED;
 *          EST_ERR_IO; EST_ERR_VERSION_MISMATCH (exactly once: an
 *          expectation of the handler's appends failed, nothing of that
 *          call was written); EST_ERR_NOT_FOUND (this version was retired
 *          by a cutover: see est_projection_cutover). */
EST_API est_status est_projection_run(est_projection *p, int64_t budget_us, est_projection_report *report);

/** Makes a running est_projection_run (or the next one) return EST_OK.
 *  Any thread, any time before the projection's free. */
EST_API est_status est_projection_wake(est_projection *p);

/** Frees the projection (its checkpoint stays in the store); NULL ok. */
EST_API void est_projection_free(est_projection *p);

/* Versioned rebuilds (doc/data-model.md "Rebuilds"). A projection's next
 * version runs from the first event beside the live one, under its own
 * checkpoint ("name_v2" beside "name_v1"). The history of each rebuild is
 * kept as events of the projection's history stream (stream type
 * "estoria.projection", one stream per name; event types rebuildcreated,
 * caughtup, promoted, previousretired, with JSON data):
 *   1. est_projection_rebuild records the request;
 *   2. the new version's projection runs; the first run that ends at the
 *      head records "caught up";
 *   3. est_projection_cutover (or EST_PROJECTION_CUTOVER_WHEN_CAUGHT_UP)
 *      records the promotion, deletes the old version's checkpoint and
 *      records its retirement. The old version's est_projection_run then
 *      returns EST_ERR_NOT_FOUND (within a second if it is running), and
 *      est_projection_new refuses a retired version. */

/** Records the request to build `next_version` of projection `name` beside
 *  its active version. `reason` (NULL ok) is kept in the history.
 *  @return EST_OK (also when that rebuild is already requested);
 *          EST_ERR_INVALID_ARGUMENT (a bad name, or next_version not above
 *          the active, requested and retired versions);
 *          EST_ERR_VERSION_MISMATCH (a racing change to the history: retry);
 *          EST_ERR_CLOSED, EST_ERR_IO. */
EST_API est_status est_projection_rebuild(est_store *store, const char *name, int32_t next_version,
                                          const char *reason);

/** Makes `version` the active version of `name` and retires the previous
 *  one (its checkpoint is deleted).
 *  @return EST_OK (also when it is active already);
 *          EST_ERR_VERSION_MISMATCH (no such rebuild is pending, it has not
 *          caught up yet, or a racing change to the history);
 *          EST_ERR_INVALID_ARGUMENT, EST_ERR_CLOSED, EST_ERR_IO. */
EST_API est_status est_projection_cutover(est_store *store, const char *name, int32_t version);

/** The active version of projection `name`: the last cutover's; for a
 *  projection never cut over, the lowest version with a checkpoint.
 *  @return EST_OK; EST_ERR_NOT_FOUND (no version of it ever checkpointed);
 *          EST_ERR_INVALID_ARGUMENT, EST_ERR_CLOSED, EST_ERR_IO. */
EST_API est_status est_projection_active_version(est_store *store, const char *name, int32_t *version);

#endif /* EST_EXPERIMENTAL */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ESTORIA_ESTORIA_H_ */
