// PgListener: see pg_listener.h for what it promises and why it holds.
#include "core/pgstore/pg_listener.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/pgstore/pg_glue.h"
#include "core/pgstore/pg_position.h"
#include "core/util/status.h"

namespace estoria::core::pgstore {
namespace {

constexpr int kFirstReconnectMs = 10;
constexpr int kMaxReconnectMs = 1000;
constexpr int kFirstRecheckMs = 1;
constexpr int kMaxRecheckMs = 100;

// True when libpq held notifications (all consumed).
bool DrainNotifies(PGconn* conn) {
  bool any = false;
  while (PGnotify* n = PQnotifies(conn)) {
    any = true;
    PQfreemem(n);
  }
  return any;
}

}  // namespace

std::string ChannelFor(const std::string& schema) {
  std::string channel = absl::StrCat("estoria_", schema);
  if (channel.size() <= 63) return channel;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(std::hash<std::string>{}(schema)));
  return absl::StrCat("estoria_", schema.substr(0, 30), "_", hex);
}

std::string PgListener::ApplicationName(const std::string& schema) {
  return absl::StrCat("estoria listener ", schema).substr(0, 63);
}

PgListener::PgListener(std::string conninfo, const std::string& schema, CommitNotifier* notifier)
    : conninfo_(std::move(conninfo)),
      application_name_(ApplicationName(schema)),
      listen_sql_(absl::StrCat("LISTEN \"", ChannelFor(schema), "\"")),
      // max() reads one end of the position index whatever the statistics
      // say (an EXISTS over a range may be planned as a sequential scan).
      held_back_sql_(absl::StrCat("SELECT COALESCE((SELECT max(position) FROM \"", schema, "\".events) >= ",
                                  kReadableFrontierSql, ", false)")),
      notifier_(notifier),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

PgListener::~PgListener() {
  Shutdown();
  if (wake_fd_ >= 0) close(wake_fd_);
}

absl::StatusOr<PGconn*> PgListener::Listen() {
  PGconn* conn = nullptr;
  ASSIGN_OR_RETURN(conn, ConnectTo(conninfo_, application_name_));
  if (absl::Status s = Exec(conn, listen_sql_.c_str()); !s.ok()) {
    PQfinish(conn);
    return s;
  }
  return conn;
}

absl::Status PgListener::Start() {
  if (wake_fd_ < 0) return absl::ResourceExhaustedError("no eventfd for the PostgreSQL listener");
  {
    MutexLock lock(&mu_);
    if (shutdown_) return ClosedError();
  }
  PGconn* conn = nullptr;
  ASSIGN_OR_RETURN(conn, Listen());
  {
    MutexLock lock(&mu_);
    if (shutdown_) {
      PQfinish(conn);
      return ClosedError();
    }
    if (handed_ != nullptr) PQfinish(handed_);
    handed_ = conn;
    active_ = true;
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  }
  Wake();
  return absl::OkStatus();
}

void PgListener::Stop() {
  {
    MutexLock lock(&mu_);
    active_ = false;
  }
  Wake();
}

void PgListener::Shutdown() {
  std::thread thread;
  PGconn* handed = nullptr;
  {
    MutexLock lock(&mu_);
    shutdown_ = true;
    active_ = false;
    thread.swap(thread_);
    std::swap(handed, handed_);
  }
  Wake();
  if (thread.joinable()) thread.join();
  if (handed != nullptr) PQfinish(handed);
}

void PgListener::Wake() {
  const uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof one);
}

PgListener::Woken PgListener::Wait(PGconn* conn, int timeout_ms) {
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {conn == nullptr ? -1 : PQsocket(conn), POLLIN, 0}};
  const int n = poll(fds, conn == nullptr ? 1 : 2, timeout_ms);
  if (n <= 0) return Woken::kTimeout;  // EINTR counts as a timeout: the loop looks again
  if (fds[0].revents != 0) {
    uint64_t count = 0;
    (void)!read(wake_fd_, &count, sizeof count);
    return Woken::kWake;
  }
  return Woken::kSocket;
}

absl::StatusOr<bool> PgListener::HeldBack(PGconn* conn) {
  Result r(PQexec(conn, held_back_sql_.c_str()));
  if (r == nullptr || PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) != 1) {
    return PgError(conn, r.get(), "checking the readable frontier");
  }
  return PQgetvalue(r.get(), 0, 0)[0] == 't';
}

void PgListener::Run() {
  PGconn* conn = nullptr;
  int reconnect_ms = 0;  // > 0: the connection was lost, try again after this
  int recheck_ms = 0;    // > 0: rows were held back, look again after this
  bool check_now = false;
  for (;;) {
    bool active = false;
    {
      MutexLock lock(&mu_);
      if (shutdown_) break;
      if (handed_ != nullptr) {
        if (conn != nullptr) PQfinish(conn);
        conn = handed_;
        handed_ = nullptr;
        reconnect_ms = 0;
        check_now = true;  // rows held back before the first follower read
      }
      active = active_;
    }
    if (!active) {
      if (conn != nullptr) PQfinish(conn);
      conn = nullptr;
      reconnect_ms = recheck_ms = 0;
      check_now = false;
      Wait(nullptr, -1);
      continue;
    }
    if (conn == nullptr) {  // lost: wait, then listen again
      if (Wait(nullptr, reconnect_ms) == Woken::kWake) continue;
      absl::StatusOr<PGconn*> again = Listen();
      if (!again.ok()) {
        reconnect_ms = std::min(reconnect_ms * 2, kMaxReconnectMs);
        continue;
      }
      conn = *again;
      reconnect_ms = 0;
      notifier_->Notify();  // whatever committed while nobody listened
      check_now = true;
      continue;
    }
    bool lost = false;
    if (DrainNotifies(conn)) {  // arrived during the last check
      notifier_->Notify();
      check_now = true;
    }
    if (!check_now) {
      const Woken woken = Wait(conn, recheck_ms > 0 ? recheck_ms : -1);
      if (woken == Woken::kWake) continue;
      if (woken == Woken::kTimeout) check_now = recheck_ms > 0;
      if (woken == Woken::kSocket) {
        if (PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK) {
          lost = true;
        } else if (DrainNotifies(conn)) {
          notifier_->Notify();
          check_now = true;
        }
      }
    }
    if (!lost && check_now) {
      check_now = false;
      absl::StatusOr<bool> held = HeldBack(conn);
      if (!held.ok()) {
        lost = PQstatus(conn) != CONNECTION_OK;
        if (!lost) recheck_ms = std::max(recheck_ms, kMaxRecheckMs);  // a server error: look again later
      } else if (*held) {
        recheck_ms = recheck_ms == 0 ? kFirstRecheckMs : std::min(recheck_ms * 2, kMaxRecheckMs);
      } else if (recheck_ms > 0) {
        recheck_ms = 0;
        notifier_->Notify();  // the held-back rows are readable now
      }
    }
    if (lost) {
      PQfinish(conn);
      conn = nullptr;
      reconnect_ms = kFirstReconnectMs;
      recheck_ms = 0;
      check_now = false;
    }
  }
  if (conn != nullptr) PQfinish(conn);
}

}  // namespace estoria::core::pgstore
