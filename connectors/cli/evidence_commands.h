// `liaison evidence upload | list | download | custody`: JIT evidence (docs/evidence.md)
// for an evidence officer. `upload` encrypts each file for the recipients'
// endpoint-encryption certificates, uploads it (resuming after a broken
// connection) and sends one signed EVIDENCE_MANIFEST naming the items;
// `list` shows the items the policy granted the caller; `download` fetches,
// decrypts and verifies granted items and writes DIR/ITEM_ID only once
// verified; `custody` (custody_command.h) checks an item's chain of custody
// in the audit trail.
#ifndef LIAISON_CONNECTORS_CLI_EVIDENCE_COMMANDS_H_
#define LIAISON_CONNECTORS_CLI_EVIDENCE_COMMANDS_H_

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "connectors/cli/context.h"
#include "connectors/cli/custody_command.h"

namespace liaison::cli {

struct EvidenceArgs {
  Connection connection;
  bool json = false;
  // upload
  std::string jit;
  std::vector<std::string> recipients;
  std::vector<std::string> item_ids;  // one per file; default generated
  std::string case_ref;
  std::vector<std::string> purposes;  // default investigate
  std::vector<std::string> legal_basis = {"MLA-2000-ART13"};
  std::string erase_in = "28d";
  std::string media_type = "application/octet-stream";
  std::string description;
  std::string collected_by;
  std::string obtained_in;  // default: the country of --as
  bool child_interview = false;
  std::string spool_dir;
  std::vector<std::string> files;
  // download
  std::vector<std::string> download_ids;
  std::string out_dir;
  // download: do not acknowledge the items after writing them.
  bool no_ack = false;
  // custody (custody_command.h)
  CustodyArgs custody;
};

void AddEvidenceCommands(CLI::App& app, EvidenceArgs& args, int& exit_code);

}  // namespace liaison::cli

#endif  // LIAISON_CONNECTORS_CLI_EVIDENCE_COMMANDS_H_
