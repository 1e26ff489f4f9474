// Fuzz target: policy::Registry::Parse on arbitrary registry text. Parse
// either returns a validated snapshot or InvalidArgument; it must never
// crash, and a snapshot it accepted must survive its own round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "policy/registry.h"
#include "tests/fuzz/quiet_protobuf.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  liaison::fuzz::QuietProtobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto registry = liaison::policy::Registry::Parse(text, "fuzz.textproto");
  if (!registry.ok()) {
    // Parse promises InvalidArgument for every bad input.
    if (registry.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  // What validated once validates again from its own proto, with the same
  // version (the content hash is over the proto).
  auto again = liaison::policy::Registry::FromProto((*registry)->proto(), "fuzz");
  if (!again.ok() || (*again)->version() != (*registry)->version()) std::abort();
  // Exercise the indexes the rules use.
  for (const auto& e : (*registry)->proto().endpoints()) {
    if ((*registry)->FindEntry(e.id()) == nullptr) std::abort();
  }
  return 0;
}
