// main.cc: `est`, estoria's command-line tool: the demo and the operator's
// commands over any store URI. Dispatches to one function per command
// (cmd_*.cc); prints one line on stderr for any failure and exits with the
// codes documented in the usage text below.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli.h"

namespace est {
namespace {

struct Command {
  const char* name;
  int (*run)(const std::vector<std::string>&);
  const char* summary;
  const char* help;
};

const Command kCommands[] = {
    {"demo", CmdDemo, "run the bank story on a file store (default ./estoria-demo)",
     "usage: est demo [DIR]\n"
     "Runs the bank example end to end through the aggregate store on a file\n"
     "store in DIR (default ./estoria-demo, created if absent): accounts, a few\n"
     "thousand deposits and withdrawals, a refused overdraft, a version conflict\n"
     "resolved by reload-and-retry, snapshots, a time-travel load and a global\n"
     "read. Run it again to continue where the first run stopped.\n"},
    {"append", CmdAppend, "append events (from arguments or JSON lines on stdin)",
     "usage: est append STORE STREAM TYPE [DATA] [options]\n"
     "       est append STORE STREAM < events.jsonl\n"
     "STREAM is an ID (TYPE_UUID) or a bare type name (a new stream of that type).\n"
     "With TYPE, appends one event whose data is DATA (default empty). Without it,\n"
     "reads one JSON object per line from stdin: {\"type\": T, \"data\": JSON or\n"
     "string, or \"data_base64\": B64, \"content_type\": CT, \"metadata\": {K: V}};\n"
     "all lines are appended as one atomic batch.\n"
     "  --content-type CT     content type of the event given by arguments\n"
     "  --meta KEY=VALUE      metadata of that event (repeatable)\n"
     "  --expect-version N    fail with exit code 6 unless the stream is at N\n"
     "  --expect any|exists|no-stream\n"
     "                        exists: fail with exit code 6 unless the stream exists\n"
     "  --id UUID             the ID of each event, in order (repeat once per event):\n"
     "                        a retry-safe append. Run again after a failure whose\n"
     "                        outcome is unknown, it finds its events already there,\n"
     "                        writes nothing and says \"already appended\"\n"
     "  --json                print the result as JSON\n"},
    {"read", CmdRead, "read one stream",
     "usage: est read STORE STREAM [--reverse] [--after N] [--count N] [--json]\n"
     "  --after N     forward: after version N; reverse: from version N down\n"
     "  --count N     at most N events\n"
     "  --reverse     newest first\n"
     "  --json        one JSON object per line (the export format, with position)\n"
     "Opens the store read-only: works beside a writer in another process.\n"},
    {"read-all", CmdReadAll, "read every stream in global order",
     "usage: est read-all STORE [--after POSITION] [--count N] [--json]\n"
     "Opens the store read-only: works beside a writer in another process.\n"},
    {"tail", CmdTail, "show the latest events; -f follows new ones",
     "usage: est tail STORE [-f] [-n N] [--json] [--from-end] [--stream-prefix P] [--type T]...\n"
     "Shows the last N events (default 10) in global order; with -f then\n"
     "follows new ones as they commit until Ctrl-C (a live subscription: no\n"
     "polling; a writer in another process wakes it when it publishes).\n"
     "  --from-end          show nothing of the past: only what commits later\n"
     "  --stream-prefix P   only streams whose ID (type_uuid) starts with P\n"
     "  --type T            only events of type T (repeatable: any of them)\n"
     "  --interval MS       accepted for older scripts; ignored\n"
     "The store is opened once, read-only: a writer in another process (an\n"
     "application, est append, est import) works on meanwhile, and tail shows\n"
     "the whole batches it publishes.\n"},
    {"streams", CmdStreams, "list the streams with their versions",
     "usage: est streams STORE [--after ID] [--count N] [--json]\n"
     "Opens the store read-only: works beside a writer in another process.\n"},
    {"stats", CmdStats, "events, streams, bytes, segments, positions",
     "usage: est stats STORE [--json]\n"
     "Opens the store read-only: works beside a writer in another process.\n"},
    {"verify", CmdVerify, "check every record of the store (exit 4 on damage)",
     "usage: est verify STORE\n"
     "Reads every record and checks its checksum and structure. Exit 0 when the\n"
     "store is sound; 4 when it is damaged, naming the segment and offset.\n"},
    {"compact", CmdCompact, "reclaim the space of deleted and truncated events",
     "usage: est compact STORE [--json]\n"
     "Rewrites the store's sealed segments without the events that deleted or\n"
     "truncated streams left behind. Every other event keeps its stream version\n"
     "and global position; readers see the same events before and after. Needs\n"
     "the store to itself: exit 5 (busy) when another process has it open for\n"
     "writing (read-only readers, such as est tail -f, do not count). Draws a\n"
     "progress bar on a terminal, then prints segments, bytes before -> after\n"
     "and events kept and dropped.\n"
     "  --json        the report as one JSON object: segments_before,\n"
     "                segments_after, bytes_before, bytes_after, events_kept,\n"
     "                events_dropped (all 0 when there was nothing to reclaim)\n"
     "memory: has nothing to reclaim (all 0); PostgreSQL reclaims with VACUUM:\n"
     "exit 7 (unsupported). Exit codes as for every command (est --help).\n"},
    {"delete", CmdDelete, "delete a stream, or its events up to a version",
     "usage: est delete STORE STREAM [--to-version N]\n"
     "Without --to-version the stream goes wholly; with it, events <= N go and\n"
     "later events keep their versions.\n"},
    {"export", CmdExport, "write every event as JSON lines to stdout",
     "usage: est export STORE > FILE\n"
     "One JSON object per event in global order: stream, version, id, type,\n"
     "timestamp_ns, content_type, metadata, data_base64 (exact for binary data).\n"
     "Positions and snapshots are not exported. Opens the store read-only:\n"
     "works beside a writer in another process (the export is then the log\n"
     "as far as that writer had published it: whole batches, in order).\n"},
    {"import", CmdImport, "append JSON lines from stdin, keeping IDs and versions",
     "usage: est import STORE < FILE [--sync always|interval|none]\n"
     "Appends the events of an export in order, keeping each event's ID,\n"
     "timestamp and stream version (a truncated stream keeps its versions).\n"
     "Positions are assigned afresh, in the same order. A stream that already\n"
     "exists in STORE fails with exit code 6 before anything of it is written.\n"},
    {"bench", CmdBench, "quick append/read throughput of the store at hand",
     "usage: est bench STORE [--events N] [--batch N] [--size BYTES] [--sync always|interval|none] [--keep]\n"
     "Appends N events (default 20000) in batches (default 100) of SIZE-byte\n"
     "events (default 100) to streams of type est-bench, reads them back, prints\n"
     "events/s and MB/s, and deletes the streams unless --keep.\n"},
};

void PrintUsage(FILE* out) {
  std::fprintf(out,
               "usage: est COMMAND [ARGS...]   (est COMMAND --help for each)\n"
               "estoria's command-line tool. STORE is a path, file:PATH or memory:.\n\ncommands:\n");
  for (const Command& c : kCommands) std::fprintf(out, "  %-9s %s\n", c.name, c.summary);
  std::fprintf(out,
               "\nexit codes:\n"
               "  0 ok          1 failure (I/O, internal)  2 usage (bad arguments)\n"
               "  3 not found   4 corruption               5 busy (another process holds the store)\n"
               "  6 version conflict                       7 unsupported\n");
}

bool WantsHelp(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--") return false;
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(stderr);
    return kExitUsage;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    PrintUsage(stdout);
    return kExitOk;
  }
  if (name == "--version") {
    uint32_t v = est_abi_version();
    std::printf("est (estoria ABI %u.%u)\n", v >> 16, v & 0xffff);
    return kExitOk;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  for (const Command& c : kCommands) {
    if (name != c.name) continue;
    if (WantsHelp(args)) {
      std::fputs(c.help, stdout);
      return kExitOk;
    }
    try {
      return c.run(args);
    } catch (const Failure& f) {
      std::fflush(stdout);
      std::fprintf(stderr, "est %s: %s\n", c.name, f.message.c_str());
      return f.code;
    }
  }
  std::fprintf(stderr, "est: unknown command \"%s\" (est --help lists them)\n", name.c_str());
  return kExitUsage;
}

}  // namespace
}  // namespace est

int main(int argc, char** argv) { return est::Main(argc, argv); }
