// The `liaison` command line: builds the commands (exchange, audit, admin,
// help), parses argv and runs the one named. Usage errors (an unknown
// command or option, a missing argument) name the problem, print the usage
// of the command concerned on stderr and return 2; `liaison` alone and
// `liaison help [COMMAND…]` print usage on stdout and return 0;
// `liaison --version` prints the version. Exit codes: exit_codes.h.
#ifndef LIAISON_CONNECTORS_CLI_APP_H_
#define LIAISON_CONNECTORS_CLI_APP_H_

namespace liaison::cli {

// The process exit code.
int Run(int argc, char** argv);

}  // namespace liaison::cli

#endif  // LIAISON_CONNECTORS_CLI_APP_H_
