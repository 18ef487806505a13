// Tests of AggregateStore<S> and Aggregate<S> (the typed layer) against the
// real library's aggregate engine on "memory:" stores: typed load and save,
// dispatch over the event variant, conflicts and retry, snapshots, callback
// failures (thrown, returned, unknown or undecodable events) and hooks.
#include "estoria/aggregates/aggregate_store.hpp"

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "estoria/aggregates/json.hpp"
#include "estoria/estoria.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_domain.h"

namespace estoria {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testdomain::Account;
using testdomain::Deposited;
using testdomain::Exploded;
using testdomain::Opened;
using testdomain::Withdrawn;

// A state built from its ID, with the traits as members and no state codec:
// no snapshots, no cache.
struct Ledger {
  explicit Ledger(const Id& id) : id(id.str()) {}
  std::string id;
  int64_t entries = 0;

  struct Noted {
    static constexpr std::string_view kType = "noted";
    void apply(Ledger& l) const { ++l.entries; }
  };
  using Events = std::variant<Noted>;
  using EventCodec = JsonCodec;
};
void to_json(nlohmann::json& j, const Ledger::Noted&) { j = nlohmann::json::object(); }
void from_json(const nlohmann::json&, Ledger::Noted&) {}

// Events whose names are prefixes of one another, some longer than the
// dispatch compares unrolled: each applies its own tag.
struct Tagged {
  std::vector<int> tags;

  template <int Tag>
  struct Event {
    void apply(Tagged& t) const { t.tags.push_back(Tag); }
  };
  struct A : Event<1> {
    static constexpr std::string_view kType = "a";
  };
  struct Ab : Event<2> {
    static constexpr std::string_view kType = "ab";
  };
  struct Adjusted : Event<3> {
    static constexpr std::string_view kType = "balance.adjusted";  // 16 bytes
  };
  struct ByHand : Event<4> {
    static constexpr std::string_view kType = "balance.adjusted.by.hand";
  };
  struct ByBank : Event<5> {
    static constexpr std::string_view kType = "balance.adjusted.by.bank";
  };
  using Events = std::variant<A, Ab, Adjusted, ByHand, ByBank>;
  using EventCodec = JsonCodec;
};
template <int Tag>
void to_json(nlohmann::json& j, const Tagged::Event<Tag>&) {
  j = nlohmann::json::object();
}
template <int Tag>
void from_json(const nlohmann::json&, Tagged::Event<Tag>&) {}

class TypedAggregateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<Store> s = Store::Open("memory:");
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    store_ = std::move(s).value();
  }

  AggregateStore<Account> Accounts(AggregateStoreOptions options = {}) {
    Result<AggregateStore<Account>> a = AggregateStore<Account>::Open(store_, "account", std::move(options));
    EXPECT_TRUE(a.ok()) << a.error().ToString();
    return a.ok() ? std::move(a).value() : AggregateStore<Account>();
  }

  // A saved account: opened by `owner` and credited with each deposit, one
  // save per event.
  static Aggregate<Account> Saved(const AggregateStore<Account>& accounts, std::vector<int64_t> deposits,
                                  std::string owner = "ana") {
    Result<Aggregate<Account>> a = accounts.New();
    EXPECT_TRUE(a.ok()) << a.error().ToString();
    if (!a.ok()) return {};
    EXPECT_TRUE(a->Append(Opened{owner}).ok());
    Result<AppendResult> saved = a->Save();
    EXPECT_TRUE(saved.ok()) << saved.error().ToString();
    for (int64_t amount : deposits) {
      EXPECT_TRUE(a->Append(Deposited{amount}).ok());
      saved = a->Save();
      EXPECT_TRUE(saved.ok()) << saved.error().ToString();
    }
    return std::move(a).value();
  }

  // Appends raw events (type, data) to `stream` through the plain store.
  void AppendRaw(const Id& stream, const std::vector<std::pair<std::string, std::string>>& events) {
    Batch batch;
    for (const auto& [type, data] : events) ASSERT_TRUE(batch.Add(type, data, "application/json").ok());
    Result<AppendResult> r = store_.Append(stream, batch);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
  }

  Store store_;
};

