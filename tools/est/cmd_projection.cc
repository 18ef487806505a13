// est projections STORE: each projection's checkpoint with its version,
// whether that version is the active one, its position, its lag behind the
// head and when it was last saved; est projection delete STORE ID removes a
// checkpoint (the projection then starts from the first event).
// doc/data-model.md "Projections" and "Rebuilds".
#include <cinttypes>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "estoria/projection.hpp"

namespace est {
namespace {

struct CheckpointRow {
  std::string id;
  std::string name;
  int32_t version = 0;
  int64_t position = 0;
  int64_t updated_at_ns = 0;
};

// Every checkpoint of the store, with its name and version.
std::vector<CheckpointRow> ListCheckpoints(const estoria::Store& store) {
  std::vector<CheckpointRow> rows;
  for (const estoria::NamedCheckpoint& c : Must(store.ListCheckpoints(), "listing the checkpoints")) {
    CheckpointRow row;
    row.id = c.projection_id;
    row.position = c.checkpoint.position;
    row.updated_at_ns = c.checkpoint.updated_at_ns;
    // "name_vN" (the store checked the form).
    const size_t v = row.id.rfind("_v");
    row.name = row.id.substr(0, v);
    row.version = static_cast<int32_t>(std::stol(row.id.substr(v + 2)));
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

Command AddProjections(CLI::App& est) {
  struct Options {
    std::string store;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = AddCommand(
      est, "projections", "list the projections' checkpoints: version, active, position, lag",
      "One line per checkpoint (projection name_vN): its version, whether that version\n"
      "is the active one (the last cutover's; for a projection never cut over, its\n"
      "lowest version), the position it has handled through, its lag behind the\n"
      "store's last position, and when it was last saved (a running projection\n"
      "re-saves at least once a second). Opens the store read-only.");
  cmd->add_option("STORE", o->store, "the store: a path, file:PATH or memory:")->required();
  cmd->add_flag("--json", o->json,
                "one JSON object per line: projection, name, version, active, position, lag, updated_at_ns");

  return {cmd, [o]() -> int {
            StoreUri uri = ParseStoreUri(o->store);
            estoria::Store store = OpenStore(uri, kReadOnly);
            const int64_t head = Must(store.Stats(), "reading the store's stats").last_position;
            const std::vector<CheckpointRow> rows = ListCheckpoints(store);
            std::map<std::string, int32_t> active;
            for (const CheckpointRow& r : rows) {
              if (active.count(r.name) != 0) continue;
              estoria::Result<int32_t> v = estoria::ActiveVersion(store, r.name);
              if (!v.ok() && v.error().status() != EST_ERR_NOT_FOUND) FailOn(v.error(), "reading " + r.name + "'s history");
              active[r.name] = v.ok() ? v.value() : 0;
            }
            if (!o->json) {
              std::printf("%-44s %7s %6s %12s %10s  %s\n", "PROJECTION", "VERSION", "ACTIVE", "POSITION", "LAG",
                          "UPDATED");
            }
            for (const CheckpointRow& r : rows) {
              const bool is_active = active[r.name] == r.version;
              const int64_t lag = head > r.position ? head - r.position : 0;
              if (o->json) {
                nlohmann::ordered_json j;
                j["projection"] = r.id;
                j["name"] = r.name;
                j["version"] = r.version;
                j["active"] = is_active;
                j["position"] = r.position;
                j["lag"] = lag;
                j["updated_at_ns"] = r.updated_at_ns;
                std::printf("%s\n", j.dump().c_str());
              } else {
                std::printf("%-44s %7d %6s %12" PRId64 " %10" PRId64 "  %s\n", r.id.c_str(), r.version,
                            is_active ? "yes" : "no", r.position, lag, FormatTime(r.updated_at_ns).c_str());
              }
            }
            return kExitOk;
          }};
}

Command AddProjection(CLI::App& est) {
  struct Options {
    std::string store;
    std::string id;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = AddCommand(est, "projection", "operate on one projection: delete its checkpoint",
                             "est projection delete STORE ID removes the checkpoint of projection ID\n"
                             "(name_vN): the projection then starts again from the first event. Exit 3\n"
                             "when it has none.");
  cmd->require_subcommand(1);
  CLI::App* del = cmd->add_subcommand("delete", "remove a projection's checkpoint");
  del->add_option("STORE", o->store, "the store: a path, file:PATH or memory:")->required();
  del->add_option("ID", o->id, "the projection's ID, name_vN (for example orders_v2)")->required();

  return {cmd, [o]() -> int {
            StoreUri uri = ParseStoreUri(o->store);
            estoria::Store store = OpenStore(uri, {});
            Must(store.DeleteCheckpoint(o->id), "deleting the checkpoint of " + o->id);
            std::printf("deleted the checkpoint of %s\n", o->id.c_str());
            return kExitOk;
          }};
}

}  // namespace est
