// bank.cc: bank accounts as event-sourced aggregates with the typed C++
// layer (estoria/aggregates). Accounts are opened, credited and debited; the
// business rule (no overdraft) is checked against the current state BEFORE
// an event is queued, so a refused command writes nothing. Two tellers
// racing on one account show the version check, and the reload-and-retry
// that follows it. A payroll of many small deposits shows snapshots (every
// 100 events) shortening the next load.
//
// Usage: bank [STORE_URI]   (default "estoria-demo": a file store in that
// directory, created if absent; run it again to continue). Prints what it does; exits
// non-zero on any failure, or when a figure is not what the story expects.
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "estoria/estoria.hpp"
#include "estoria/demo/bank.hpp"

namespace bank {
using namespace estoria::demo::bank;  // the domain: Account, its events, Deposit, Withdraw
namespace {

using estoria::Aggregate;
using estoria::AggregateStore;
using estoria::Result;

using Accounts = AggregateStore<Account>;

// A failure of the program (not a refused command): say it and stop.
[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bank: %s\n", what.c_str());
  std::exit(1);
}
[[noreturn]] void Die(std::string_view doing, const estoria::Error& e) {
  Die(std::string(doing) + ": " + e.ToString());
}
void Expect(bool ok, const std::string& what) {
  if (!ok) Die("unexpected: " + what);
}

// Runs one command the event-sourced way: decide on the current state, queue
// the event only if the decision allows it, save expecting the version the
// decision saw. On a conflict (someone saved in between) the aggregate is
// loaded again and the command decided anew. Returns the refusal, "" when
// the command was carried out.
template <class Decide>
std::string Execute(const Accounts& accounts, Aggregate<Account> agg, const std::string& teller, Decide decide) {
  for (int attempt = 1;; ++attempt) {
    Decision d = decide(agg.state());
    if (!d.event) return d.refusal;  // refused: nothing queued, nothing written
    Result<void> queued = agg.Append(*d.event).Metadata("teller", teller);
    if (!queued.ok()) Die("queueing an event", queued.error());
    Result<estoria::AppendResult> saved = agg.Save();
    if (saved.ok()) return "";
    if (!saved.error().is_version_mismatch() || attempt == 3) Die("saving", saved.error());
    std::printf("  %s's save found the account at version %" PRId64 ", not %" PRId64
                ": reloading and deciding again\n",
                teller.c_str(), saved.error().actual_version(), saved.error().expected_version());
    Result<Aggregate<Account>> fresh = accounts.Load(agg.id());
    if (!fresh.ok()) Die("reloading", fresh.error());
    agg = std::move(fresh).value();
  }
}

Aggregate<Account> Load(const Accounts& accounts, const estoria::Id& id) {
  Result<Aggregate<Account>> a = accounts.Load(id);
  if (!a.ok()) Die("loading " + id.str(), a.error());
  return std::move(a).value();
}

Accounts OpenAccounts(const estoria::Store& store) {
  estoria::AggregateStoreOptions options;
  options.snapshot_every = 100;
  options.snapshot_keep_last = 2;
  // Every event saved carries the request it came from.
  options.AddHook(estoria::HookStage::kBeforeSave, [](estoria::HookContext& ctx) -> Result<void> {
    return ctx.AddMetadata("correlation", "bank-demo");
  });
  Result<Accounts> accounts = Accounts::Open(store, "account", std::move(options));
  if (!accounts.ok()) Die("opening the account store", accounts.error());
  return std::move(accounts).value();
}

int Run(const char* uri) {
  std::printf("Opening the event store at \"%s\".\n", uri);
  Result<estoria::Store> store = estoria::Store::Open(uri);
  if (!store.ok()) Die(std::string("opening ") + uri, store.error());
  Accounts accounts = OpenAccounts(*store);

  // 1. Ana opens an account and deposits 100.00.
  Result<Aggregate<Account>> created = accounts.New();
  if (!created.ok()) Die("creating an account", created.error());
  estoria::Id id = created->id();
  Result<void> opened = created->Append(Opened{"Ana"}).Metadata("teller", "desk");
  if (!opened.ok()) Die("opening the account", opened.error());
  if (Result<estoria::AppendResult> r = created->Save(); !r.ok()) Die("opening the account", r.error());
  std::printf("Opened account %s for Ana.\n", id.c_str());
  Expect(Execute(accounts, Load(accounts, id), "desk", [](const Account& a) { return Deposit(a, 10000); }).empty(),
         "the first deposit was refused");
  std::printf("Ana deposited %s; the balance is %s.\n", Money(10000).c_str(),
              Money(Load(accounts, id).state().balance).c_str());

  // 2. An overdraft is refused before anything is written.
  int64_t before = Load(accounts, id).version();
  std::string refusal =
      Execute(accounts, Load(accounts, id), "atm", [](const Account& a) { return Withdraw(a, 15000); });
  Expect(!refusal.empty(), "an overdraft was accepted");
  std::printf("Ana asked for %s at the ATM: refused (%s).\n", Money(15000).c_str(), refusal.c_str());
  Expect(Load(accounts, id).version() == before, "a refused command wrote an event");
  std::printf("  Nothing was written: the account is still at version %" PRId64 ".\n", before);

  // 3. Two tellers load the account at the same time; both see 100.00.
  Aggregate<Account> teller_a = Load(accounts, id);
  Aggregate<Account> teller_b = Load(accounts, id);
  std::printf("Two tellers load the account at version %" PRId64 " (balance %s).\n", teller_a.version(),
              Money(teller_a.state().balance).c_str());
  Expect(Execute(accounts, std::move(teller_a), "teller-a", [](const Account& a) { return Withdraw(a, 7000); })
             .empty(),
         "teller A's withdrawal was refused");
  std::printf("Teller A paid out %s.\n", Money(7000).c_str());
  // Teller B's decision was taken on a stale 100.00; the save's version check
  // catches it, and on the fresh state (30.00) the rule refuses 40.00.
  refusal = Execute(accounts, std::move(teller_b), "teller-b", [](const Account& a) { return Withdraw(a, 4000); });
  Expect(!refusal.empty(), "teller B overdrew the account");
  std::printf("Teller B's withdrawal of %s: refused after the reload (%s).\n", Money(4000).c_str(), refusal.c_str());

  // 4. Payroll: 250 deposits of 1.00, one save each; a snapshot every 100.
  Aggregate<Account> payroll = Load(accounts, id);
  for (int i = 0; i < 250; ++i) {
    Result<void> q = payroll.Append(Deposited{100}).Metadata("teller", "payroll");
    if (!q.ok()) Die("queueing a payroll deposit", q.error());
    if (Result<estoria::AppendResult> r = payroll.Save(); !r.ok()) Die("saving a payroll deposit", r.error());
  }
  std::printf("Payroll made 250 deposits of %s; the account is at version %" PRId64 ", balance %s.\n",
              Money(100).c_str(), payroll.version(), Money(payroll.state().balance).c_str());
  Result<estoria::AggregateStats> written = accounts.Stats();
  if (!written.ok()) Die("reading the counters", written.error());
  std::printf("  Snapshots written so far: %" PRId64 ".\n", written->snapshots_written);
  Expect(written->snapshots_written >= 2, "fewer than 2 snapshots were written");

  // 5. A fresh reader (no cache, own counters) loads from the newest snapshot.
  Accounts reader = OpenAccounts(*store);
  Aggregate<Account> final_state = Load(reader, id);
  Result<estoria::AggregateStats> read = reader.Stats();
  if (!read.ok()) Die("reading the counters", read.error());
  std::printf("A fresh load: version %" PRId64 ", balance %s, from a snapshot: %s, events folded: %" PRId64
              " of %" PRId64 ".\n",
              final_state.version(), Money(final_state.state().balance).c_str(),
              read->snapshots_used > 0 ? "yes" : "no", read->events_applied, final_state.version());
  Expect(read->snapshots_used == 1, "the load did not start from a snapshot");
  Expect(read->events_applied < 100, "the load folded the whole history");

  const int64_t expected = 10000 - 7000 + 250 * 100;
  Expect(final_state.state().balance == expected, "the balance is " + Money(final_state.state().balance) +
                                                      ", not " + Money(expected));
  Expect(final_state.state().balance >= 0, "the account is overdrawn");
  std::printf("Final balance of %s's account: %s. All as expected.\n", final_state.state().owner.c_str(),
              Money(final_state.state().balance).c_str());
  return 0;
}

}  // namespace
}  // namespace bank

int main(int argc, char** argv) { return bank::Run(argc > 1 ? argv[1] : "estoria-demo"); }
