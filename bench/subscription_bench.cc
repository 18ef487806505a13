// subscription_bench (Google Benchmark): live subscriptions through the C ABI.
//
//   latency/<how>      commit-to-delivery: a writer stamps CLOCK_MONOTONIC
//                      into an event's data just before est_append; the
//                      subscriber, already waiting, reads the clock when the
//                      event is delivered. p50_us / p99_us counters.
//                      how = sub_memory, sub_file (in process, file sync
//                      none: the fdatasync is durability, not delivery),
//                      sub_file_process (writer in a child process, reader a
//                      read-only open here), and today's way for comparison:
//                      poll_1ms_file_process / poll_200ms_file_process
//                      (est_read_all every 1 ms / 200 ms, as est tail -f did).
//                      PostgreSQL rows: registered by the PostgreSQL work
//                      beside these (RegisterPostgresLatency, below).
//   follow_16_writers  one subscriber following 16 threads appending
//                      durably (sync always) to a file store for 2 s:
//                      appended/s, delivered/s, max and final lag.
//   append/<store>/idle_subscribers:N  the append rate with N subscribers
//                      that are caught up and not polling (the cost the
//                      writer pays for them): compare N = 0, 1, 100.
//
// The writer child of the process rows is this executable run as
// "subscription_bench --writer-child DIR" (fork + exec).
#define EST_EXPERIMENTAL
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "estoria/estoria.h"

namespace {

int64_t MonoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void Die(const char* what, est_status st) {
  std::fprintf(stderr, "%s: %s: %s\n", what, est_status_name(st), est_last_error());
  std::exit(1);
}

std::string TempDir(const char* tag) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (std::string("est-subbench-") + tag + "-XXXXXX"));
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  return tmpl;
}

est_store* Open(const std::string& uri, int32_t sync_mode) {
  est_store_options o = EST_STORE_OPTIONS_INIT;
  o.sync_mode = sync_mode;
  est_store* store = nullptr;
  if (est_status st = est_store_open(uri.c_str(), &o, &store); st != EST_OK) Die("est_store_open", st);
  return store;
}

// A batch of one event whose data is `stamp` (8 bytes).
void AppendStamp(est_store* store, const char* stream, int64_t stamp) {
  est_batch* batch = nullptr;
  est_batch_new(&batch);
  est_batch_add(batch, "stamp", &stamp, sizeof stamp, nullptr);
  if (est_status st = est_append_batch(store, stream, batch, nullptr, nullptr, nullptr); st != EST_OK) {
    Die("est_append_batch", st);
  }
  est_batch_free(batch);
}

int64_t StampOf(const est_event& e) {
  int64_t stamp = 0;
  if (e.data_len == sizeof stamp) std::memcpy(&stamp, e.data, sizeof stamp);
  return stamp;
}

constexpr char kStream[] = "bench_0190f3c4-8d1e-7c3a-9b2f-000000000001";

void Percentiles(benchmark::State& state, std::vector<int64_t>& ns) {
  if (ns.empty()) return;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) { return static_cast<double>(ns[std::min(ns.size() - 1, size_t(q * ns.size()))]) / 1e3; };
  state.counters["p50_us"] = at(0.50);
  state.counters["p99_us"] = at(0.99);
  state.counters["max_us"] = static_cast<double>(ns.back()) / 1e3;
}

// ---------------------------------------------------------- writers

// A writer thread in this process: appends one stamped event per Trigger.
class ThreadWriter {
 public:
  explicit ThreadWriter(est_store* store) : thread_([this, store] { Run(store); }) {}
  ~ThreadWriter() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void Trigger() {
    {
      std::lock_guard<std::mutex> l(mu_);
      ++wanted_;
    }
    cv_.notify_one();
  }

 private:
  void Run(est_store* store) {
    int64_t done = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return stop_ || wanted_ > done; });
        if (stop_) return;
      }
      ++done;
      AppendStamp(store, kStream, MonoNs());
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t wanted_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

