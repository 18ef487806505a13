// main.cc: `est`, estoria's command-line tool: the demo and the operator's
// commands over any store URI. Builds the CLI11 command tree (one Add* per
// command, cmd_*.cc), parses, and runs the command chosen; prints one line
// on stderr for any failure and exits with the codes that est --help lists.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cli.h"

namespace est {
namespace {

constexpr char kExitCodes[] =
    "STORE is a path, file:PATH, file:///PATH, memory: or postgresql://...\n"
    "\n"
    "exit codes:\n"
    "  0 ok          1 failure (I/O, internal)  2 usage (bad arguments)\n"
    "  3 not found   4 corruption               5 busy (another process holds the store)\n"
    "  6 version conflict                       7 unsupported";

// One line, whatever the parser's message holds.
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// What the library cannot return to a call (a failed background flush, a
// store that stopped taking writes) goes to stderr; with --verbose, its
// warnings and notes too. Messages come redacted.
void ShowLibraryLog(bool verbose) {
  estoria::SetLogHandler([verbose](estoria::LogLevel level, std::string_view message) {
    const char* what = level == estoria::LogLevel::kError     ? "error"
                       : level == estoria::LogLevel::kWarning ? "warning"
                                                              : "note";
    if (level != estoria::LogLevel::kError && !verbose) return;
    std::fprintf(stderr, "est: %s: %.*s\n", what, static_cast<int>(message.size()), message.data());
  });
}

int Main(int argc, char** argv) {
  CLI::App app("estoria's command-line tool: the bank demo, and the operator's commands over any store.", "est");
  auto formatter = std::make_shared<CLI::Formatter>();
  formatter->label("Usage", "usage");
  formatter->label("SUBCOMMAND", "COMMAND");
  formatter->label("REQUIRED", "(required)");
  formatter->label("Positionals", "Arguments");
  formatter->column_width(28);
  app.formatter(formatter);
  app.footer(kExitCodes);
  app.require_subcommand(1);
  // Options of est itself may come after the command's name, too.
  app.fallthrough();
  const uint32_t abi = estoria::AbiVersion();
  app.set_version_flag("--version",
                       "est (estoria ABI " + std::to_string(abi >> 16) + "." + std::to_string(abi & 0xffff) + ")");
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "show the library's warnings and notes on stderr (errors always show)");

  std::vector<Command> commands = {
      AddDemo(app),    AddAppend(app),  AddRead(app),    AddReadAll(app), AddTail(app),
      AddStreams(app), AddStats(app),   AddVerify(app),  AddCompact(app), AddDelete(app),
      AddExport(app),  AddImport(app),  AddBench(app),  AddProjections(app), AddProjection(app),
  };
  for (Command& c : commands) {
    c.app->group("Commands");
    // Help shows a positional by its name alone, and a number as N.
    for (CLI::Option* opt : c.app->get_options()) {
      if (opt->get_positional()) {
        opt->type_name("");
      } else if (opt->get_type_name() == "INT") {
        opt->type_name("N");
      }
    }
  }

  if (argc < 2) {
    std::cerr << app.help();
    return kExitUsage;
  }
  const std::string first = argv[1];
  if (first == "help") {
    std::cout << app.help();
    return kExitOk;
  }
  if (!first.empty() && first[0] != '-') {
    bool known = false;
    for (const Command& c : commands) known = known || c.app->get_name() == first;
    if (!known) {
      std::fprintf(stderr, "est: unknown command \"%s\" (est --help lists them)\n", first.c_str());
      return kExitUsage;
    }
  }

  const Command* chosen = nullptr;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return kExitOk;
  } catch (const CLI::CallForVersion& v) {
    std::cout << v.what() << "\n";
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    std::string where = "est";
    for (const Command& c : commands) {
      if (c.app->parsed()) where += " " + c.app->get_name();
    }
    std::fprintf(stderr, "%s: %s (see --help)\n", where.c_str(), OneLine(e.what()).c_str());
    return kExitUsage;
  }
  for (const Command& c : commands) {
    if (c.app->parsed()) chosen = &c;
  }
  if (chosen == nullptr) {
    std::fprintf(stderr, "est: no command given (est --help lists them)\n");
    return kExitUsage;
  }

  ShowLibraryLog(verbose);
  try {
    return chosen->run();
  } catch (const Failure& f) {
    std::fflush(stdout);
    std::fprintf(stderr, "est %s: %s\n", chosen->app->get_name().c_str(), f.message.c_str());
    return f.code;
  }
}

}  // namespace
}  // namespace est

int main(int argc, char** argv) { return est::Main(argc, argv); }
