#include "policy/linkage.h"
#include "absl/strings/string_view.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace liaison::policy {

bool IsOwnerRef(absl::string_view ref) {
  constexpr absl::string_view kPrefix = "LNK-";
  if (ref.substr(0, kPrefix.size()) != kPrefix) return false;
  const absl::string_view rest = ref.substr(kPrefix.size());
  if (rest.empty() || rest.size() > 64) return false;
  for (char c : rest) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

absl::Status CheckLinkageReplyShape(const liaison::v1::LinkageReply& reply,
                                    const Registry& registry) {
  auto bad = [](absl::string_view path, absl::string_view problem) {
    return absl::InvalidArgumentError(absl::StrCat("DP-LINK-02: ", path, " ", problem));
  };
  if (!reply.GetReflection()->GetUnknownFields(reply).empty()) {
    return bad("linkage_reply",
               "carries unknown fields: a reply holds only hit, owner and owner_ref");
  }
  if (reply.query_id().empty()) return bad("linkage_reply.query_id", "missing");
  for (int i = 0; i < reply.hits_size(); ++i) {
    const liaison::v1::LinkageHit& h = reply.hits(i);
    const std::string path = absl::StrCat("linkage_reply.hits[", i, "]");
    if (!h.GetReflection()->GetUnknownFields(h).empty()) {
      return bad(path, "carries unknown fields: a hit holds only hit, owner and owner_ref");
    }
    if (h.identifier_index() < 0) return bad(path + ".identifier_index", "is negative");
    if (!h.hit()) {
      if (!h.owner().empty() || !h.owner_ref().empty()) {
        return bad(path, "is a no-hit and must carry no owner or owner_ref");
      }
      continue;
    }
    if (registry.FindEndpoint(h.owner()) == nullptr) {
      return bad(path + ".owner", "is not a registered endpoint");
    }
    if (!IsOwnerRef(h.owner_ref())) {
      return bad(path + ".owner_ref", "must be an opaque LNK- reference");
    }
  }
  return absl::OkStatus();
}

}  // namespace liaison::policy