// A writer process (this executable, --writer-child): one stamped append per
// line on its stdin.
class ProcessWriter {
 public:
  explicit ProcessWriter(const std::string& dir) {
    int in[2];
    if (pipe2(in, O_CLOEXEC) != 0) std::exit(1);
    char self[4096];
    const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) std::exit(1);
    self[n] = 0;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], STDIN_FILENO);
      execl(self, self, "--writer-child", dir.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(in[0]);
    fd_ = in[1];
  }
  ~ProcessWriter() {
    close(fd_);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  void Trigger() {
    if (write(fd_, "g", 1) != 1) std::exit(1);
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
};

int WriterChild(const char* dir) {
  est_store* store = Open(std::string("file:") + dir, EST_SYNC_NONE);
  AppendStamp(store, kStream, 0);  // the store exists: the parent may open it (stamp 0: not measured)
  char c;
  while (read(STDIN_FILENO, &c, 1) == 1) AppendStamp(store, kStream, MonoNs());
  est_store_close(store);
  return 0;
}

// ---------------------------------------------------------- latency

// Waits (subscription) for the event each trigger makes.
template <typename Writer>
void SubscriptionLatency(benchmark::State& state, est_store* reader, Writer& writer) {
  est_subscribe_options o = EST_SUBSCRIBE_OPTIONS_INIT;
  o.after_position = EST_POSITION_END;
  est_subscription* sub = nullptr;
  if (est_status st = est_subscribe(reader, &o, &sub); st != EST_OK) Die("est_subscribe", st);
  std::vector<int64_t> latencies;
  est_event events[16];
  for (auto _ : state) {
    writer.Trigger();
    for (;;) {
      events[0] = est_event EST_EVENT_INIT;
      size_t count = 0;
      if (est_status st = est_subscription_poll(sub, events, 16, &count, -1); st != EST_OK) Die("poll", st);
      if (count > 0 && StampOf(events[count - 1]) > 0) {
        latencies.push_back(MonoNs() - StampOf(events[count - 1]));
        break;
      }
    }
  }
  est_subscription_close(sub);
  Percentiles(state, latencies);
}

// Reads with est_read_all every `interval` until the triggered event shows.
template <typename Writer>
void PollingLatency(benchmark::State& state, est_store* reader, Writer& writer, std::chrono::microseconds interval) {
  int64_t position = 0;
  {
    est_iter* it = nullptr;
    est_read_all(reader, nullptr, &it);
    est_event e = EST_EVENT_INIT;
    while (est_iter_next(it, &e) == EST_OK) position = e.global_position;
    est_iter_close(it);
  }
  std::vector<int64_t> latencies;
  for (auto _ : state) {
    writer.Trigger();
    bool seen = false;
    while (!seen) {
      std::this_thread::sleep_for(interval);
      est_read_all_options o = EST_READ_ALL_OPTIONS_INIT;
      o.after_position = position;
      est_iter* it = nullptr;
      if (est_status st = est_read_all(reader, &o, &it); st != EST_OK) Die("est_read_all", st);
      est_event e = EST_EVENT_INIT;
      while (est_iter_next(it, &e) == EST_OK) {
        position = e.global_position;
        if (StampOf(e) == 0) continue;
        latencies.push_back(MonoNs() - StampOf(e));
        seen = true;
      }
      est_iter_close(it);
    }
  }
  Percentiles(state, latencies);
}

void LatencyInProcess(benchmark::State& state, bool file) {
  const std::string dir = file ? TempDir("lat") : "";
  est_store* store = Open(file ? "file:" + dir : "memory:", EST_SYNC_NONE);
  {
    ThreadWriter writer(store);
    SubscriptionLatency(state, store, writer);
  }
  est_store_close(store);
  if (file) std::filesystem::remove_all(dir);
}

void LatencyAcrossProcesses(benchmark::State& state, int64_t poll_interval_us) {
  const std::string dir = TempDir("proc");
  {
    ProcessWriter writer(dir);
    est_store* reader = nullptr;
    for (int i = 0; i < 1000 && reader == nullptr; ++i) {
      est_store_options o = EST_STORE_OPTIONS_INIT;
      o.read_only = 1;
      if (est_store_open(("file:" + dir).c_str(), &o, &reader) != EST_OK) {
        reader = nullptr;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    if (reader == nullptr) Die("read-only open", EST_ERR_IO);
    if (poll_interval_us == 0) {
      SubscriptionLatency(state, reader, writer);
    } else {
      PollingLatency(state, reader, writer, std::chrono::microseconds(poll_interval_us));
    }
    est_store_close(reader);
  }
  std::filesystem::remove_all(dir);
}

// ---------------------------------------------------------- following

void Follow16Writers(benchmark::State& state) {
  constexpr int kWriters = 16;
  const auto kRun = std::chrono::seconds(2);
  for (auto _ : state) {
    const std::string dir = TempDir("follow");
    est_store* store = Open("file:" + dir, EST_SYNC_ALWAYS);
    est_subscription* sub = nullptr;
    if (est_status st = est_subscribe(store, nullptr, &sub); st != EST_OK) Die("est_subscribe", st);
    std::atomic<bool> stop{false};
    std::atomic<int64_t> appended{0}, last_position{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        char stream[64];
        std::snprintf(stream, sizeof stream, "bench_0190f3c4-8d1e-7c3a-9b2f-%012d", w + 2);
        est_batch* batch = nullptr;
        est_batch_new(&batch);
        est_batch_add(batch, "tick", "0123456789abcdef", 16, nullptr);
        while (!stop.load(std::memory_order_relaxed)) {
          est_append_result r = EST_APPEND_RESULT_INIT;
          if (est_status st = est_append_batch(store, stream, batch, nullptr, &r, nullptr); st != EST_OK) Die("append", st);
          appended.fetch_add(1, std::memory_order_relaxed);
          int64_t seen = last_position.load(std::memory_order_relaxed);
          while (r.last_position > seen && !last_position.compare_exchange_weak(seen, r.last_position)) {
          }
        }
        est_batch_free(batch);
      });
    }
    std::vector<est_event> events(1024);
    int64_t delivered = 0, max_lag = 0;
    const auto begin = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - begin < kRun) {
      events[0] = est_event EST_EVENT_INIT;
      size_t count = 0;
      if (est_status st = est_subscription_poll(sub, events.data(), events.size(), &count, 100000); st != EST_OK) Die("poll", st);
      delivered += static_cast<int64_t>(count);
      max_lag = std::max(max_lag, last_position.load() - est_subscription_position(sub));
    }
    stop.store(true);
    for (std::thread& t : writers) t.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    const int64_t final_lag = last_position.load() - est_subscription_position(sub);
    state.counters["appended_per_s"] = static_cast<double>(appended.load()) / seconds;
    state.counters["delivered_per_s"] = static_cast<double>(delivered) / seconds;
    state.counters["max_lag_events"] = static_cast<double>(max_lag);
    state.counters["lag_at_stop_events"] = static_cast<double>(final_lag);
    est_subscription_close(sub);
    est_store_close(store);
    std::filesystem::remove_all(dir);
  }
}