TEST_F(TypedAggregateTest, SavedEventsLoadBackFoldedInVersionOrder) {
  AggregateStore<Account> accounts = Accounts();
  Aggregate<Account> a = Saved(accounts, {100, 50});
  EXPECT_EQ(a.version(), 3);
  EXPECT_EQ(a.state().balance, 150);
  EXPECT_EQ(a.pending(), 0u);
  EXPECT_EQ(a.id().type(), "account");

  Result<Aggregate<Account>> loaded = accounts.Load(a.id().uuid());
  ASSERT_TRUE(loaded.ok()) << loaded.error().ToString();
  EXPECT_EQ(loaded->version(), 3);
  EXPECT_EQ(loaded->id(), a.id());
  EXPECT_EQ(loaded->state().owner, "ana");
  EXPECT_TRUE(loaded->state().open);
  EXPECT_EQ(loaded->state().balance, 150);
  EXPECT_THAT(loaded->state().applied, ElementsAre(1, 2, 3));
}

TEST_F(TypedAggregateTest, EventsAreStoredUnderTheirTypeNamesAsJson) {
  AggregateStore<Account> accounts = Accounts();
  Aggregate<Account> a = Saved(accounts, {7});
  Result<StreamIterator> events = store_.ReadStream(a.id());
  ASSERT_TRUE(events.ok()) << events.error().ToString();
  std::vector<std::string> seen;
  for (const EventView& e : *events) {
    seen.push_back(std::string(e.type()) + " " + std::string(e.content_type()) + " " + std::string(e.data_string()));
  }
  ASSERT_TRUE(events->status().ok());
  EXPECT_THAT(seen, ElementsAre(R"(opened application/json {"owner":"ana"})",
                                R"(deposited application/json {"amount":7})"));
}

TEST_F(TypedAggregateTest, VariantAppendDispatchesToEachAlternative) {
  AggregateStore<Account> accounts = Accounts();
  Result<Aggregate<Account>> a = accounts.New();
  ASSERT_TRUE(a.ok());
  std::vector<AggregateTraits<Account>::Events> commands = {Opened{"bo"}, Deposited{30}, Withdrawn{10},
                                                            Deposited{5}};
  for (const auto& c : commands) ASSERT_TRUE(a->Append(c).ok());
  EXPECT_EQ(a->pending(), 4u);
  ASSERT_TRUE(a->Save().ok());
  EXPECT_EQ(a->state().balance, 25);

  Result<Aggregate<Account>> loaded = accounts.Load(a->id());
  ASSERT_TRUE(loaded.ok()) << loaded.error().ToString();
  EXPECT_EQ(loaded->state().owner, "bo");
  EXPECT_EQ(loaded->state().balance, 25);
  // Withdrawn's apply takes no EventView and records -1.
  EXPECT_THAT(loaded->state().applied, ElementsAre(1, 2, -1, 4));
}

TEST_F(TypedAggregateTest, LoadOfANeverWrittenAggregateIsNotFound) {
  AggregateStore<Account> accounts = Accounts();
  Result<Aggregate<Account>> a = accounts.Load(Uuid::NewV7().value());
  ASSERT_FALSE(a.ok());
  EXPECT_TRUE(a.error().is_not_found()) << a.error().ToString();
}

TEST_F(TypedAggregateTest, LoadByIdOfAnotherTypeIsRefused) {
  AggregateStore<Account> accounts = Accounts();
  Result<Aggregate<Account>> a = accounts.Load(Id::NewV7("order").value());
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().status(), EST_ERR_INVALID_ARGUMENT);
}

