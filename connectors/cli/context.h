// What every CLI command needs: where the broker is, which PKI to use, and
// helpers to read and print protobuf JSON. Errors name the file and field.
#ifndef LIAISON_CONNECTORS_CLI_CONTEXT_H_
#define LIAISON_CONNECTORS_CLI_CONTEXT_H_

#include <string>

#include "absl/status/statusor.h"
#include "connectors/cli/json_input.h"  // ParseJson
#include "google/protobuf/message.h"
#include "nlohmann/json.hpp"

namespace liaison::cli {

struct Connection {
  // Defaults to var/dev (the state folder of the embedded default).
  std::string state_dir = "var/dev";
  // Override of the broker address; default: from <state_dir>/broker.json.
  std::string target;
  // Override of the PKI folder; default: from <state_dir>/broker.json.
  std::string pki_dir;
  // Endpoint (or operator) id to act as.
  std::string as;
  // The broker.json field `target` defaults from: "target" (Exchange) or
  // "admin_target" (the operators' admin listener).
  std::string target_field = "target";

  // Fills `target` and `pki_dir` from <state_dir>/broker.json where unset.
  // No broker.json: FailedPrecondition (start the broker, or pass --target
  // and --pki).
  absl::Status Resolve();

  // Checks `as` against the ids of the PKI folder (Resolve() first): the
  // folder names under <pki_dir>/endpoints/ (or operators/). An id differing
  // only in case is taken in its folder's spelling (ro-igpr → RO-IGPR);
  // an unknown id is a usage error listing the valid ids and the nearest.
  enum class Role { kEndpoint, kOperator };
  absl::Status ResolveIdentity(Role role);
};

absl::StatusOr<std::string> ReadFileOrStdin(const std::string& path);

// Protobuf message -> nlohmann JSON (proto3 JSON mapping, field names as in
// the .proto files).
nlohmann::ordered_json ToJson(const google::protobuf::Message& message);

}  // namespace liaison::cli

#endif  // LIAISON_CONNECTORS_CLI_CONTEXT_H_
