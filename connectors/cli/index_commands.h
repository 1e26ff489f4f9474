// `liaison index publish | withdraw`: an endpoint puts the identifiers of
// its open cases into the broker's case-linkage index, and takes cases out.
// Identifiers are read in cleartext from a file, normalised and blinded in
// this process with the network linkage key (index_file.h); only blinded
// values, case handles and expiries are signed and sent.
#ifndef LIAISON_CONNECTORS_CLI_INDEX_COMMANDS_H_
#define LIAISON_CONNECTORS_CLI_INDEX_COMMANDS_H_

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "connectors/cli/context.h"

namespace liaison::cli {

struct IndexArgs {
  Connection connection;
  // Linkage key file (default: the newest <pki>/linkage/epoch-N.key).
  std::string key_path;
  size_t batch = 5000;  // entries (or withdrawals) per signed batch
  bool json = false;
  // publish
  std::string file;           // CSV or JSON ("-" = stdin)
  std::string region;         // default: the country of the --as id (RO-IGPR -> RO)
  std::string name_language;  // default: from the region (BG -> bg, UA -> uk, RU -> ru)
  int expires_in_days = 0;    // 0: every row needs expires_at
  // withdraw
  std::vector<std::string> handles;
  std::string handles_file;
  std::string entries_file;  // withdraw these identifiers only (publish format)
};

void AddIndexCommands(CLI::App& app, IndexArgs& args, int& exit_code);

}  // namespace liaison::cli

#endif  // LIAISON_CONNECTORS_CLI_INDEX_COMMANDS_H_