// ---------------------------------------------------------- writer's cost

void AppendWithIdleSubscribers(benchmark::State& state, bool file) {
  const std::string dir = file ? TempDir("idle") : "";
  est_store* store = Open(file ? "file:" + dir : "memory:", EST_SYNC_NONE);
  std::vector<est_subscription*> subs(static_cast<size_t>(state.range(0)));
  for (est_subscription*& s : subs) {
    if (est_status st = est_subscribe(store, nullptr, &s); st != EST_OK) Die("est_subscribe", st);
    est_event e = EST_EVENT_INIT;
    size_t count = 0;
    est_subscription_poll(s, &e, 1, &count, 0);  // caught up and armed, then never polled again
  }
  est_batch* batch = nullptr;
  est_batch_new(&batch);
  est_batch_add(batch, "tick", "0123456789abcdef", 16, nullptr);
  for (auto _ : state) {
    if (est_status st = est_append_batch(store, kStream, batch, nullptr, nullptr, nullptr); st != EST_OK) Die("append", st);
  }
  state.SetItemsProcessed(state.iterations());
  est_batch_free(batch);
  for (est_subscription* s : subs) est_subscription_close(s);
  est_store_close(store);
  if (file) std::filesystem::remove_all(dir);
}

void Register() {
  benchmark::RegisterBenchmark("latency/sub_memory", LatencyInProcess, false)->Iterations(2000)->UseRealTime();
  benchmark::RegisterBenchmark("latency/sub_file", LatencyInProcess, true)->Iterations(2000)->UseRealTime();
  benchmark::RegisterBenchmark("latency/sub_file_process", LatencyAcrossProcesses, 0)->Iterations(2000)->UseRealTime();
  benchmark::RegisterBenchmark("latency/poll_1ms_file_process", LatencyAcrossProcesses, 1000)
      ->Iterations(300)
      ->UseRealTime();
  benchmark::RegisterBenchmark("latency/poll_200ms_file_process", LatencyAcrossProcesses, 200000)
      ->Iterations(15)
      ->UseRealTime();
  // PostgreSQL latency rows go here (the PostgreSQL store's follower).
  benchmark::RegisterBenchmark("follow_16_writers/file_sync_always", Follow16Writers)
      ->Iterations(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  for (bool file : {false, true}) {
    benchmark::RegisterBenchmark(file ? "append/file_sync_none" : "append/memory", AppendWithIdleSubscribers, file)
        ->ArgName("idle_subscribers")
        ->Arg(0)
        ->Arg(1)
        ->Arg(100)
        ->MinTime(1.0);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--writer-child") == 0) return WriterChild(argv[2]);
  signal(SIGPIPE, SIG_IGN);
  benchmark::Initialize(&argc, argv);
  Register();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
