// A plugin host: loads two plugins (plugin_a, plugin_b: plugin.c built
// twice), each carrying its own copy of libestoria.a, with RTLD_LOCAL; runs
// a file store in each at once from two threads; checks that each copy has
// its own process-wide state (log handler, lock registry) while the file
// locks still hold across copies; then unloads both and checks they are
// gone. The host links libestoria.so too: a third copy, which hears nothing
// of the plugins'. See doc/architecture.md "Plugins".
#include <dlfcn.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "estoria/estoria.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/temp_dir.h"
#include "tests/plugins/plugin_api.h"

namespace {

using ::testing::HasSubstr;

// What one copy's log handler heard. Set and removed by the thread that
// runs the copy; read after that thread was joined.
struct Heard {
  std::vector<std::string> messages;
  static void Collect(void* user, int32_t, const char* message) {
    static_cast<Heard*>(user)->messages.emplace_back(message);
  }
};

// A loaded plugin. Nothing here calls into the plugin from the test's own
// thread: a thread that ran the library's code holds thread_local
// destructors of it, which keep the plugin mapped until that thread exits
// (doc/architecture.md "Unloading").
struct Plugin {
  std::string path;
  void* handle = nullptr;
  const plugin_api* api = nullptr;

  explicit Plugin(std::string p) : path(std::move(p)) {
    handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) return;
    auto entry = reinterpret_cast<const plugin_api* (*)()>(dlsym(handle, "plugin_entry"));
    if (entry != nullptr) api = entry();
  }
  bool Loaded() const {
    void* again = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
    if (again != nullptr) dlclose(again);
    return again != nullptr;
  }
};

// What one plugin's thread did.
struct PluginRun {
  int32_t status = -100;
  int64_t delivered = 0;
  std::string error;
  Heard heard;
};

constexpr int kEvents = 3000;

// In the plugin's copy: sets its log handler, runs the workload on a file
// store in `dir`, reopens the store (whose open then logs that it used the
// index checkpoint), and removes the handler.
void RunPlugin(const plugin_api* api, const std::string& dir, const char* stream_type, PluginRun* run) {
  char err[512] = "";
  api->set_log_handler(&Heard::Collect, &run->heard);
  const std::string uri = "file:" + dir;
  void* store = nullptr;
  run->status = api->open(uri.c_str(), &store, err, sizeof err);
  if (run->status == EST_OK) {
    run->status = api->work(store, stream_type, kEvents, &run->delivered, err, sizeof err);
    api->close(store);
  }
  if (run->status == EST_OK) {
    run->status = api->open(uri.c_str(), &store, err, sizeof err);
    api->close(store);
  }
  api->set_log_handler(nullptr, nullptr);  // returns once no call is in progress
  run->error = err;
}

TEST(Plugins, TwoCopiesRunStoresAtOnceEachWithItsOwnStateAndUnload) {
  Heard host_heard;
  est_set_log_handler(&Heard::Collect, &host_heard);  // the host's own copy (libestoria.so)

  Plugin a(PLUGIN_A_PATH);
  Plugin b(PLUGIN_B_PATH);
  ASSERT_NE(a.handle, nullptr) << dlerror();
  ASSERT_NE(b.handle, nullptr) << dlerror();
  ASSERT_NE(a.api, nullptr);
  ASSERT_NE(b.api, nullptr);
  EXPECT_NE(a.handle, b.handle);
  EXPECT_STREQ(a.api->name, "plugin_a");
  EXPECT_STREQ(b.api->name, "plugin_b");
  // Each copy's own code, not one shared symbol found through the other.
  EXPECT_NE(reinterpret_cast<const void*>(a.api->work), reinterpret_cast<const void*>(b.api->work));
  // No est_* symbol is visible through a plugin's handle.
  EXPECT_EQ(dlsym(a.handle, "est_store_open"), nullptr);
  EXPECT_EQ(dlsym(b.handle, "est_abi_version"), nullptr);

  estoria::test::TempDir dir_a("plugin_a");
  estoria::test::TempDir dir_b("plugin_b");
  PluginRun run_a, run_b;
  {
    std::thread ta(RunPlugin, a.api, dir_a.path(), "alpha", &run_a);
    std::thread tb(RunPlugin, b.api, dir_b.path(), "beta", &run_b);
    ta.join();
    tb.join();
  }
  for (const PluginRun* run : {&run_a, &run_b}) {
    EXPECT_EQ(run->status, EST_OK) << run->error;
    EXPECT_EQ(run->delivered, kEvents);
  }
  // Each copy's handler heard its own store's reopen, and only its own.
  ASSERT_FALSE(run_a.heard.messages.empty());
  ASSERT_FALSE(run_b.heard.messages.empty());
  EXPECT_THAT(run_a.heard.messages.back(), HasSubstr("opened from the index checkpoint"));
  EXPECT_THAT(run_b.heard.messages.back(), HasSubstr("opened from the index checkpoint"));
  for (const std::string& m : run_a.heard.messages) EXPECT_THAT(m, HasSubstr(dir_a.path())) << m;
  for (const std::string& m : run_b.heard.messages) EXPECT_THAT(m, HasSubstr(dir_b.path())) << m;
  EXPECT_TRUE(host_heard.messages.empty()) << host_heard.messages.front();
  est_set_log_handler(nullptr, nullptr);

  // Unloaded for real: the threads that ran each copy have exited.
  ASSERT_EQ(dlclose(a.handle), 0) << dlerror();
  ASSERT_EQ(dlclose(b.handle), 0) << dlerror();
  EXPECT_FALSE(a.Loaded()) << a.path << " is still mapped after dlclose";
  EXPECT_FALSE(b.Loaded()) << b.path << " is still mapped after dlclose";
}

// The same directory opened writable from two copies: each copy's lock
// registry knows only its own opens, and the flock on the store's lock file
// is what refuses the second one, naming this process.
TEST(Plugins, AStoreOpenInOneCopyIsBusyInTheOther) {
  Plugin a(PLUGIN_A_PATH);
  Plugin b(PLUGIN_B_PATH);
  ASSERT_NE(a.api, nullptr) << dlerror();
  ASSERT_NE(b.api, nullptr) << dlerror();
  estoria::test::TempDir dir("plugin_busy");
  const std::string uri = "file:" + dir.path();
  int32_t first = -100, second = -100, after = -100;
  std::string second_error;
  std::thread t([&] {
    char err[512] = "";
    void* held = nullptr;
    void* other = nullptr;
    first = a.api->open(uri.c_str(), &held, err, sizeof err);
    second = b.api->open(uri.c_str(), &other, err, sizeof err);
    second_error = err;
    b.api->close(other);
    a.api->close(held);
    after = b.api->open(uri.c_str(), &other, err, sizeof err);
    b.api->close(other);
  });
  t.join();
  EXPECT_EQ(first, EST_OK);
  EXPECT_EQ(second, EST_ERR_BUSY);
  EXPECT_THAT(second_error, HasSubstr(std::to_string(getpid())));
  EXPECT_EQ(after, EST_OK);
  ASSERT_EQ(dlclose(a.handle), 0);
  ASSERT_EQ(dlclose(b.handle), 0);
  EXPECT_FALSE(a.Loaded());
  EXPECT_FALSE(b.Loaded());
}

}  // namespace
