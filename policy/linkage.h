// Case-linkage helpers the broker needs besides the chain (DP-LINK-02).
#ifndef LIAISON_POLICY_LINKAGE_H_
#define LIAISON_POLICY_LINKAGE_H_

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "liaison/v1/message.pb.h"
#include "policy/registry.h"

namespace liaison::policy {

// True for an opaque owner reference "LNK-" + 1..64 of [A-Za-z0-9-].
bool IsOwnerRef(absl::string_view ref);

// DP-LINK-02 shape of a hit/no-hit reply: query_id set; every hit carries
// only {identifier_index >= 0, hit, owner, owner_ref}; a no-hit has no
// owner and no owner_ref; a hit names a registered owner endpoint and an
// LNK- owner_ref; no unknown protobuf fields anywhere (nothing smuggled).
// OK, or InvalidArgument naming the field path ("DP-LINK-02: linkage_reply.
// hits[1].owner_ref ..."). Pure; thread-safe.
absl::Status CheckLinkageReplyShape(const liaison::v1::LinkageReply& reply,
                                    const Registry& registry);

}  // namespace liaison::policy

#endif  // LIAISON_POLICY_LINKAGE_H_