TEST_F(TypedAggregateTest, LoadAtAVersionStopsThere) {
  AggregateStore<Account> accounts = Accounts();
  Aggregate<Account> a = Saved(accounts, {1, 2, 4});
  Result<Aggregate<Account>> at3 = accounts.Load(a.id(), 3);
  ASSERT_TRUE(at3.ok()) << at3.error().ToString();
  EXPECT_EQ(at3->version(), 3);
  EXPECT_EQ(at3->state().balance, 3);
}

TEST_F(TypedAggregateTest, ConflictingSaveIsAVersionMismatchAndAReloadedRetrySucceeds) {
  AggregateStore<Account> accounts = Accounts();
  Aggregate<Account> original = Saved(accounts, {100});
  Result<Aggregate<Account>> first = accounts.Load(original.id());
  Result<Aggregate<Account>> second = accounts.Load(original.id());
  ASSERT_TRUE(first.ok() && second.ok());

  ASSERT_TRUE(first->Append(Deposited{10}).ok());
  ASSERT_TRUE(first->Save().ok());

  ASSERT_TRUE(second->Append(Withdrawn{60}).ok());
  Result<AppendResult> stale = second->Save();
  ASSERT_FALSE(stale.ok());
  EXPECT_TRUE(stale.error().is_version_mismatch()) << stale.error().ToString();
  EXPECT_EQ(stale.error().expected_version(), 2);
  EXPECT_EQ(stale.error().actual_version(), 3);
  // Nothing was written; the handle keeps its queue and its state.
  EXPECT_EQ(second->pending(), 1u);
  EXPECT_EQ(second->version(), 2);
  EXPECT_EQ(second->state().balance, 100);

  // Reload, re-run the command against fresh state, save.
  Result<Aggregate<Account>> retry = accounts.Load(original.id());
  ASSERT_TRUE(retry.ok());
  ASSERT_GE(retry->state().balance, 60);
  ASSERT_TRUE(retry->Append(Withdrawn{60}).ok());
  Result<AppendResult> saved = retry->Save();
  ASSERT_TRUE(saved.ok()) << saved.error().ToString();
  EXPECT_EQ(saved->last_version, 4);
  EXPECT_EQ(retry->state().balance, 50);
}

TEST_F(TypedAggregateTest, LoadStartsFromTheNewestSnapshot) {
  AggregateStoreOptions options;
  options.snapshot_every = 10;
  AggregateStore<Account> writer = Accounts(options);
  Aggregate<Account> a = Saved(writer, std::vector<int64_t>(24, 1));  // versions 1..25
  ASSERT_EQ(a.version(), 25);
  Result<AggregateStats> written = writer.Stats();
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written->snapshots_written, 2);  // at 10 and 20

  Result<Snapshot> snap = store_.ReadSnapshot(a.id());
  ASSERT_TRUE(snap.ok()) << snap.error().ToString();
  EXPECT_EQ(snap->version(), 20);
  EXPECT_EQ(snap->content_type(), "application/json");
  Result<Account> decoded = JsonCodec().Decode<Account>(snap->data());
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_EQ(decoded->balance, 19);

  // A second aggregate store on the same store: its own counters, no cache.
  AggregateStore<Account> reader = Accounts(options);
  Result<Aggregate<Account>> loaded = reader.Load(a.id());
  ASSERT_TRUE(loaded.ok()) << loaded.error().ToString();
  EXPECT_EQ(loaded->state().balance, 24);
  EXPECT_EQ(loaded->state().applied.size(), 25u);
  Result<AggregateStats> stats = reader.Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->loads, 1);
  EXPECT_EQ(stats->snapshots_used, 1);
  EXPECT_EQ(stats->events_applied, 5);  // 21..25
}

TEST_F(TypedAggregateTest, TheCacheServesARepeatedLoad) {
  AggregateStoreOptions options;
  options.cache_capacity = 8;
  AggregateStore<Account> accounts = Accounts(options);
  Aggregate<Account> a = Saved(accounts, {5, 6});
  Result<Aggregate<Account>> first = accounts.Load(a.id());
  Result<Aggregate<Account>> second = accounts.Load(a.id());
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(second->state().balance, 11);
  EXPECT_THAT(second->state().applied, ElementsAre(1, 2, 3));
  Result<AggregateStats> stats = accounts.Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GE(stats->cache_hits, 1);
}

