// bank_projections.cc: read models of the bank (estoria/demo/bank.hpp) as
// projections (doc/data-model.md "Projections").
//
// - balances (exactly once): for every account event, the account's new
//   balance is appended to "balance_<account uuid>" through the projection's
//   transaction, so it commits with the checkpoint: however the program
//   stops, each account event has exactly one balance line. The handler
//   reads a balance stream's last line the first time it meets the account,
//   so it knows only what was committed.
// - daily_report (at least once, in memory): deposits, withdrawals and their
//   sums per UTC day. An in-memory read model starts empty, so each start
//   rebuilds it as the next version from the first event and cuts over when
//   it has caught up (a versioned rebuild: the history is kept in the store).
//
// The bank's activity is written with the typed aggregates, the balances are
// checked against the accounts' own state, and the report is printed.
//
// Usage: bank_projections [STORE_URI]   (default "memory:"; run it twice on a
// file store: the second run continues the first). Exits non-zero on any
// failure or a figure that is not what the story expects.
#define EST_EXPERIMENTAL
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "estoria/aggregates/projection.hpp"
#include "estoria/demo/bank.hpp"
#include "estoria/estoria.hpp"
#include "estoria/projection.hpp"

namespace {

using namespace estoria::demo::bank;
using estoria::EventView;
using estoria::ProjectionTxn;
using estoria::Result;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bank_projections: %s\n", what.c_str());
  std::exit(1);
}
template <class T>
T Must(Result<T> r, const std::string& doing) {
  if (!r.ok()) Die(doing + ": " + r.error().ToString());
  return std::move(r).value();
}
void Must(const Result<void>& r, const std::string& doing) {
  if (!r.ok()) Die(doing + ": " + r.error().ToString());
}

int64_t Delta(const Event& event) {
  if (const auto* d = std::get_if<Deposited>(&event)) return d->amount;
  if (const auto* w = std::get_if<Withdrawn>(&event)) return -w->amount;
  return 0;
}

// The last balance line of `stream`, 0 when it has none.
int64_t LastBalance(const estoria::Store& store, const std::string& stream) {
  estoria::ReadOptions o;
  o.direction = estoria::Direction::kReverse;
  o.count = 1;
  Result<estoria::StreamIterator> it = store.ReadStream(stream, o);
  if (!it.ok() && it.error().status() == EST_ERR_NOT_FOUND) return 0;
  for (const EventView& e : Must(std::move(it), "reading " + stream)) return std::stoll(std::string(e.data_string()));
  return 0;
}

// The balances projection's handler.
struct Balances {
  const estoria::Store* store;
  std::map<std::string, int64_t> known;  // balance stream -> committed balance

  Result<void> operator()(const EventView& e, const Event& event, ProjectionTxn* tx) {
    const std::string stream = "balance_" + e.stream_uuid().ToString();
    auto it = known.find(stream);
    if (it == known.end()) it = known.emplace(stream, LastBalance(*store, stream)).first;
    it->second += Delta(event);
    estoria::Batch line;
    Result<void> added = line.Add("balance_changed", std::to_string(it->second), "text/plain");
    if (!added.ok()) return added;
    return tx->Append(stream, line);
  }
};

struct Day {
  int64_t deposits = 0, deposited = 0, withdrawals = 0, withdrawn = 0;
};

