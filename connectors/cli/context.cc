#include "connectors/cli/context.h"

#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "google/protobuf/util/json_util.h"

namespace liaison::cli {

absl::StatusOr<std::string> ReadFileOrStdin(const std::string& path) {
  if (path != "-") return ReadFile(path);
  std::ostringstream text;
  text << std::cin.rdbuf();
  return text.str();
}

absl::Status Connection::Resolve() {
  if (!target.empty() && !pki_dir.empty()) return absl::OkStatus();
  const std::string path = state_dir + "/broker.json";
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(
        path, ": not found. Start the broker first (see README), or pass --target and --pki"));
  }
  nlohmann::json info = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (info.is_discarded() || !info.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a JSON object"));
  }
  if (target.empty()) {
    if (!info.contains(target_field) || !info[target_field].is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": field '", target_field, "' missing"));
    }
    target = info[target_field].get<std::string>();
  }
  if (pki_dir.empty()) {
    if (!info.contains("pki_dir") || !info["pki_dir"].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": field 'pki_dir' missing"));
    }
    pki_dir = info["pki_dir"].get<std::string>();
  }
  return absl::OkStatus();
}

nlohmann::ordered_json ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string text;
  (void)google::protobuf::util::MessageToJsonString(message, &text, options);
  return nlohmann::ordered_json::parse(text);
}

}  // namespace liaison::cli
