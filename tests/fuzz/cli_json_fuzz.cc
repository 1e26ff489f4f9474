// Fuzz target: the `liaison` CLI's JSON input (cli::ParseJson, the function
// `liaison send/explain/verify` call) into liaison.v1.Message and
// liaison.v1.DeliveryItem. Malformed JSON must give InvalidArgument, never a
// crash; a message that parsed must print and re-parse to the same message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "connectors/cli/json_input.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "liaison/v1/envelope.pb.h"
#include "liaison/v1/message.pb.h"
#include "tests/fuzz/quiet_protobuf.h"

namespace {

void Check(const std::string& text, google::protobuf::Message* message) {
  absl::Status s = liaison::cli::ParseJson(text, "fuzz.json", message);
  if (!s.ok()) {
    if (s.code() != absl::StatusCode::kInvalidArgument) std::abort();
    return;
  }
  std::string printed;
  if (!google::protobuf::util::MessageToJsonString(*message, &printed).ok()) std::abort();
  std::unique_ptr<google::protobuf::Message> again(message->New());
  if (!liaison::cli::ParseJson(printed, "printed.json", again.get()).ok()) std::abort();
  if (!google::protobuf::util::MessageDifferencer::Equals(*message, *again)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  liaison::fuzz::QuietProtobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  liaison::v1::Message message;
  Check(text, &message);
  liaison::v1::DeliveryItem item;
  Check(text, &item);
  return 0;
}
