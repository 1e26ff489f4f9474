#include "connectors/cli/app.h"

#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connectors/cli/admin_commands.h"
#include "connectors/cli/audit_commands.h"
#include "connectors/cli/evidence_commands.h"
#include "connectors/cli/exchange_commands.h"
#include "connectors/cli/exit_codes.h"
#include "connectors/cli/index_commands.h"
#include "connectors/cli/link_commands.h"
#include "connectors/cli/suggest.h"

namespace liaison::cli {
namespace {

// The named subcommands of `cmd` (not its option groups).
std::vector<const CLI::App*> Children(const CLI::App* cmd) {
  return cmd->get_subcommands([](const CLI::App* a) { return !a->get_name().empty(); });
}
std::vector<CLI::App*> Children(CLI::App* cmd) {
  return cmd->get_subcommands([](CLI::App* a) { return !a->get_name().empty(); });
}

// "liaison admin flows" for the app of `admin flows`.
std::string CommandPath(const CLI::App* cmd) {
  std::vector<std::string> words;
  for (const CLI::App* a = cmd; a != nullptr; a = a->get_parent()) words.push_back(a->get_name());
  return absl::StrJoin(words.rbegin(), words.rend(), " ");
}

std::vector<std::string> CommandNames(const CLI::App* cmd) {
  std::vector<std::string> names;
  for (const CLI::App* sub : Children(cmd)) names.push_back(sub->get_name());
  return names;
}

std::vector<std::string> OptionNames(const CLI::App* cmd) {
  std::vector<std::string> names;
  for (const CLI::Option* opt : cmd->get_options()) {
    for (const std::string& l : opt->get_lnames()) names.push_back("--" + l);
    for (const std::string& s : opt->get_snames()) names.push_back("-" + s);
  }
  return names;
}

// The help of `cmd`, its usage line naming the whole path ("liaison admin flows").
std::string HelpOf(const CLI::App* cmd) {
  return cmd->get_parent() == nullptr ? cmd->help() : cmd->help(CommandPath(cmd->get_parent()));
}

// The error, then the usage of `cmd`, on stderr; exit 2.
int UsageError(const CLI::App* cmd, const std::string& problem) {
  std::cerr << "error: " << problem << "\n\n" << HelpOf(cmd);
  return kExitUsage;
}

int UnknownCommand(const CLI::App* cmd, const std::string& word) {
  std::string problem = absl::StrCat("unknown command '", word, "' for '", CommandPath(cmd), "'");
  if (std::optional<std::string> near = Nearest(word, CommandNames(cmd))) {
    absl::StrAppend(&problem, "; did you mean '", *near, "'?");
  }
  return UsageError(cmd, problem);
}

// The deepest command CLI11 had started parsing.
CLI::App* Deepest(CLI::App* app) {
  for (;;) {
    std::vector<CLI::App*> parsed = app->get_subcommands();
    if (parsed.empty()) return app;
    app = parsed.front();
  }
}

// A CLI11 parse error in words a user reads, naming the command.
std::string Describe(const CLI::App* cmd, const CLI::ParseError& e) {
  const std::string path = CommandPath(cmd);
  const std::string what = e.what();
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    // "The following argument(s) were not expected: A B"
    const size_t colon = what.find(": ");
    const std::string extras = colon == std::string::npos ? what : what.substr(colon + 2);
    const std::string first = extras.substr(0, extras.find(' '));
    if (absl::StartsWith(first, "-")) {
      const std::string name = first.substr(0, first.find('='));
      std::string problem = absl::StrCat("unknown option '", name, "' for '", path, "'");
      if (std::optional<std::string> near = Nearest(name, OptionNames(cmd))) {
        absl::StrAppend(&problem, "; did you mean '", *near, "'?");
      }
      return problem;
    }
    if (!Children(cmd).empty()) {
      std::string problem = absl::StrCat("unknown command '", first, "' for '", path, "'");
      if (std::optional<std::string> near = Nearest(first, CommandNames(cmd))) {
        absl::StrAppend(&problem, "; did you mean '", *near, "'?");
      }
      return problem;
    }
    return absl::StrCat("unexpected argument '", first, "' for '", path, "'");
  }
  if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr &&
      absl::StrContains(what, "subcommand")) {
    return absl::StrCat("'", path, "' needs a command: ", absl::StrJoin(CommandNames(cmd), ", "));
  }
  return absl::StrCat(path, ": ", what);
}

