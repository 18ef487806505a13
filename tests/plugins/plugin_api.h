/* plugin_api.h: what the test's plugins (plugin.c) offer their host
 * (plugin_host_test.cc). Each plugin links its own copy of libestoria.a and
 * exports one symbol, plugin_entry, which returns this table; everything
 * else, estoria included, is local to the plugin. The host never sees an
 * est_* symbol of a plugin: a store is an opaque pointer to it. */
#ifndef ESTORIA_TESTS_PLUGINS_PLUGIN_API_H_
#define ESTORIA_TESTS_PLUGINS_PLUGIN_API_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*plugin_log_fn)(void *user, int32_t level, const char *message);

typedef struct plugin_api {
  const char *name;
  /* est_abi_version() of the plugin's copy. */
  uint32_t (*abi_version)(void);
  /* est_set_log_handler in the plugin's copy only. */
  void (*set_log_handler)(plugin_log_fn handler, void *user);
  /* est_store_open / est_store_close; open returns an est_status and
   * copies est_last_error() into err on failure. */
  int32_t (*open)(const char *uri, void **store, char *err, size_t err_len);
  void (*close)(void *store);
  /* Subscribes from the start, appends `events` events (batches of 10, to
   * streams of `stream_type`), follows them all through the subscription
   * and reads them back in global order. Returns EST_OK or the first
   * failure (described in err); *delivered is what the subscription gave. */
  int32_t (*work)(void *store, const char *stream_type, int events, int64_t *delivered, char *err,
                  size_t err_len);
} plugin_api;

/* The one exported symbol of a plugin. */
const plugin_api *plugin_entry(void);

#ifdef __cplusplus
}
#endif

#endif /* ESTORIA_TESTS_PLUGINS_PLUGIN_API_H_ */
