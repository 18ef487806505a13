// Proves the SDK needs no exceptions: this program is compiled with
// -fno-exceptions and does a round trip through a "memory:" store. Run by
// ctest (sdk_no_exceptions); exits non-zero with a message on any failure.
#include <cstdio>
#include <string_view>

#include "estoria/estoria.hpp"

namespace {

int Fail(const char* what, const estoria::Error& error) {
  std::fprintf(stderr, "%s: %s\n", what, error.ToString().c_str());
  return 1;
}

}  // namespace

int main() {
  estoria::Result<estoria::Store> store = estoria::Store::Open("memory:");
  if (!store.ok()) return Fail("open", store.error());
  estoria::Result<estoria::Id> stream = estoria::Id::NewV7("account");
  if (!stream.ok()) return Fail("id", stream.error());

  estoria::Batch batch;
  estoria::Result<void> added = batch.Add("opened", std::string_view("hello"), "text/plain").Metadata("k", "v");
  if (!added.ok()) return Fail("add", added.error());
  estoria::Result<estoria::AppendResult> appended =
      store->Append(*stream, batch, estoria::AppendOptions::ExpectNoStream());
  if (!appended.ok()) return Fail("append", appended.error());

  estoria::Result<estoria::StreamIterator> it = store->ReadStream(*stream);
  if (!it.ok()) return Fail("read", it.error());
  int seen = 0;
  for (const estoria::EventView& e : *it) {
    if (e.data_string() != "hello" || e.metadata("k") != std::string_view("v")) {
      std::fprintf(stderr, "read back something else\n");
      return 1;
    }
    ++seen;
  }
  if (!it->status().ok()) return Fail("iterate", it->status().error());
  if (seen != 1) {
    std::fprintf(stderr, "expected 1 event, saw %d\n", seen);
    return 1;
  }
  return 0;
}
