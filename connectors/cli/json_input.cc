#include "connectors/cli/json_input.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace liaison::cli {

absl::Status ParseJson(const std::string& text, const std::string& origin,
                       google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(text, message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": not a valid ",
                                                   message->GetDescriptor()->full_name(),
                                                   ": ", status.message().as_string()));
  }
  return absl::OkStatus();
}

}  // namespace liaison::cli
