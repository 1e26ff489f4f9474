#include "policy/linkage.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"

namespace liaison::policy {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(CheckLinkageReplyShape, AcceptsHitOwnerAndRefOnly) {
  EXPECT_TRUE(
      CheckLinkageReplyShape(scenario::Ac14LinkageReply().linkage_reply(), *scenario::DevRegistry())
          .ok());
}

TEST(CheckLinkageReplyShape, RejectsAnOwnerOnANoHit) {
  auto reply = scenario::Ac14LinkageReply().linkage_reply();
  reply.mutable_hits(1)->set_owner_ref("LNK-7Q2M-0002");
  const absl::Status s = CheckLinkageReplyShape(reply, *scenario::DevRegistry());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("linkage_reply.hits[1] is a no-hit"));
}

TEST(CheckLinkageReplyShape, RejectsAnUnregisteredOwner) {
  auto reply = scenario::Ac14LinkageReply().linkage_reply();
  reply.mutable_hits(0)->set_owner("XX-NOPE");
  EXPECT_THAT(std::string(CheckLinkageReplyShape(reply, *scenario::DevRegistry()).message()),
              HasSubstr("linkage_reply.hits[0].owner is not a registered endpoint"));
}

TEST(CheckLinkageReplyShape, RejectsSmuggledUnknownFieldsWithoutEchoingThem) {
  auto reply = scenario::Ac14LinkageReply().linkage_reply();
  reply.mutable_hits(0)
      ->GetReflection()
      ->MutableUnknownFields(reply.mutable_hits(0))
      ->AddLengthDelimited(42, "ZZTEST-ELENA ZZTEST-IVANOVA");
  const absl::Status s = CheckLinkageReplyShape(reply, *scenario::DevRegistry());
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("ZZTEST")));
}

TEST(IsOwnerRef, AcceptsOnlyOpaqueLnkReferences) {
  EXPECT_TRUE(IsOwnerRef("LNK-7Q2M-0001"));
  EXPECT_FALSE(IsOwnerRef("LNK-"));
  EXPECT_FALSE(IsOwnerRef("LNK-ZZTEST ELENA"));
  EXPECT_FALSE(IsOwnerRef("P-201"));
}

}  // namespace
}  // namespace liaison::policy
