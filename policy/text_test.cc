// The helpers that decide what sender-supplied text may appear in reasons.
#include "policy/internal/text.h"

#include "gtest/gtest.h"

namespace liaison::policy::internal {
namespace {

TEST(IsMessageFieldPath, AcceptsRealFieldPathsOfAMessage) {
  EXPECT_TRUE(IsMessageFieldPath("evidence_manifest.items[4]"));
  EXPECT_TRUE(IsMessageFieldPath("info.entities[0].person.attributes[2]"));
  EXPECT_TRUE(IsMessageFieldPath("alert.summary"));
}

TEST(IsMessageFieldPath, RejectsNamesAndMalformedPaths) {
  EXPECT_FALSE(IsMessageFieldPath("elena_ivanova"));
  EXPECT_FALSE(IsMessageFieldPath("info.entities"));  // repeated without index
  EXPECT_FALSE(IsMessageFieldPath("info[0]"));        // singular with index
  EXPECT_FALSE(IsMessageFieldPath("info.entities[x]"));
  EXPECT_FALSE(IsMessageFieldPath("info.entities[0].person.nickname"));
  EXPECT_FALSE(IsMessageFieldPath(""));
}

TEST(MessageIdForText, PrintsOnlyUuidShapedIds) {
  EXPECT_EQ(MessageIdForText("019df237-3e80-7000-8000-000000000001"),
            "019df237-3e80-7000-8000-000000000001");
  EXPECT_EQ(MessageIdForText("ZZTEST-ELENA"), "<malformed id>");
}

TEST(IsCodeShaped, AcceptsUpperCaseCodesOnly) {
  EXPECT_TRUE(IsCodeShaped("NO_PRESS"));
  EXPECT_FALSE(IsCodeShaped("no press"));
  EXPECT_FALSE(IsCodeShaped("ZZTEST ELENA"));
  EXPECT_FALSE(IsCodeShaped(""));
}

}  // namespace
}  // namespace liaison::policy::internal
