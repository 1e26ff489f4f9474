// `liaison evidence custody ITEM`: the chain of custody of one JIT evidence
// item, read from the audit trail as the auditor (like `liaison audit
// verify`) or from a file of `liaison audit export` (--from), and checked
// offline (connectors/audit/custody.h). Exit 3 on a violation.
#ifndef LIAISON_CONNECTORS_CLI_CUSTODY_COMMAND_H_
#define LIAISON_CONNECTORS_CLI_CUSTODY_COMMAND_H_

#include <string>

#include "CLI/CLI.hpp"
#include "connectors/cli/audit_commands.h"

namespace liaison::cli {

struct CustodyArgs {
  AuditArgs audit;
  std::string item;  // an item id, or its ciphertext SHA-256 (64 hex)
};

// Adds `custody` under `evidence`.
void AddCustodyCommand(CLI::App* evidence, CustodyArgs& args, int& exit_code);

}  // namespace liaison::cli

#endif  // LIAISON_CONNECTORS_CLI_CUSTODY_COMMAND_H_
