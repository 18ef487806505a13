// quickstart_cpp.cc: the quickstart tour with the header-only C++ SDK
// (estoria/estoria.hpp). Store URI from argv[1], "memory:" by default.
#include <cstdio>
#include <string_view>

#include "estoria/estoria.hpp"

namespace {

int Fail(const estoria::Error& e) {
  std::fprintf(stderr, "quickstart_cpp: %s\n", e.ToString().c_str());
  return 1;
}

// Prints what a read yields; each view is valid until the loop moves on.
estoria::Result<void> Print(const char* title, estoria::StreamIterator& events) {
  std::printf("%s\n", title);
  for (const estoria::EventView& e : events) {
    std::printf("  %s v%lld @%lld %.*s\n", e.stream_id().c_str(), static_cast<long long>(e.stream_version()),
                static_cast<long long>(e.global_position()), static_cast<int>(e.data().size()), e.data_string().data());
  }
  return events.status();  // an error that ended the loop early, if any
}

}  // namespace

int main(int argc, char** argv) {
  using namespace estoria;
  Result<Store> store = Store::Open(argc > 1 ? argv[1] : "memory:");
  if (!store.ok()) return Fail(store.error());
  Id account = Id::NewV7("account").value(), order = Id::NewV7("order").value();

  Batch batch;
  Result<void> added = batch.Add("opened", std::string_view(R"({"owner":"ana"})"), "application/json")
                           .Metadata("user", "ana");
  if (!added.ok()) return Fail(added.error());
  if (!batch.Add("deposited", std::string_view(R"({"amount":100})"), "application/json").ok()) return 1;
  if (auto r = store->Append(account, batch, AppendOptions::ExpectNoStream()); !r.ok()) return Fail(r.error());
  if (auto r = store->Append(order, batch, AppendOptions::ExpectNoStream()); !r.ok()) return Fail(r.error());

  Result<AppendResult> stale = store->Append(account, batch, AppendOptions::ExpectNoStream());
  if (stale.ok()) return std::fprintf(stderr, "quickstart_cpp: the stale append was accepted\n"), 1;
  std::printf("stale append refused: %s (expected %lld, stream at %lld)\n", stale.error().name(),
              static_cast<long long>(stale.error().expected_version()),
              static_cast<long long>(stale.error().actual_version()));

  for (bool reverse : {false, true}) {
    Result<StreamIterator> events = store->ReadStream(account, reverse ? ReadOptions::Reverse() : ReadOptions());
    if (!events.ok()) return Fail(events.error());
    if (auto r = Print(reverse ? "the account, reverse:" : "the account:", *events); !r.ok()) return Fail(r.error());
  }
  Result<StreamIterator> all = store->ReadAll();
  if (!all.ok()) return Fail(all.error());
  if (auto r = Print("all events:", *all); !r.ok()) return Fail(r.error());

  if (auto r = store->DeleteStream(account, 1); !r.ok()) return Fail(r.error());  // truncate: v1 goes
  Result<void> written = store->WriteSnapshot(account, 2, std::string_view(R"({"owner":"ana"})"), "application/json");
  if (!written.ok()) return Fail(written.error());
  Result<Snapshot> snap = store->ReadSnapshot(account);
  if (!snap.ok()) return Fail(snap.error());
  std::printf("snapshot v%lld: %.*s\n", static_cast<long long>(snap->version()),
              static_cast<int>(snap->data().size()), snap->data_string().data());
  return 0;
}
