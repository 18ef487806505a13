// PgListener: wakes a PostgreSQL store's followers when any connection, in
// any process or host, commits to the store. It is the store's
// CommitNotifier watch: Start (the first follower arrived) opens a dedicated
// connection that LISTENs on the store's channel, and a thread that calls
// CommitNotifier::Notify() on each notification; Stop (the last one left)
// ends the listening; Shutdown (store close) ends the thread.
//
// Why followers miss nothing, though a notification can arrive before an
// older transaction commits (positions follow transaction ids, and a read
// shows only transactions below its snapshot's xmin, pg_store.h):
//  - every append sends its NOTIFY after its COMMIT, in the same pipeline
//    (pg_store.cc says why not inside the transaction), so a follower woken
//    by it reads a snapshot taken after that commit;
//  - rows a read hid because an older transaction was still running become
//    readable when that transaction ends: if it is an append, its own
//    NOTIFY follows its commit; if it rolled back, or is no append of ours
//    (any transaction of the cluster holding an id holds back xmin), nobody
//    notifies, so after each wake the listener asks the server whether
//    committed rows sit at or above the current frontier, and while some
//    do it asks again (backoff from 1 ms to 100 ms) and notifies once they
//    have become readable.
//  - a dropped connection reconnects (backoff from 10 ms to 1 s, for as
//    long as followers remain) and, once listening again, notifies once:
//    followers re-read from their own positions, so nothing committed
//    meanwhile is missed and nothing is delivered twice.
//
// Thread safety: Start and Stop run under the notifier's lock (never block
// on the thread: it may be waiting for that lock inside Notify); Shutdown
// must not be called under it. The thread never holds mu_ while notifying.
#ifndef ESTORIA_CORE_PGSTORE_PG_LISTENER_H_
#define ESTORIA_CORE_PGSTORE_PG_LISTENER_H_

#include <libpq-fe.h>

#include <string>
#include <thread>

#include "absl/status/status.h"
#include "core/store/commit_notifier.h"
#include "core/util/mutex.h"

namespace estoria::core::pgstore {

// The channel of a store's schema: "estoria_<schema>", or a hash of the
// schema when that would pass PostgreSQL's 63-byte identifier limit (two
// long schemas may then share a channel: a spurious wake is harmless).
std::string ChannelFor(const std::string& schema);

class PgListener {
 public:
  // `schema` (an identifier, checked by the store) names the channel and
  // the events table of the frontier check; `notifier` must outlive the
  // listener.
  PgListener(std::string conninfo, const std::string& schema, CommitNotifier* notifier);
  ~PgListener();  // Shutdown()
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

  // Connects and LISTENs before returning (so no commit after it goes
  // unnoticed); kUnavailable when the server cannot be reached, ClosedError
  // after Shutdown.
  absl::Status Start();
  void Stop();
  // Ends the thread and the connection promptly; idempotent.
  void Shutdown();

  // The pg_stat_activity application_name of the listening connection.
  static std::string ApplicationName(const std::string& schema);

 private:
  absl::StatusOr<PGconn*> Listen();
  void Run();
  void Wake();
  enum class Woken { kSocket, kWake, kTimeout };
  // Waits for the wake descriptor or `conn`'s socket (may be null) for at
  // most timeout_ms (< 0: no limit).
  Woken Wait(PGconn* conn, int timeout_ms);
  // Whether committed rows sit at or above the readable frontier.
  absl::StatusOr<bool> HeldBack(PGconn* conn);

  const std::string conninfo_;
  const std::string application_name_;
  const std::string listen_sql_;
  const std::string held_back_sql_;
  CommitNotifier* const notifier_;
  int wake_fd_ = -1;  // an eventfd: Stop, Start and Shutdown wake the thread

  Mutex mu_;
  bool active_ ABSL_GUARDED_BY(mu_) = false;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  PGconn* handed_ ABSL_GUARDED_BY(mu_) = nullptr;  // a connection Start made, for the thread to take
  std::thread thread_ ABSL_GUARDED_BY(mu_);
};

}  // namespace estoria::core::pgstore

#endif  // ESTORIA_CORE_PGSTORE_PG_LISTENER_H_
