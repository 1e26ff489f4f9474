// `liaison admin endpoints | flows | holds | health | linkage | watch | top`: the
// operators' side, over the broker's admin listener (liaison.v1.Admin) with
// an operator certificate: --as ops-duty-1 reads
// <pki>/operators/ops-duty-1/tls.{pem,key}; the address comes from
// <state-dir>/broker.json (`admin_target`) unless --target is given.
// Every command prints a table, or protobuf JSON with --json.
#ifndef LIAISON_CONNECTORS_CLI_ADMIN_COMMANDS_H_
#define LIAISON_CONNECTORS_CLI_ADMIN_COMMANDS_H_

#include <cstdint>
#include <vector>

#include "CLI/CLI.hpp"
#include "connectors/cli/context.h"

namespace liaison::cli {

struct AdminArgs {
  Connection connection;
  bool json = false;
  // flows: window lengths in seconds (default 60, 900, 3600).
  std::vector<int64_t> windows;
  // top: screens to draw (0 = until Ctrl-C); watch: events (0 = until Ctrl-C).
  int iterations = 0;
  int count = 0;
  double interval_seconds = 1;
  // watch/top: recent events to show first.
  unsigned replay = 20;
};

void AddAdminCommands(CLI::App& app, AdminArgs& args, int& exit_code);

}  // namespace liaison::cli

#endif  // LIAISON_CONNECTORS_CLI_ADMIN_COMMANDS_H_
