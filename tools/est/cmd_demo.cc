// cmd_demo.cc: est demo [DIR]: the bank story end to end on a file store,
// through the typed aggregate store (estoria/aggregates): accounts, a few
// thousand deposits and withdrawals, a refused overdraft, a version conflict
// resolved by reload-and-retry, snapshots, a time-travel load, a global read
// that checks the books, and a table of figures. A second run finds the
// first run's accounts and continues them.
#include <cinttypes>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "cli.h"
#include "estoria/aggregates/aggregate_store.hpp"
#include "estoria/demo/bank.hpp"

namespace est {
namespace bank = estoria::demo::bank;

// The bank's state again, for loads that replay the whole history (no
// state codec: no snapshots, no cache).
struct ReplayedAccount : bank::Account {};

}  // namespace est

template <>
struct estoria::AggregateTraits<est::ReplayedAccount> {
  using Events = estoria::demo::bank::Event;
  using EventCodec = JsonCodec;
  using StateCodec = NoStateCodec;
};

namespace est {
namespace {

using bank::Account;
using bank::Decision;
using bank::Money;
using estoria::Aggregate;
using estoria::AggregateStore;
using estoria::Result;
using Accounts = AggregateStore<Account>;

[[noreturn]] void DieOn(const std::string& doing, const estoria::Error& e) { FailOn(e, doing); }
void Expect(bool ok, const std::string& what) {
  if (!ok) Fail(kExitFailure, "unexpected: " + what);
}

Aggregate<Account> Load(const Accounts& accounts, const estoria::Id& id, int64_t to_version = 0) {
  Result<Aggregate<Account>> a = accounts.Load(id, to_version);
  if (!a.ok()) DieOn("loading " + id.str(), a.error());
  return std::move(a).value();
}

// Decide on the current state, queue the event only if allowed, save
// expecting the version the decision saw; on a conflict, reload and decide
// again. Returns the refusal ("" when done) and counts the retries.
template <class Decide>
std::string Execute(const Accounts& accounts, Aggregate<Account> agg, const std::string& teller, Decide decide,
                    int* retries, bool verbose) {
  for (int attempt = 1;; ++attempt) {
    Decision d = decide(agg.state());
    if (!d.event) return d.refusal;
    Result<void> queued = agg.Append(*d.event).Metadata("teller", teller);
    if (!queued.ok()) DieOn("queueing an event", queued.error());
    Result<estoria::AppendResult> saved = agg.Save();
    if (saved.ok()) return "";
    if (!saved.error().is_version_mismatch() || attempt == 5) DieOn("saving", saved.error());
    if (retries) ++*retries;
    if (verbose) {
      std::printf("  %s's save expected version %" PRId64 " but the account is at %" PRId64
                  ": reloading and deciding again.\n",
                  teller.c_str(), saved.error().expected_version(), saved.error().actual_version());
    }
    agg = Load(accounts, agg.id());
  }
}

Accounts OpenAccounts(const estoria::Store& store, int64_t cache) {
  estoria::AggregateStoreOptions options;
  options.snapshot_every = 100;
  options.snapshot_keep_last = 2;
  options.cache_capacity = cache;
  options.AddHook(estoria::HookStage::kBeforeSave, [](estoria::HookContext& ctx) -> Result<void> {
    return ctx.AddMetadata("correlation", "est-demo");
  });
  Result<Accounts> accounts = Accounts::Open(store, "account", std::move(options));
  if (!accounts.ok()) DieOn("opening the account store", accounts.error());
  return std::move(accounts).value();
}

double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

int RunDemo(const std::string& dir, int64_t operations) {
  StoreUri uri = ParseStoreUri(dir);
  if (!uri.is_file) UsageError("est demo takes a directory (the demo shows a file store)");

  std::printf("Opening the event store in %s (a file store: one directory of log segments).\n", uri.path.c_str());
  estoria::Store store = OpenStore(uri, {.must_exist = false});

  // What an earlier run left.
  std::vector<estoria::Id> ids;
  ForEachStream(store, "", [&](const estoria::StreamInfo& s) {
    if (s.id.rfind("account_", 0) == 0) {
      if (estoria::Result<estoria::Id> id = estoria::Id::Parse(s.id); id.ok()) ids.push_back(*id);
    }
    return true;
  });
  const estoria::StoreStats before = Must(store.Stats(), "reading the statistics");

  Accounts accounts = OpenAccounts(store, 64);
  int64_t written_start = before.events;
  if (!ids.empty()) {
    std::printf("Found %zu accounts and %" PRId64 " events from an earlier run: continuing with them.\n", ids.size(),
                before.events);
    for (const estoria::Id& id : ids) {
      Aggregate<Account> a = Load(accounts, id);
      std::printf("  %-8s %s  version %6" PRId64 "  balance %10s\n", a.state().owner.c_str(), id.c_str(), a.version(),
                  Money(a.state().balance).c_str());
    }
  } else {
    std::printf("The store is empty: opening five accounts.\n");
    const char* owners[] = {"Ana", "Ben", "Chloe", "Dev", "Eve"};
    for (const char* owner : owners) {
      Result<Aggregate<Account>> created = accounts.New();
      if (!created.ok()) DieOn("creating an account", created.error());
      Result<void> q = created->Append(bank::Opened{owner}).Metadata("teller", "desk");
      if (!q.ok()) DieOn("opening an account", q.error());
      q = created->Append(bank::Deposited{50000}).Metadata("teller", "desk");
      if (!q.ok()) DieOn("opening an account", q.error());
      if (Result<estoria::AppendResult> r = created->Save(); !r.ok()) DieOn("opening an account", r.error());
      std::printf("  %-8s %s  opened with %s\n", owner, created->id().c_str(), Money(50000).c_str());
      ids.push_back(created->id());
    }
  }
  const estoria::Id& ana = ids[0];

  // 1. The day's business: deposits and withdrawals, one save each.
  std::printf("Running %" PRId64 " deposits and withdrawals across the accounts...\n", operations);
  uint64_t seed = 0x9e3779b97f4a7c15ull ^ static_cast<uint64_t>(before.last_position);
  auto next = [&seed] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  int64_t refused = 0;
  int retries = 0;
  int64_t ops_start = NowNs();
  {
    Progress progress("transactions");
    for (int64_t i = 0; i < operations; ++i) {
      const estoria::Id& id = ids[next() % ids.size()];
      int64_t amount = static_cast<int64_t>(100 + next() % 20000);
      bool deposit = next() % 2 == 0;
      std::string r = Execute(accounts, Load(accounts, id), "teller-" + std::to_string(i % 3),
                              [&](const Account& a) { return deposit ? bank::Deposit(a, amount) : bank::Withdraw(a, amount); },
                              &retries, false);
      if (!r.empty()) ++refused;
      progress.Update(static_cast<uint64_t>(i + 1), static_cast<uint64_t>(operations));
    }
  }
  int64_t ops_ns = NowNs() - ops_start;
  std::printf("  done: %" PRId64 " carried out, %" PRId64 " withdrawals refused for lack of funds.\n",
              operations - refused, refused);

  // 2. An overdraft is refused before anything is written.
  Aggregate<Account> a0 = Load(accounts, ana);
  int64_t ask = a0.state().balance + 100;
  int64_t version_before = a0.version();
  std::string refusal = Execute(accounts, std::move(a0), "atm", [&](const Account& a) { return bank::Withdraw(a, ask); },
                                nullptr, true);
  Expect(!refusal.empty(), "an overdraft was accepted");
  std::printf("%s asked the ATM for %s: refused (%s).\n", Load(accounts, ana).state().owner.c_str(),
              Money(ask).c_str(), refusal.c_str());
  Expect(Load(accounts, ana).version() == version_before, "a refused command wrote an event");
  std::printf("  Nothing was written: the account is still at version %" PRId64 ".\n", version_before);

  // 3. Two tellers load one account at once; the second save conflicts.
  const estoria::Id& ben = ids[1 % ids.size()];
  Aggregate<Account> teller_a = Load(accounts, ben);
  Aggregate<Account> teller_b = Load(accounts, ben);
  std::printf("Two tellers load %s's account at version %" PRId64 " (balance %s).\n",
              teller_a.state().owner.c_str(), teller_a.version(), Money(teller_a.state().balance).c_str());
  Expect(Execute(accounts, std::move(teller_a), "teller-a", [](const Account& a) { return bank::Deposit(a, 2500); },
                 nullptr, true)
             .empty(),
         "teller A's deposit was refused");
  std::printf("  Teller A deposited %s.\n", Money(2500).c_str());
  int conflict_retries = 0;
  Expect(Execute(accounts, std::move(teller_b), "teller-b", [](const Account& a) { return bank::Deposit(a, 1000); },
                 &conflict_retries, true)
             .empty(),
         "teller B's deposit was refused");
  Expect(conflict_retries == 1, "teller B's stale save did not conflict");
  std::printf("  Teller B's deposit of %s went through after the reload: balance %s, nothing lost.\n",
              Money(1000).c_str(), Money(Load(accounts, ben).state().balance).c_str());

  // 4. Loads with and without a snapshot, from fresh stores (no cache).
  Accounts reader = OpenAccounts(store, 0);
  int64_t t0 = NowNs();
  Aggregate<Account> snap_load = Load(reader, ana);
  int64_t with_snapshot_ns = NowNs() - t0;
  Result<estoria::AggregateStats> rstats = reader.Stats();
  if (!rstats.ok()) DieOn("reading the counters", rstats.error());
  Result<AggregateStore<ReplayedAccount>> replayer =
      AggregateStore<ReplayedAccount>::Open(store, "account", estoria::AggregateStoreOptions{});
  if (!replayer.ok()) DieOn("opening a replaying store", replayer.error());
  t0 = NowNs();
  Result<Aggregate<ReplayedAccount>> full = replayer->Load(ana);
  int64_t without_snapshot_ns = NowNs() - t0;
  if (!full.ok()) DieOn("replaying " + ana.str(), full.error());
  Expect(full->state().balance == snap_load.state().balance, "a replay and a snapshot load disagree");
  std::printf("A fresh load of %s's account (version %" PRId64 ") %s a snapshot and folded %" PRId64
              " events; replaying the whole history folds %" PRId64 ". Same balance: %s.\n",
              snap_load.state().owner.c_str(), snap_load.version(),
              rstats->snapshots_used > 0 ? "started from" : "found no", rstats->events_applied, full->version(),
              Money(snap_load.state().balance).c_str());

  // 5. Time travel: the account as it was at version 2.
  Aggregate<Account> past = Load(accounts, ana, 2);
  std::printf("Time travel: at version 2 %s's balance was %s (now %s at version %" PRId64 ").\n",
              past.state().owner.c_str(), Money(past.state().balance).c_str(),
              Money(snap_load.state().balance).c_str(), snap_load.version());

  // 6. A global read over every stream checks the books.
  int64_t total_events = 0;
  int64_t net = 0;
  std::map<std::string, int64_t> by_type;
  t0 = NowNs();
  estoria::StreamIterator all = Must(store.ReadAll(), "reading all");
  for (const estoria::EventView& e : all) {
    ++total_events;
    std::string_view type = e.type();
    ++by_type[std::string(type)];
    if (type == "deposited" || type == "withdrawn") {
      nlohmann::json j = nlohmann::json::parse(e.data_string(), nullptr, false);
      int64_t amount = j.is_object() ? j.value("amount", int64_t{0}) : 0;
      net += type == "deposited" ? amount : -amount;
    }
  }
  Must(all.status(), "reading all");
  int64_t read_all_ns = NowNs() - t0;
  int64_t balances = 0;
  for (const estoria::Id& id : ids) balances += Load(accounts, id).state().balance;
  std::printf("A global read of all %" PRId64 " events in order:", total_events);
  for (const auto& [type, n] : by_type) std::printf(" %s %" PRId64 ";", type.c_str(), n);
  std::printf(" net money in %s, the balances add up to %s: %s.\n", Money(net).c_str(), Money(balances).c_str(),
              net == balances ? "the books balance" : "MISMATCH");
  Expect(net == balances, "the events and the balances disagree");

  Result<estoria::AggregateStats> wstats = accounts.Stats();
  if (!wstats.ok()) DieOn("reading the counters", wstats.error());
  const estoria::StoreStats after = Must(store.Stats(), "reading the statistics");
  int64_t written = after.events - written_start;
  double ops_s = static_cast<double>(ops_ns) / 1e9;

  std::printf("\nFigures for this run (sync mode: always, every save durable):\n");
  std::printf("  %-40s %12" PRId64 "\n", "events written this run", written);
  std::printf("  %-40s %12" PRId64 "\n", "events in the store", after.events);
  std::printf("  %-40s %12.0f\n", "commands per second (load, decide, save)",
              static_cast<double>(operations) / (ops_s > 0 ? ops_s : 1));
  std::printf("  %-40s %12.0f\n", "events written per second",
              static_cast<double>(operations - refused) / (ops_s > 0 ? ops_s : 1));
  std::printf("  %-40s %12" PRId64 "\n", "snapshots written this run", wstats->snapshots_written);
  std::printf("  %-40s %9.3f ms\n", "load with snapshot", Ms(with_snapshot_ns));
  std::printf("  %-40s %9.3f ms\n", "load replaying everything", Ms(without_snapshot_ns));
  std::printf("  %-40s %9.3f ms\n", "global read of every event", Ms(read_all_ns));
  std::printf("  %-40s %12s\n", "store size on disk", HumanBytes(after.bytes).c_str());
  std::printf("\nRun it again to continue; look inside with: est streams %s, est read-all %s, est verify %s\n",
              dir.c_str(), dir.c_str(), dir.c_str());
  return kExitOk;
}

}  // namespace

Command AddDemo(CLI::App& est) {
  struct Options {
    std::string dir = "estoria-demo";
    int64_t operations = 3000;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = AddCommand(
      est, "demo", "run the bank story on a file store (default ./estoria-demo)",
      "Runs the bank example end to end through the aggregate store on a file\n"
      "store in DIR (default ./estoria-demo, created if absent): accounts, a few\n"
      "thousand deposits and withdrawals, a refused overdraft, a version conflict\n"
      "resolved by reload-and-retry, snapshots, a time-travel load and a global\n"
      "read. Run it again to continue where the first run stopped.");
  cmd->add_option("DIR", o->dir, "the store's directory (default ./estoria-demo)");
  cmd->add_option("--operations", o->operations, "deposits and withdrawals to run (default 3000)")
      ->check(WholeNumber(1));
  return {cmd, [o] { return RunDemo(o->dir, o->operations); }};
}

}  // namespace est
