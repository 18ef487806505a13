// subscribe_follower: a subscriber process of tests/readers. It opens DIR
// read-only ("file:DIR?mode=ro"), subscribes from the first event and prints
// every delivered event, waking only when its subscription's descriptor polls
// readable (the writer's publication, through the frontier's futex) or when
// stdin has a command. Only the C ABI is used.
//
//   subscribe_follower DIR
//
// Protocol (stdout): "subscribed", then "ev POSITION DATA" per event, in
// delivery order; "end POSITION" once its position reached the target, then
// it exits 0; "error STATUS_NAME MESSAGE" (exit 2). Stdin: "until P" sets the
// target position. Stdin closed early: exit 3. A lost parent never leaves it
// running (a time limit, and the parent-death signal ChildProcess sets).
#define EST_EXPERIMENTAL
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "estoria/estoria.h"

namespace {

constexpr auto kMaxRunTime = std::chrono::seconds(180);

[[noreturn]] void Fail(const char* what, est_status st) {
  std::printf("error %s %s: %s\n", est_status_name(st), what, est_last_error());
  std::fflush(stdout);
  std::_Exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: subscribe_follower DIR\n");
    return 1;
  }
  const auto started = std::chrono::steady_clock::now();
  const std::string uri = std::string("file:") + argv[1] + "?mode=ro";
  est_store* store = nullptr;
  est_status st = EST_OK;
  // The writer may still be creating the store.
  while ((st = est_store_open(uri.c_str(), nullptr, &store)) != EST_OK) {
    if (std::chrono::steady_clock::now() - started > std::chrono::seconds(30)) Fail("est_store_open", st);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  est_subscription* sub = nullptr;
  if ((st = est_subscribe(store, nullptr, &sub)) != EST_OK) Fail("est_subscribe", st);
  int fd = -1;
  if ((st = est_subscription_fd(sub, &fd)) != EST_OK) Fail("est_subscription_fd", st);
  std::printf("subscribed\n");
  std::fflush(stdout);

  int64_t target = -1;
  std::string input;
  std::vector<est_event> events(128);
  std::string out;
  while (std::chrono::steady_clock::now() - started < kMaxRunTime) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    if (poll(fds, 2, 1000) < 0) continue;
    if (fds[1].revents != 0) {
      char buf[256];
      const ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n <= 0) return 3;
      input.append(buf, static_cast<size_t>(n));
      for (size_t nl; (nl = input.find('\n')) != std::string::npos; input.erase(0, nl + 1)) {
        long long p = 0;
        if (std::sscanf(input.c_str(), "until %lld", &p) == 1) target = p;
      }
    }
    // Readable means "may be ready": drain without waiting.
    for (;;) {
      events[0] = est_event EST_EVENT_INIT;
      size_t count = 0;
      if ((st = est_subscription_poll(sub, events.data(), events.size(), &count, 0)) != EST_OK) {
        Fail("est_subscription_poll", st);
      }
      if (count == 0) break;
      out.clear();
      for (size_t i = 0; i < count; ++i) {
        out += "ev " + std::to_string(events[i].global_position) + " " +
               std::string(reinterpret_cast<const char*>(events[i].data), events[i].data_len) + "\n";
      }
      std::fwrite(out.data(), 1, out.size(), stdout);
    }
    std::fflush(stdout);
    if (target >= 0 && est_subscription_position(sub) >= target) {
      std::printf("end %" PRId64 "\n", est_subscription_position(sub));
      std::fflush(stdout);
      est_subscription_close(sub);
      est_store_close(store);
      return 0;
    }
  }
  std::printf("error TIMEOUT the run took too long\n");
  std::fflush(stdout);
  return 2;
}