TEST_F(TypedAggregateTest, AnExceptionInApplyBecomesAnErrorNotACrash) {
  AggregateStore<Account> accounts = Accounts();
  Aggregate<Account> a = Saved(accounts, {10});
  ASSERT_TRUE(a.Append(Exploded{}).ok());
  Result<AppendResult> saved = a.Save();
  ASSERT_FALSE(saved.ok());
  // Written, but not applied: the host must reload.
  EXPECT_TRUE(IsAppliedPartially(saved.error())) << saved.error().ToString();

  Result<Aggregate<Account>> loaded = accounts.Load(a.id());
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().status(), EST_ERR_INTERNAL);
  EXPECT_THAT(loaded.error().message(), HasSubstr("boom in apply"));
  EXPECT_THAT(loaded.error().message(), HasSubstr("exploded"));
  // Up to the event before it, the aggregate still loads.
  Result<Aggregate<Account>> before = accounts.Load(a.id(), 2);
  ASSERT_TRUE(before.ok()) << before.error().ToString();
  EXPECT_EQ(before->state().balance, 10);
}

TEST_F(TypedAggregateTest, AFailedResultFromApplyBecomesThatError) {
  AggregateStore<Account> accounts = Accounts();
  Id id = Id::NewV7("account").value();
  AppendRaw(id, {{"opened", R"({"owner":"cy"})"}, {"withdrawn", R"({"amount":5})"}});
  Result<Aggregate<Account>> loaded = accounts.Load(id);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().status(), EST_ERR_INTERNAL);
  EXPECT_THAT(loaded.error().message(), HasSubstr("withdrawal below zero"));
}

TEST_F(TypedAggregateTest, AnUnknownEventTypeIsUnsupported) {
  AggregateStore<Account> accounts = Accounts();
  Id id = Id::NewV7("account").value();
  AppendRaw(id, {{"opened", R"({"owner":"cy"})"}, {"renamed", R"({"owner":"di"})"}});
  Result<Aggregate<Account>> loaded = accounts.Load(id);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().status(), EST_ERR_UNSUPPORTED);
  EXPECT_THAT(loaded.error().message(), HasSubstr("renamed"));
}

TEST_F(TypedAggregateTest, DispatchTellsApartNamesThatArePrefixesOfOneAnother) {
  Result<AggregateStore<Tagged>> tagged = AggregateStore<Tagged>::Open(store_, "tagged");
  ASSERT_TRUE(tagged.ok()) << tagged.error().ToString();
  Id id = Id::NewV7("tagged").value();
  AppendRaw(id, {{"balance.adjusted.by.bank", "{}"},
                 {"ab", "{}"},
                 {"balance.adjusted", "{}"},
                 {"a", "{}"},
                 {"balance.adjusted.by.hand", "{}"}});
  Result<Aggregate<Tagged>> loaded = tagged->Load(id);
  ASSERT_TRUE(loaded.ok()) << loaded.error().ToString();
  EXPECT_THAT(loaded->state().tags, ElementsAre(5, 2, 3, 1, 4));

  for (const char* unknown : {"abc", "b", "balance.adjusted.", "balance.adjusted.by.han", "balance.adjusted.by.hands"}) {
    Id other = Id::NewV7("tagged").value();
    AppendRaw(other, {{"a", "{}"}, {unknown, "{}"}});
    Result<Aggregate<Tagged>> refused = tagged->Load(other);
    ASSERT_FALSE(refused.ok()) << unknown;
    EXPECT_EQ(refused.error().status(), EST_ERR_UNSUPPORTED) << unknown;
    EXPECT_THAT(refused.error().message(), HasSubstr(std::string("'") + unknown + "'"));
  }
}

