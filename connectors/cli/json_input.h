// How the `liaison` CLI reads its protobuf JSON input (messages, saved
// delivery items), as a small library so that the fuzz target
// (tests/fuzz/cli_json_fuzz.cc) calls exactly what the CLI calls.
#ifndef LIAISON_CONNECTORS_CLI_JSON_INPUT_H_
#define LIAISON_CONNECTORS_CLI_JSON_INPUT_H_

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace liaison::cli {

// Parses protobuf JSON (unknown fields refused); the error names the file
// and the offending field.
absl::Status ParseJson(const std::string& text, const std::string& origin,
                       google::protobuf::Message* message);

}  // namespace liaison::cli

#endif  // LIAISON_CONNECTORS_CLI_JSON_INPUT_H_
