// `liaison evidence upload | list | download` end to end: the real
// liaison-broker process on the embedded default, the real `liaison` CLI.
// RO-IGPR uploads two files for the AMBER ROUTE members DE-BKA and NL-NP and
// for BG-GDNP, which is not a member: BG-GDNP gets no wrapped key and the
// policy refuses it the manifest (DP-JIT-01), so it is granted nothing.
// DE-BKA lists the items and downloads byte-identical files. The registry is
// the development one with JIT-2025-014's end moved into the future (it
// ended 2026-05-31). Synthetic bytes only.
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "certs/testing/test_pki.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/broker_process.h"
#include "tests/fixtures/wait.h"

namespace liaison::testing {
namespace {

using Json = nlohmann::json;

// `count` bytes of a fixed pseudo-random sequence (no text, all 256 values).
std::string Bytes(size_t count, uint32_t seed) {
  std::string out(count, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xff);
  }
  return out;
}

class EvidenceCli : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = MakeTempDir("liaison-e2e-evidence");
    std::string registry = ReadFileOrDie(SourcePath("deploy/registry/dev.textproto"));
    for (const std::string from :
         {"end { seconds: 1780272000 }    # 2026-06-01 (valid through 2026-05-31)",
          "new_end { seconds: 1780272000 }       # 2026-06-01"}) {
      ASSERT_NE(registry.find(from), std::string::npos) << from;
      registry.replace(registry.find(from), from.size(),
                       absl::StrCat(from.substr(0, from.find('{')), "{ seconds: 4102444800 }"));
    }
    const std::string registry_path = state_ + "/registry.textproto";
    std::ofstream(registry_path) << registry;
    broker_ = std::make_unique<BrokerProcess>(
        state_, std::vector<std::string>{"--registry", registry_path});
    ASSERT_TRUE(broker_->WaitServing()) << ReadFileOrDie(broker_->log());
  }

  CommandResult Cli(const std::string& args) {
    return RunCommand(absl::StrCat(LIAISON_CLI_BIN, " ", args, " --state-dir ", state_, " 2>&1"));
  }
  Json CliJson(const std::string& args) {
    CommandResult r = RunCommand(absl::StrCat(LIAISON_CLI_BIN, " ", args, " --state-dir ", state_));
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.output << ReadFileOrDie(broker_->log());
    try {
      return Json::parse(r.output);
    } catch (const Json::parse_error&) {
      ADD_FAILURE() << args << ": not JSON: " << r.output;
      return Json();
    }
  }
  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string path = state_ + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  std::string state_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(EvidenceCli, UploadListDownloadAndANonMemberGetsNothing) {
  const std::string photo = Bytes(1536 * 1024 + 5, 1);  // 2 chunks
  const std::string phone = Bytes(70 * 1024, 2);        // 1 chunk
  const Json uploaded = CliJson(absl::StrCat(
      "evidence upload --as RO-IGPR --jit JIT-2025-014 --to DE-BKA,NL-NP,BG-GDNP "
      "--case-ref RO-2025-0713 --item-id EV-RO-CLI-1,EV-RO-CLI-2 --media-type image/jpeg "
      "--description PREMISES_PHOTO --collected-by RO-OFF-4410 --obtained-in RO --json ",
      Write("premises.jpg", photo), " ", Write("phone.bin", phone)));
  ASSERT_EQ(uploaded["items"].size(), 2u) << uploaded.dump(1);
  EXPECT_EQ(uploaded["items"][0]["item_id"], "EV-RO-CLI-1");
  EXPECT_EQ(uploaded["items"][0]["size"], photo.size());
  EXPECT_EQ(uploaded["items"][0]["chunks"], 2);
  EXPECT_EQ(uploaded["items"][1]["item_id"], "EV-RO-CLI-2");
  const std::string manifest_id = uploaded["manifest_message_id"];
  ASSERT_FALSE(manifest_id.empty());
  ASSERT_EQ(uploaded["recipients"].size(), 3u) << uploaded.dump(1);
  for (int i : {0, 1}) {
    EXPECT_EQ(uploaded["recipients"][i]["broker"], "accepted") << uploaded.dump(1);
    EXPECT_EQ(uploaded["recipients"][i]["key_wrapped"], true) << uploaded.dump(1);
  }
  EXPECT_EQ(uploaded["recipients"][2]["recipient"], "BG-GDNP");
  EXPECT_EQ(uploaded["recipients"][2]["key_wrapped"], false) << uploaded.dump(1);
  const std::string why = uploaded["recipients"][2].value("refused", "");
  EXPECT_TRUE(absl::StartsWith(why, "DP-JIT-01: BG-GDNP is not a member of JIT-2025-014"))
      << uploaded.dump(1);

  // The grants are written once the policy delivered the manifest.
  Json listed;
  ASSERT_TRUE(WaitFor(
      [&] {
        listed = CliJson("evidence list --as DE-BKA --json");
        return listed["items"].size() == 2;
      },
      absl::Seconds(60)))
      << listed.dump(1) << ReadFileOrDie(broker_->log());
  EXPECT_EQ(listed["items"][0]["item_id"], "EV-RO-CLI-1");
  EXPECT_EQ(listed["items"][0]["jit_id"], "JIT-2025-014");
  EXPECT_EQ(listed["items"][0]["size"], photo.size());
  EXPECT_EQ(listed["items"][0]["media_type"], "image/jpeg");
  EXPECT_EQ(listed["items"][0]["complete"], true);
  EXPECT_EQ(listed["items"][0]["manifest_message_id"], manifest_id);
  EXPECT_EQ(listed["items"][1]["item_id"], "EV-RO-CLI-2");
  CommandResult table = Cli("evidence list --as DE-BKA");
  EXPECT_EQ(table.exit_code, 0) << table.output;
  EXPECT_TRUE(absl::StrContains(table.output, "EV-RO-CLI-2  JIT-2025-014  71680 bytes"))
      << table.output;

  const std::string out = state_ + "/de";
  CommandResult got = Cli("evidence download --as DE-BKA EV-RO-CLI-1 EV-RO-CLI-2 --out " + out);
  ASSERT_EQ(got.exit_code, 0) << got.output;
  EXPECT_TRUE(absl::StrContains(got.output, "SHA-256 verified")) << got.output;
  EXPECT_EQ(ReadFileOrDie(out + "/EV-RO-CLI-1"), photo);
  EXPECT_EQ(ReadFileOrDie(out + "/EV-RO-CLI-2"), phone);
  EXPECT_TRUE(absl::StrContains(got.output, "acknowledged EV-RO-CLI-1")) << got.output;
  EXPECT_TRUE(absl::StrContains(got.output, "acknowledged EV-RO-CLI-2")) << got.output;

  // BG-GDNP, refused by the policy: no grant, nothing listed, no download.
  EXPECT_EQ(CliJson("evidence list --as BG-GDNP --json")["items"], Json::array());
  CommandResult refused = Cli("evidence download --as BG-GDNP EV-RO-CLI-1 --out " + state_ + "/bg");
  EXPECT_EQ(refused.exit_code, 77) << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, "PERMISSION_DENIED")) << refused.output;
  EXPECT_TRUE(absl::StrContains(refused.output, "EV-RO-CLI-1")) << refused.output;
  EXPECT_FALSE(std::filesystem::exists(state_ + "/bg/EV-RO-CLI-1"));

  // NL-NP, the other member a key was wrapped for: --no-ack leaves the item
  // in place; a download without it acknowledges, and the broker erases both
  // items (every intended member acknowledged): DE-BKA is then told why.
  CommandResult kept =
      Cli("evidence download --as NL-NP EV-RO-CLI-1 --no-ack --out " + state_ + "/nl");
  ASSERT_EQ(kept.exit_code, 0) << kept.output;
  EXPECT_FALSE(absl::StrContains(kept.output, "acknowledged")) << kept.output;
  CommandResult again = Cli("evidence download --as DE-BKA EV-RO-CLI-1 --out " + out + "2");
  EXPECT_EQ(again.exit_code, 0) << again.output;
  CommandResult acked =
      Cli("evidence download --as NL-NP EV-RO-CLI-1 EV-RO-CLI-2 --out " + state_ + "/nl");
  ASSERT_EQ(acked.exit_code, 0) << acked.output;
  EXPECT_TRUE(absl::StrContains(acked.output, "acknowledged EV-RO-CLI-2")) << acked.output;
  // Waiting on the listing, not on downloads: a download is a disclosure in
  // the chain of custody, one that starts as the erasure is written would be
  // one after it (the node learns of an erasure from Kafka, milliseconds
  // later).
  CommandResult still_listed;
  EXPECT_TRUE(WaitFor(
      [&] {
        still_listed = Cli("evidence list --as DE-BKA");
        return still_listed.exit_code == 0 &&
               !absl::StrContains(still_listed.output, "EV-RO-CLI-1");
      },
      absl::Seconds(30)))
      << still_listed.output;
  CommandResult erased = Cli("evidence download --as DE-BKA EV-RO-CLI-1 --out " + out + "3");
  EXPECT_TRUE(absl::StrContains(erased.output, "erased at")) << erased.output;
  EXPECT_NE(erased.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(erased.output, "EVIDENCE_ERASURE_REASON_ALL_ACKNOWLEDGED"))
      << erased.output;
  // The chain of custody ends with the erasure and its reason.
  CommandResult custody = Cli("evidence custody EV-RO-CLI-1");
  EXPECT_EQ(custody.exit_code, 0) << custody.output;
  EXPECT_TRUE(absl::StrContains(custody.output, "erased")) << custody.output;
  EXPECT_TRUE(absl::StrContains(custody.output, " ALL_ACKNOWLEDGED")) << custody.output;
  EXPECT_TRUE(absl::StrContains(custody.output, "2 chunk(s) sent from chunk 0")) << custody.output;
}

TEST_F(EvidenceCli, BadUploadArgumentsAreNamed) {
  const std::string file = Write("a.bin", "x");
  CommandResult missing =
      Cli("evidence upload --as RO-IGPR --jit JIT-2025-014 --to DE-BKA " + state_ + "/none.bin");
  EXPECT_EQ(missing.exit_code, 66) << missing.output;
  EXPECT_TRUE(absl::StrContains(missing.output, "none.bin: not a readable file")) << missing.output;
  CommandResult ids =
      Cli("evidence upload --as RO-IGPR --jit JIT-2025-014 --to DE-BKA "
          "--item-id A,B " +
          file);
  EXPECT_EQ(ids.exit_code, 2) << ids.output;
  EXPECT_TRUE(absl::StrContains(ids.output, "--item-id: given 2 times for 1 files")) << ids.output;
  CommandResult unknown =
      Cli("evidence upload --as RO-IGPR --jit JIT-2025-014 --to XX-NONE " + file);
  EXPECT_EQ(unknown.exit_code, 66) << unknown.output;
  EXPECT_TRUE(absl::StrContains(unknown.output, "--to XX-NONE: no encryption certificate"))
      << unknown.output;
}

}  // namespace
}  // namespace liaison::testing
