/* plugin.c: a plugin as a host loads it, built twice (plugin_a, plugin_b)
 * from this one source. Each links libestoria.a with its own version script
 * (plugin.map), so each carries a private copy of the library: its own log
 * handler, lock registry, last-error messages. C99, estoria/estoria.h only.
 * See doc/architecture.md "Plugins". */
#define EST_EXPERIMENTAL 1
#include <stdio.h>
#include <string.h>

#include "estoria/estoria.h"
#include "plugin_api.h"

#ifndef PLUGIN_NAME
#error "PLUGIN_NAME names the plugin"
#endif

static int32_t fail(est_status status, const char *what, char *err, size_t err_len) {
  snprintf(err, err_len, "%s: %s: %s", what, est_status_name(status), est_last_error());
  return status;
}

static uint32_t abi_version(void) { return est_abi_version(); }

static void set_log_handler(plugin_log_fn handler, void *user) { est_set_log_handler(handler, user); }

static int32_t open_store(const char *uri, void **store, char *err, size_t err_len) {
  est_store *s = NULL;
  est_status status = est_store_open(uri, NULL, &s);
  *store = s;
  return status == EST_OK ? EST_OK : fail(status, "est_store_open", err, err_len);
}

static void close_store(void *store) { est_store_close((est_store *)store); }

/* Drains the subscription until `want` events came, checking their order. */
static int32_t follow(est_subscription *sub, int64_t want, int64_t *delivered, char *err, size_t err_len) {
  est_event events[64];
  int64_t last = 0;
  int idle = 0;
  while (*delivered < want) {
    size_t count = 0;
    events[0] = (est_event)EST_EVENT_INIT;
    est_status status = est_subscription_poll(sub, events, 64, &count, 1000000);
    if (status != EST_OK) return fail(status, "est_subscription_poll", err, err_len);
    if (count == 0 && ++idle > 30) {
      snprintf(err, err_len, "the subscription stalled at %lld of %lld events", (long long)*delivered,
               (long long)want);
      return EST_ERR_INTERNAL;
    }
    for (size_t i = 0; i < count; ++i) {
      if (events[i].global_position <= last) {
        snprintf(err, err_len, "the subscription went back from position %lld to %lld", (long long)last,
                 (long long)events[i].global_position);
        return EST_ERR_INTERNAL;
      }
      last = events[i].global_position;
    }
    *delivered += (int64_t)count;
  }
  return EST_OK;
}

static int32_t work(void *store_ptr, const char *stream_type, int events, int64_t *delivered, char *err,
                    size_t err_len) {
  est_store *store = (est_store *)store_ptr;
  est_subscription *sub = NULL;
  est_subscribe_options so = EST_SUBSCRIBE_OPTIONS_INIT;
  est_status status;
  int32_t result = EST_OK;
  *delivered = 0;
  if ((status = est_subscribe(store, &so, &sub)) != EST_OK) return fail(status, "est_subscribe", err, err_len);

  char id[EST_ID_MAX_LEN];
  for (int written = 0; written < events && result == EST_OK;) {
    if (written % 100 == 0) {  /* a new stream every 100 events */
      est_uuid uuid;
      if ((status = est_uuid_v7(&uuid)) != EST_OK ||
          (status = est_id_format(stream_type, &uuid, id, sizeof id)) != EST_OK) {
        result = fail(status, "a stream ID", err, err_len);
        break;
      }
    }
    est_batch *batch = NULL;
    if ((status = est_batch_new(&batch)) != EST_OK) {
      result = fail(status, "est_batch_new", err, err_len);
      break;
    }
    for (int i = 0; i < 10 && written < events; ++i, ++written) {
      char data[32];
      int len = snprintf(data, sizeof data, "%s %d", PLUGIN_NAME, written);
      if ((status = est_batch_add(batch, "noted", data, (size_t)len, "text/plain")) != EST_OK) break;
    }
    if (status == EST_OK) status = est_append_batch(store, id, batch, NULL, NULL, NULL);
    est_batch_free(batch);
    if (status != EST_OK) result = fail(status, "appending", err, err_len);
  }
  if (result == EST_OK) result = follow(sub, events, delivered, err, err_len);
  est_subscription_close(sub);
  if (result != EST_OK) return result;

  /* Read back in global order: every event, each carrying this plugin's name. */
  est_iter *it = NULL;
  if ((status = est_read_all(store, NULL, &it)) != EST_OK) return fail(status, "est_read_all", err, err_len);
  est_event e = EST_EVENT_INIT;
  int64_t read = 0;
  const size_t name_len = strlen(PLUGIN_NAME);
  while ((status = est_iter_next(it, &e)) == EST_OK) {
    if (e.data_len < name_len || memcmp(e.data, PLUGIN_NAME, name_len) != 0) {
      snprintf(err, err_len, "event at position %lld is not %s's", (long long)e.global_position, PLUGIN_NAME);
      status = EST_ERR_INTERNAL;
      break;
    }
    ++read;
  }
  est_iter_close(it);
  if (status != EST_END) return status == EST_ERR_INTERNAL ? status : fail(status, "est_iter_next", err, err_len);
  if (read != events) {
    snprintf(err, err_len, "read %lld events back, wrote %d", (long long)read, events);
    return EST_ERR_INTERNAL;
  }
  return EST_OK;
}

const plugin_api *plugin_entry(void) {
  static const plugin_api api = {PLUGIN_NAME, abi_version, set_log_handler, open_store, close_store, work};
  return &api;
}