// The apply callback as the library calls it, on views built here: with no
// record to bound it (an older library's view) or one too short to hold the
// name, the dispatch walks the type byte by byte and reads nothing past its
// NUL (each name in a buffer of its exact size, for AddressSanitizer).
TEST(TypedDispatch, WithoutARecordReadsNoBytePastTheType) {
  internal::AggregateCore<Tagged> core("tagged", JsonCodec(), NoStateCodec());
  const est_aggregate_type type = core.Vtable();
  Tagged state;
  const std::string data = "{}";
  // record_len 0: no record; else a record that begins at the name.
  auto apply = [&](const char* name, size_t record_len) {
    const size_t size = std::strlen(name) + 1;
    std::unique_ptr<char[]> exact(new char[size]);
    std::memcpy(exact.get(), name, size);
    est_event event = EST_EVENT_INIT;
    event.type = exact.get();
    event.data = reinterpret_cast<const uint8_t*>(data.data());
    event.data_len = data.size();
    event.record = record_len > 0 ? reinterpret_cast<const uint8_t*>(exact.get()) : nullptr;
    event.record_len = record_len;
    return type.apply(type.user, &state, &event);
  };
  EXPECT_EQ(apply("balance.adjusted.by.bank", 0), EST_OK);
  EXPECT_EQ(apply("ab", 0), EST_OK);
  EXPECT_EQ(apply("balance.adjusted.by.hand", 3), EST_OK);  // the record ends inside the name
  EXPECT_EQ(apply("balance.adjusted", 17), EST_OK);         // exactly the name and its NUL
  EXPECT_EQ(apply("a", 0), EST_OK);
  EXPECT_THAT(state.tags, ElementsAre(5, 2, 4, 3, 1));
  EXPECT_EQ(apply("balance.adjusted.by.han", 0), EST_ERR_UNSUPPORTED);
  EXPECT_EQ(apply("balance.adjusted.by.hands", 5), EST_ERR_UNSUPPORTED);
  EXPECT_EQ(apply("", 0), EST_ERR_UNSUPPORTED);
}

TEST_F(TypedAggregateTest, UndecodableEventDataIsAnError) {
  AggregateStore<Account> accounts = Accounts();
  Id id = Id::NewV7("account").value();
  AppendRaw(id, {{"opened", R"({"owner":"cy"})"}, {"deposited", "not json"}, {"deposited", R"({"sum":3})"}});
  Result<Aggregate<Account>> bad_text = accounts.Load(id, 2);
  ASSERT_FALSE(bad_text.ok());
  EXPECT_EQ(bad_text.error().status(), EST_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(bad_text.error().message(), HasSubstr("version 2"));

  Id other = Id::NewV7("account").value();
  AppendRaw(other, {{"deposited", R"({"sum":3})"}});  // valid JSON, missing field
  Result<Aggregate<Account>> missing = accounts.Load(other);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().status(), EST_ERR_INVALID_ARGUMENT);
  EXPECT_THAT(missing.error().message(), HasSubstr("amount"));
}

TEST_F(TypedAggregateTest, AnEventTheCodecCannotEncodeQueuesNothing) {
  AggregateStore<Account> accounts = Accounts();
  Result<Aggregate<Account>> a = accounts.New();
  ASSERT_TRUE(a.ok());
  Result<void> r = a->Append(Opened{std::string("bad \xff utf-8")}).Metadata("user", "ana");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status(), EST_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(a->pending(), 0u);
}

TEST_F(TypedAggregateTest, AppendedMetadataIsStoredWithTheEvent) {
  AggregateStore<Account> accounts = Accounts();
  Result<Aggregate<Account>> a = accounts.New();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->Append(Opened{"ana"}).Metadata("user", "ana").Metadata("reason", "signup").ok());
  ASSERT_TRUE(a->Save().ok());
  Result<StreamIterator> events = store_.ReadStream(a->id());
  ASSERT_TRUE(events.ok());
  const EventView* e = events->Next();
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->metadata("user"), "ana");
  EXPECT_EQ(e->metadata("reason"), "signup");
}

