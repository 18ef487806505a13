// projector: the projecting process of projection_crash_test, SIGKILLed at
// random moments. Usage: projector DIR exactly|least BATCH
//
// Opens the file store in DIR (sync always) and runs the projection
// "totals_v1" over the streams "in_..." until its report says caught_up,
// then writes "done" and exits 0. Writes "ready" once the projection exists.
// - exactly: for each input event (data: a decimal amount) the handler
//   appends "POSITION AMOUNT TOTAL" to "total_<the input stream's uuid>"
//   through the engine's transaction, TOTAL being the stream's running sum;
//   a stream's sum is read back from its last output the first time the
//   process meets the stream, so everything the handler knows is what was
//   committed.
// - least (at least once): the handler writes "h POSITION" for each event on
//   stdout before it returns (one write per call: a pipe keeps it across
//   the kill).
// Any failure writes "error ..." and exits 1 (tests/common/child_process.h).
#define EST_EXPERIMENTAL 1
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "estoria/estoria.h"
#include "tests/common/child_process.h"

namespace {

using estoria::test::Fail;
using estoria::test::WriteLine;

struct State {
  est_store* store = nullptr;
  std::map<std::string, int64_t> totals;  // output stream -> committed running sum
};

// The running sum in the last output of `stream`, 0 when it has none.
int64_t LastTotal(est_store* store, const std::string& stream) {
  est_read_options o = EST_READ_OPTIONS_INIT;
  o.direction = EST_REVERSE;
  o.count = 1;
  est_iter* it = nullptr;
  const est_status s = est_read_stream(store, stream.c_str(), &o, &it);
  if (s == EST_ERR_NOT_FOUND) return 0;
  if (s != EST_OK) Fail("est_read_stream", s);
  est_event e = EST_EVENT_INIT;
  int64_t total = 0;
  if (est_iter_next(it, &e) == EST_OK) {
    const std::string text(reinterpret_cast<const char*>(e.data), e.data_len);
    long long position = 0, amount = 0, sum = 0;
    if (std::sscanf(text.c_str(), "%lld %lld %lld", &position, &amount, &sum) != 3) {
      WriteLine("error bad output " + text);
      std::exit(1);
    }
    total = sum;
  }
  est_iter_close(it);
  return total;
}

est_status Exactly(void* user, const est_event* events, size_t count, est_txn* tx) {
  auto* state = static_cast<State*>(user);
  for (size_t i = 0; i < count; ++i) {
    const est_event& e = events[i];
    char out_id[EST_ID_MAX_LEN];
    if (est_status s = est_id_format("total", &e.stream_uuid, out_id, sizeof out_id); s != EST_OK) return s;
    const std::string out = out_id;
    auto found = state->totals.find(out);
    if (found == state->totals.end()) found = state->totals.emplace(out, LastTotal(state->store, out)).first;
    const int64_t amount = std::strtoll(std::string(reinterpret_cast<const char*>(e.data), e.data_len).c_str(), nullptr, 10);
    found->second += amount;
    const std::string data = std::to_string(e.global_position) + " " + std::to_string(amount) + " " +
                             std::to_string(found->second);
    est_batch* batch = nullptr;
    est_batch_new(&batch);
    est_status s = est_batch_add(batch, "total", data.data(), data.size(), "text/plain");
    if (s == EST_OK) s = est_txn_append(tx, out.c_str(), batch, nullptr);
    est_batch_free(batch);
    if (s != EST_OK) return s;
  }
  return EST_OK;
}

est_status AtLeastOnce(void*, const est_event* events, size_t count, est_txn*) {
  std::string text;
  for (size_t i = 0; i < count; ++i) text += "h " + std::to_string(events[i].global_position) + "\n";
  if (write(STDOUT_FILENO, text.data(), text.size()) != static_cast<ssize_t>(text.size())) return EST_ERR_IO;
  return EST_OK;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    WriteLine("error usage: projector DIR exactly|least BATCH");
    return 2;
  }
  const bool exactly = std::strcmp(argv[2], "exactly") == 0;
  State state;
  if (est_status s = est_store_open((std::string("file:") + argv[1]).c_str(), nullptr, &state.store); s != EST_OK) {
    Fail("est_store_open", s);
  }
  est_projection_handler h = EST_PROJECTION_HANDLER_INIT;
  h.name = "totals";
  h.version = 1;
  h.user = &state;
  h.handle = exactly ? &Exactly : &AtLeastOnce;
  est_projection_options o = EST_PROJECTION_OPTIONS_INIT;
  o.stream_prefix = "in_";
  o.batch_max = static_cast<uint32_t>(std::atoi(argv[3]));
  o.flags = exactly ? EST_PROJECTION_EXACTLY_ONCE : 0;
  est_projection* p = nullptr;
  if (est_status s = est_projection_new(state.store, &h, &o, &p); s != EST_OK) Fail("est_projection_new", s);
  WriteLine("ready");
  est_projection_report r = EST_PROJECTION_REPORT_INIT;
  do {
    if (est_status s = est_projection_run(p, 100000, &r); s != EST_OK) Fail("est_projection_run", s);
  } while (r.caught_up == 0);
  est_projection_free(p);
  est_store_close(state.store);
  WriteLine("done");
  return 0;
}