std::string DayOf(int64_t timestamp_ns) {
  const time_t seconds = static_cast<time_t>(timestamp_ns / 1000000000);
  tm utc{};
  gmtime_r(&seconds, &utc);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &utc);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string uri = argc > 1 ? argv[1] : "memory:";
  estoria::Store store = Must(estoria::Store::Open(uri), "opening " + uri);
  auto accounts = Must(estoria::AggregateStore<Account>::Open(store, "account"), "opening the accounts");

  // The day's business: three accounts, deposits and withdrawals.
  std::vector<estoria::Uuid> ids;
  for (const char* owner : {"ana", "ben", "chloe"}) {
    auto a = Must(accounts.New(), "a new account");
    Must(a.Append(Opened{owner}), "opening an account");
    for (int i = 1; i <= 5; ++i) {
      Must(a.Append(Deposited{1000 * i}), "a deposit");
      if (i % 2 == 0) Must(a.Append(Withdrawn{300 * i}), "a withdrawal");
    }
    Must(a.Save(), "saving an account");
    ids.push_back(a.id().uuid());
  }

  // balances: exactly once, resumed from its checkpoint on every start.
  estoria::ProjectionOptions exactly;
  exactly.exactly_once = true;
  auto balances = Must(estoria::ProjectEvents<Event>(store, "balances", 1, Balances{&store, {}}, exactly),
                       "the balances projection");
  estoria::ProjectionReport r;
  do {
    r = Must(balances.Run(std::chrono::milliseconds(100)), "running balances");
  } while (!r.caught_up);
  std::printf("balances: checkpoint at %" PRId64 " (head %" PRId64 ")\n", r.position, r.head);
  for (const estoria::Uuid& id : ids) {
    const int64_t projected = LastBalance(store, "balance_" + id.ToString());
    const auto account = Must(accounts.Load(id), "loading an account");
    std::printf("  %-6s %10s\n", account.state().owner.c_str(), Money(projected).c_str());
    if (projected != account.state().balance) Die("the projected balance differs from the account's");
  }

  // daily_report: an in-memory read model, rebuilt as the next version on
  // every start and cut over once it has caught up.
  Result<int32_t> active = estoria::ActiveVersion(store, "daily_report");
  if (!active.ok() && active.error().status() != EST_ERR_NOT_FOUND) Die("asking for the report's version");
  const int32_t version = active.ok() ? active.value() + 1 : 1;
  if (version > 1) Must(estoria::RequestRebuild(store, "daily_report", version, "a fresh in-memory report"), "rebuild");
  std::map<std::string, Day> days;
  estoria::ProjectionOptions rebuild;
  auto report = Must(estoria::ProjectEvents<Event>(
                         store, "daily_report", version,
                         [&](const EventView& e, const Event& event, ProjectionTxn*) -> Result<void> {
                           Day& d = days[DayOf(e.timestamp_ns())];
                           if (const auto* dep = std::get_if<Deposited>(&event)) {
                             ++d.deposits;
                             d.deposited += dep->amount;
                           } else if (const auto* w = std::get_if<Withdrawn>(&event)) {
                             ++d.withdrawals;
                             d.withdrawn += w->amount;
                           }
                           return {};
                         },
                         rebuild),
                     "the daily report projection");
  do {
    r = Must(report.Run(std::chrono::milliseconds(100)), "running the report");
  } while (!r.caught_up);
  if (version > 1) Must(estoria::Cutover(store, "daily_report", version), "cutting over the report");
  if (Must(estoria::ActiveVersion(store, "daily_report"), "the report's version") != version) {
    Die("the rebuilt report is not the active version");
  }
  std::printf("daily_report_v%d (active):\n  %-10s %9s %12s %12s %12s\n", version, "day", "deposits", "deposited",
              "withdrawals", "withdrawn");
  int64_t total_in = 0, total_out = 0;
  for (const auto& [day, d] : days) {
    std::printf("  %-10s %9" PRId64 " %12s %12" PRId64 " %12s\n", day.c_str(), d.deposits, Money(d.deposited).c_str(),
                d.withdrawals, Money(d.withdrawn).c_str());
    total_in += d.deposited;
    total_out += d.withdrawn;
  }
  // The report agrees with the log itself.
  int64_t in = 0, out = 0;
  Result<estoria::StreamIterator> all = store.ReadAll();
  for (const EventView& e : Must(std::move(all), "reading the log")) {
    if (e.stream_type() != "account") continue;
    const nlohmann::json j = nlohmann::json::parse(e.data_string());
    if (e.type() == Deposited::kType) in += j.at("amount").get<int64_t>();
    if (e.type() == Withdrawn::kType) out += j.at("amount").get<int64_t>();
  }
  if (in != total_in || out != total_out) Die("the report's sums differ from the log's");
  std::printf("  the sums agree with the log: in %s, out %s\n", Money(in).c_str(), Money(out).c_str());
  return 0;
}
