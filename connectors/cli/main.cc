// `liaison`: the command line of the endpoint client library (and, for
// operators, of the admin API). Parses arguments and calls into libraries.
#include "connectors/cli/app.h"

int main(int argc, char** argv) { return liaison::cli::Run(argc, argv); }
