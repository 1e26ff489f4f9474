// `liaison link query | follow-up | decide`: case linkage for an analyst.
// `query` reads cleartext identifiers from a file, normalises and blinds
// them in this process (as `index publish` does), sends a signed
// LINKAGE_QUERY and waits for the broker's answer from the index: hit or
// no hit per identifier, the owner endpoint and its case handle. `follow-up`
// asks an owner for the details of a hit (held for the owner, DP-LINK-02);
// `decide` is the owner's signed approval or refusal.
#ifndef LIAISON_CONNECTORS_CLI_LINK_COMMANDS_H_
#define LIAISON_CONNECTORS_CLI_LINK_COMMANDS_H_

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "connectors/cli/context.h"
#include "liaison/v1/common.pb.h"

namespace liaison::cli {

struct LinkArgs {
  Connection connection;
  bool json = false;
  // Header of every linkage message.
  std::string case_ref;
  std::vector<std::string> purposes;  // investigate, prevent, ... (default: investigate)
  std::vector<std::string> legal_basis = {"EU-DIR-2023/977"};
  std::string review_in = "30d";
  std::string erase_in = "90d";
  std::string officer;
  bool urgent = false;
  std::string access;           // direct | indirect
  std::string handling = "H0";  // H0 | H1 | H2
  // query: how long to wait for the reply.
  double wait_seconds = 30;
  bool no_wait = false;
  // follow-up: how long to wait for the broker's notice on it (HELD).
  double notice_wait_seconds = 10;
  // query
  std::string file;
  std::vector<std::string> recipients;
  std::string offence;
  std::string key_path;
  std::string region;
  std::string name_language;
  // follow-up
  std::string owner;
  std::string owner_ref;
  std::string query_id;
  std::string justification;
  // decide
  std::string followup_id;
  std::string to;
  bool approve = false;
  bool refuse = false;
  std::string details_message_id;
  std::string reason;
};

void AddLinkCommands(CLI::App& app, LinkArgs& args, int& exit_code);

// "investigate", "INVESTIGATE" or "PURPOSE_INVESTIGATE" -> the enum; a usage
// error naming --purpose, the nearest name and the list otherwise.
absl::StatusOr<liaison::v1::Purpose> ParsePurpose(const std::string& text);

}  // namespace liaison::cli

#endif  // LIAISON_CONNECTORS_CLI_LINK_COMMANDS_H_