// `liaison help [COMMAND…]`.
int Help(CLI::App& app, const std::vector<std::string>& words) {
  CLI::App* cmd = &app;
  for (const std::string& word : words) {
    CLI::App* next = nullptr;
    for (CLI::App* sub : Children(cmd)) {
      if (sub->get_name() == word) next = sub;
    }
    if (next == nullptr) return UnknownCommand(cmd, word);
    cmd = next;
  }
  std::cout << HelpOf(cmd);
  return kExitOk;
}

void AddFooters(CLI::App* cmd) {
  for (CLI::App* sub : Children(cmd)) {
    sub->footer(sub->get_footer() + (sub->get_footer().empty() ? "" : "\n\n") +
                "Exit codes: see 'liaison --help' (or docs/cli.md).");
    AddFooters(sub);
  }
}

}  // namespace

int Run(int argc, char** argv) {
  CLI::App app{"liaison: send, receive and verify messages of the Liaison exchange; audit; admin"};
  app.name("liaison");
  // Wide enough for the longest option with its type and default
  // ("--uncovered-grace FLOAT=300"); subcommands share this formatter.
  app.get_formatter()->column_width(34);
  app.set_help_flag("-h,--help", "Print this help and exit");
  app.set_version_flag(
      "--version", std::string("liaison ") + LIAISON_CLI_VERSION + " (wire contract liaison.v1)",
      "Print the version and exit");
  int exit_code = 0;
  ExchangeArgs exchange;
  AddExchangeCommands(app, exchange, exit_code);
  AuditArgs audit;
  AddAuditCommands(app, audit, exit_code);
  AdminArgs admin;
  AddAdminCommands(app, admin, exit_code);
  IndexArgs index;
  AddIndexCommands(app, index, exit_code);
  LinkArgs link;
  AddLinkCommands(app, link, exit_code);
  EvidenceArgs evidence;
  AddEvidenceCommands(app, evidence, exit_code);
  std::vector<std::string> help_words;
  CLI::App* help =
      app.add_subcommand("help", "Show the help of a command (liaison help admin flows)");
  help->add_option("command", help_words, "Command words (none: this overview)");
  AddFooters(&app);
  app.footer(absl::StrCat("Run 'liaison help COMMAND' for the flags of a command.\n\n",
                          ExitCodeHelp(), "\nReference: docs/cli.md."));

  // Command words are checked before CLI11 parses, so that a mistyped one
  // is named as a command (CLI11 would say "a subcommand is required").
  const std::vector<std::string> args(argv + 1, argv + argc);
  CLI::App* cmd = &app;
  for (size_t i = 0; i < args.size() && !Children(cmd).empty(); ++i) {
    const std::string& word = args[i];
    if (absl::StartsWith(word, "-")) break;  // --help, --version, or an error CLI11 names
    if (cmd == &app && word == "help") {
      return Help(app, std::vector<std::string>(args.begin() + i + 1, args.end()));
    }
    CLI::App* next = nullptr;
    for (CLI::App* sub : Children(cmd)) {
      if (sub->get_name() == word) next = sub;
    }
    if (next == nullptr) return UnknownCommand(cmd, word);
    cmd = next;
    if (i + 1 == args.size() && !Children(cmd).empty()) {
      std::cout << HelpOf(cmd);  // `liaison admin`: its commands, as `liaison` alone
      return kExitOk;
    }
  }
  if (args.empty()) {
    std::cout << app.help();
    return kExitOk;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    CLI::App* where = Deepest(&app);
    return UsageError(where, Describe(where, e));
  }
  return exit_code;
}

}  // namespace liaison::cli
