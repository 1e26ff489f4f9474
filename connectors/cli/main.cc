// `liaison`: the command line of the endpoint client library (and, for
// operators, of the admin API). Parses arguments and calls into libraries.
#include <iostream>

#include "CLI/CLI.hpp"
#include "connectors/cli/admin_commands.h"
#include "connectors/cli/audit_commands.h"
#include "connectors/cli/exchange_commands.h"

int main(int argc, char** argv) {
  CLI::App app{"liaison: send, receive and verify messages of the Liaison exchange"};
  app.require_subcommand(1);
  int exit_code = 0;
  liaison::cli::ExchangeArgs exchange;
  liaison::cli::AddExchangeCommands(app, exchange, exit_code);
  liaison::cli::AuditArgs audit;
  liaison::cli::AddAuditCommands(app, audit, exit_code);
  liaison::cli::AdminArgs admin;
  liaison::cli::AddAdminCommands(app, admin, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