TEST_F(TypedAggregateTest, AReservedMetadataKeyFailsTheSaveAndWritesNothing) {
  AggregateStore<Account> accounts = Accounts();
  Aggregate<Account> a = Saved(accounts, {});
  Result<void> queued = a.Append(Deposited{1}).Metadata("estoria.mine", "x");
  Result<AppendResult> saved = queued.ok() ? a.Save() : Result<AppendResult>(queued.error());
  ASSERT_FALSE(saved.ok());
  EXPECT_EQ(saved.error().status(), EST_ERR_INVALID_ARGUMENT);
  Result<Aggregate<Account>> loaded = accounts.Load(a.id());
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->version(), 1);
}

TEST_F(TypedAggregateTest, ABeforeSaveHookAddsMetadataToEveryEvent) {
  AggregateStoreOptions options;
  options.AddHook(HookStage::kBeforeSave, [](HookContext& ctx) -> Result<void> {
    Result<void> r = ctx.AddMetadata("correlation", "c-17");
    if (!r.ok()) return r;
    return ctx.AddMetadata("causation", "cmd-" + std::to_string(ctx.version()));
  });
  AggregateStore<Account> accounts = Accounts(std::move(options));
  Result<Aggregate<Account>> a = accounts.New();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->Append(Opened{"ana"}).ok());
  ASSERT_TRUE(a->Append(Deposited{3}).ok());
  Result<AppendResult> saved = a->Save();
  ASSERT_TRUE(saved.ok()) << saved.error().ToString();

  Result<StreamIterator> events = store_.ReadStream(a->id());
  ASSERT_TRUE(events.ok());
  int n = 0;
  for (const EventView& e : *events) {
    ++n;
    EXPECT_EQ(e.metadata("correlation"), "c-17") << "event " << e.stream_version();
    EXPECT_EQ(e.metadata("causation"), "cmd-0") << "event " << e.stream_version();
  }
  EXPECT_EQ(n, 2);
}

TEST_F(TypedAggregateTest, HooksRunAtTheirStagesInOrderAndABeforeHookCanRefuse) {
  auto log = std::make_shared<std::vector<std::string>>();
  auto record = [log](std::string name) {
    return [log, name](HookContext& ctx) -> Result<void> {
      log->push_back(name + "@" + std::to_string(ctx.version()));
      return {};
    };
  };
  auto refuse = std::make_shared<bool>(false);
  AggregateStoreOptions options;
  options.AddHook(HookStage::kBeforeLoad, record("before-load"))
      .AddHook(HookStage::kBeforeLoad, [refuse](HookContext&) -> Result<void> {
        if (*refuse) return Error(EST_ERR_BUSY, "loads are paused");
        return {};
      })
      .AddHook(HookStage::kAfterLoad, record("after-load"))
      .AddHook(HookStage::kBeforeSave, record("before-save"))
      .AddHook(HookStage::kAfterSave, record("after-save"));
  AggregateStore<Account> accounts = Accounts(std::move(options));
  Aggregate<Account> a = Saved(accounts, {});
  ASSERT_TRUE(accounts.Load(a.id()).ok());
  EXPECT_THAT(*log, ElementsAre("before-save@0", "after-save@1", "before-load@0", "after-load@1"));

  *refuse = true;
  Result<Aggregate<Account>> refused = accounts.Load(a.id());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().status(), EST_ERR_BUSY);
  EXPECT_THAT(refused.error().message(), HasSubstr("loads are paused"));
}

