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
#include "absl/status/statusor.h"
#include "connectors/cli/context.h"
#include "connectors/endpoint/linkage/linkage_key.h"
#include "connectors/endpoint/linkage/normalize.h"

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

// The linkage key of --key (`key_path`), else the newest
// <pki_dir>/linkage/epoch-N.key; NotFound naming the folder when none.
absl::StatusOr<endpoint::linkage::LinkageKey> LoadLinkageKey(const std::string& key_path,
                                                             const std::string& pki_dir);

// The normaliser an endpoint uses: phone numbers without a country code in
// `region` (default: the country of the endpoint id `as`, RO-IGPR -> RO),
// Cyrillic names without a language column in `name_language` (default:
// bg, uk, ru for BG, UA, RU). A bad region is a usage error naming --region.
absl::StatusOr<std::unique_ptr<endpoint::linkage::Normalizer>> EndpointNormalizer(
    const std::string& region, const std::string& name_language, const std::string& as);

}  // namespace liaison::cli

#endif  // LIAISON_CONNECTORS_CLI_INDEX_COMMANDS_H_
