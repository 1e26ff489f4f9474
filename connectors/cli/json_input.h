// How the `liaison` CLI reads its protobuf JSON input (messages, saved
// delivery items), as a small library so that the fuzz target
// (tests/fuzz/cli_json_fuzz.cc) calls exactly what the CLI calls.
#ifndef LIAISON_CONNECTORS_CLI_JSON_INPUT_H_
#define LIAISON_CONNECTORS_CLI_JSON_INPUT_H_

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace liaison::cli {

// Parses protobuf JSON into `message` (unknown fields refused). On bad input
// returns InvalidArgument "ORIGIN:LINE:COLUMN: FIELD.PATH: problem", where
// LINE:COLUMN (1-based, columns in characters) is where the problem starts:
//   - a JSON syntax error ("expected ',' or '}'", "unterminated string");
//   - a field the message type does not have, with the nearest field name
//     ("did you mean 'recipients'?") or else the list of its fields;
//   - an enum value the enum does not have, with the nearest value name;
//   - a value of the wrong JSON type (an object where a string belongs).
// What only protobuf's own parser catches (a malformed timestamp, a number
// out of range) is reported with ORIGIN and protobuf's text.
// Never reads beyond `text`; nesting deeper than 100 levels is refused.
absl::Status ParseJson(const std::string& text, const std::string& origin,
                       google::protobuf::Message* message);

}  // namespace liaison::cli

#endif  // LIAISON_CONNECTORS_CLI_JSON_INPUT_H_