TEST_F(TypedAggregateTest, AThrowingHookIsAnErrorNotACrash) {
  AggregateStoreOptions options;
  options.AddHook(HookStage::kBeforeSave,
                  [](HookContext&) -> Result<void> { throw std::logic_error("hook exploded"); });
  AggregateStore<Account> accounts = Accounts(std::move(options));
  Result<Aggregate<Account>> a = accounts.New();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->Append(Opened{"ana"}).ok());
  Result<AppendResult> saved = a->Save();
  ASSERT_FALSE(saved.ok());
  EXPECT_EQ(saved.error().status(), EST_ERR_INTERNAL);
  EXPECT_THAT(saved.error().message(), HasSubstr("hook exploded"));
  EXPECT_TRUE(store_.ReadStream(a->id()).error().is_not_found());
}

TEST_F(TypedAggregateTest, StateIsConstructedFromTheIdWhenItCanBe) {
  Result<AggregateStore<Ledger>> ledgers = AggregateStore<Ledger>::Open(store_, "ledger");
  ASSERT_TRUE(ledgers.ok()) << ledgers.error().ToString();
  Uuid uuid = Uuid::NewV4().value();
  Result<Aggregate<Ledger>> l = ledgers->New(uuid);
  ASSERT_TRUE(l.ok()) << l.error().ToString();
  EXPECT_EQ(l->state().id, "ledger_" + uuid.ToString());
  ASSERT_TRUE(l->Append(Ledger::Noted{}).ok());
  ASSERT_TRUE(l->Save().ok());
  Result<Aggregate<Ledger>> loaded = ledgers->Load(uuid);
  ASSERT_TRUE(loaded.ok()) << loaded.error().ToString();
  EXPECT_EQ(loaded->state().id, "ledger_" + uuid.ToString());
  EXPECT_EQ(loaded->state().entries, 1);
}

TEST_F(TypedAggregateTest, SnapshotsWithoutAStateCodecAreRefused) {
  AggregateStoreOptions options;
  options.snapshot_every = 10;
  Result<AggregateStore<Ledger>> ledgers = AggregateStore<Ledger>::Open(store_, "ledger", options);
  ASSERT_FALSE(ledgers.ok());
  EXPECT_EQ(ledgers.error().status(), EST_ERR_INVALID_ARGUMENT);
}

TEST_F(TypedAggregateTest, AnAggregateOutlivesItsAggregateStore) {
  Result<Aggregate<Account>> a = [&] {
    AggregateStore<Account> accounts = Accounts();
    return accounts.New();
  }();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->Append(Opened{"ana"}).ok());
  Result<AppendResult> saved = a->Save();  // runs apply through the freed store's callbacks
  ASSERT_TRUE(saved.ok()) << saved.error().ToString();
  EXPECT_EQ(a->state().owner, "ana");
}

TEST_F(TypedAggregateTest, ClosingTheStoreMakesAggregatesAnswerClosed) {
  AggregateStore<Account> accounts = Accounts();
  Aggregate<Account> a = Saved(accounts, {5});
  store_.Close();
  ASSERT_TRUE(a.Append(Deposited{1}).ok());
  Result<AppendResult> saved = a.Save();
  ASSERT_FALSE(saved.ok());
  EXPECT_TRUE(saved.error().is_closed()) << saved.error().ToString();
  EXPECT_EQ(a.state().balance, 5);
  Result<Aggregate<Account>> loaded = accounts.Load(a.id());
  ASSERT_FALSE(loaded.ok());
  EXPECT_TRUE(loaded.error().is_closed()) << loaded.error().ToString();
}

TEST_F(TypedAggregateTest, AnEmptyStoreOrAggregateAnswersClosed) {
  AggregateStore<Account> empty;
  EXPECT_TRUE(empty.New().error().is_closed());
  EXPECT_TRUE(empty.Stats().error().is_closed());
  Aggregate<Account> none;
  EXPECT_TRUE(none.Save().error().is_closed());
  EXPECT_TRUE(none.Append(Deposited{1}).error().is_closed());
  Store closed;
  EXPECT_TRUE(AggregateStore<Account>::Open(closed, "account").error().is_closed());
}

}  // namespace
}  // namespace estoria
