#include "policy/retention.h"

#include "base/proto_time.h"

namespace liaison::policy {

EraseTime EraseBy(const liaison::v1::Header& header) {
  EraseTime out;
  if (header.retention().has_erase_by()) out.at = FromProto(header.retention().erase_by());
  for (const liaison::v1::Restriction& r : header.handling().restrictions()) {
    if (r.code() != "ERASE_BY") continue;
    auto it = r.params().find("at");
    if (it == r.params().end()) continue;
    absl::Time t;
    std::string err;
    if (absl::ParseTime(absl::RFC3339_full, it->second, &t, &err) && t < out.at) {
      out.at = t;
      out.source = "H3 ERASE_BY";
    }
  }
  return out;
}

}  // namespace liaison::policy
