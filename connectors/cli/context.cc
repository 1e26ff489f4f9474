#include "connectors/cli/context.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/file.h"
#include "connectors/cli/exit_codes.h"
#include "connectors/cli/suggest.h"
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
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": not found, so no broker is running with --state-dir ", state_dir,
                     ". Start the broker first (see README), or pass --target and --pki"));
  }
  nlohmann::json info = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (info.is_discarded() || !info.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a JSON object"));
  }
  if (target.empty()) {
    if (!info.contains(target_field) || !info[target_field].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": field '", target_field, "' missing"));
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

absl::Status Connection::ResolveIdentity(Role role) {
  const std::string folder =
      absl::StrCat(pki_dir, role == Role::kEndpoint ? "/endpoints" : "/operators");
  const char* what = role == Role::kEndpoint ? "endpoint" : "operator";
  std::error_code error;
  std::vector<std::string> ids;
  for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
    if (entry.is_directory()) ids.push_back(entry.path().filename().string());
  }
  if (error) {
    return absl::NotFoundError(
        absl::StrCat(folder, ": cannot list the ", what, " certificates (", error.message(), ")"));
  }
  std::sort(ids.begin(), ids.end());
  if (std::find(ids.begin(), ids.end(), as) != ids.end()) return absl::OkStatus();
  std::vector<std::string> same_but_case;
  for (const std::string& id : ids) {
    if (absl::EqualsIgnoreCase(id, as)) same_but_case.push_back(id);
  }
  if (same_but_case.size() == 1) {
    as = same_but_case.front();
    return absl::OkStatus();
  }
  std::string text = absl::StrCat("--as '", as, "': unknown ", what, " id");
  if (std::optional<std::string> near = Nearest(as, ids)) {
    absl::StrAppend(&text, "; did you mean ", *near, "?");
  }
  absl::StrAppend(&text, "\nvalid ", what, " ids (", folder,
                  "/): ", ids.empty() ? std::string("none") : absl::StrJoin(ids, ", "));
  return AsUsageError(absl::InvalidArgumentError(text));
}

nlohmann::ordered_json ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string text;
  (void)google::protobuf::util::MessageToJsonString(message, &text, options);
  return nlohmann::ordered_json::parse(text);
}

}  // namespace liaison::cli
