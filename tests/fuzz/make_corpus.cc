// Writes the fuzz seed corpus: make_fuzz_corpus OUT_DIR (normally
// tests/fuzz/corpus). Seeds come from the docs/scenario.md messages
// (policy/testing), deploy/examples/*.json and deploy/registry/dev.textproto.
// Output is deterministic, so a rerun only changes files whose source did.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "base/file.h"
#include "certs/merkle.h"
#include "connectors/cli/json_input.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/json_util.h"
#include "liaison/v1/message.pb.h"
#include "policy/testing/scenario.h"

namespace {

namespace fs = std::filesystem;
namespace sc = liaison::policy::scenario;
using liaison::v1::Message;

std::string Binary(const Message& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  return out;
}

void Write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const fs::path out = argv[1];
  std::vector<std::pair<std::string, Message>> messages = {
      {"ac01", sc::Ac01MissingChildAlert()},
      {"ac02", sc::Ac02MissingChildAlertWide()},
      {"ac03", sc::Ac03VictimInfoExchange()},
      {"ac04", sc::Ac04ProtectVictimToSe()},
      {"ac05", sc::Ac05NoLegalBasis()},
      {"ac06", sc::Ac06JitSpecialCategories()},
      {"ac07", sc::Ac07DerivedFromH2()},
      {"ac08", sc::Ac08EvidenceFromH1()},
      {"ac09a", sc::Ac09UnknownRestriction()},
      {"ac09b", sc::Ac09NotBefore()},
      {"ac11", sc::Ac11SuspectsToMd(4, sc::Ac11Basis::kDerogation38C)},
      {"ac14a", sc::Ac14LinkageQuery()},
      {"ac14b", sc::Ac14LinkageReply()},
      {"ac14c", sc::Ac14FollowUp()},
      {"ac14d", sc::Ac14Details()},
      {"ac15", sc::Ac15CleartextQuery()},
      {"ac16", sc::Ac16EvidenceManifest()},
      {"ac18", sc::Ac18ReuseOutsideJit()},
      {"ac19", sc::Ac19ShortLivedAlert()},
      {"ac21", sc::Ac21Batch(1, 3)},
      {"ac23", sc::Ac23EraseCorrection()},
      {"typical", sc::TypicalAlert()},
      {"typical-victim", sc::TypicalAlertWithVictim()},
  };
  const fs::path examples = fs::path(LIAISON_SOURCE_DIR) / "deploy/examples";
  std::vector<fs::path> example_files;
  for (const auto& e : fs::directory_iterator(examples)) {
    if (e.path().extension() == ".json") example_files.push_back(e.path());
  }
  std::sort(example_files.begin(), example_files.end());
  for (const fs::path& p : example_files) {
    auto text = liaison::ReadFile(p.string());
    if (!text.ok()) {
      std::fprintf(stderr, "%s\n", text.status().ToString().c_str());
      return 1;
    }
    Message m;
    if (auto s = liaison::cli::ParseJson(*text, p.string(), &m); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    Write(out / "cli_json_fuzz" / p.filename(), *text);
    messages.emplace_back("example-" + p.stem().string(), std::move(m));
  }

  for (const auto& [name, m] : messages) {
    const std::string bin = Binary(m);
    Write(out / "policy_chain_fuzz" / (name + ".bin"), bin);
    // envelope_fuzz mode 1 (sign as the sender) and mode 2 (then tamper).
    Write(out / "envelope_fuzz" / (name + ".bin"), std::string("\x01\x00", 2) + bin);
    Write(out / "envelope_fuzz" / (name + "-tamper.bin"),
          std::string("\x02\x00\x00\x40\x01", 5) + bin);
    if (name.rfind("example-", 0) != 0) {
      google::protobuf::util::JsonPrintOptions options;
      options.preserve_proto_field_names = true;
      std::string json;
      if (!google::protobuf::util::MessageToJsonString(m, &json, options).ok()) return 1;
      Write(out / "cli_json_fuzz" / (name + ".json"), json);
    }
  }
  Write(out / "registry_fuzz" / "dev.textproto", std::string(sc::DevRegistryText()));
  // merkle_proof_fuzz: byte 0 = tree size - 1, then the tree's own proof
  // for one leaf (sizes with odd splits and one full tree).
  const std::vector<std::pair<uint64_t, uint64_t>> proofs = {{1, 0}, {2, 1},  {5, 4},
                                                             {7, 6}, {13, 5}, {64, 37}};
  for (const auto& [n, i] : proofs) {
    std::vector<std::string> leaves;
    for (uint64_t k = 0; k < n; ++k) {
      leaves.push_back(liaison::certs::MerkleLeafHash(std::to_string(k)));
    }
    const liaison::certs::MerkleTree tree(leaves);
    const std::string proof =
        liaison::certs::ToProto({i, n, *tree.AuditPath(i)}).SerializeAsString();
    Write(out / "merkle_proof_fuzz" /
              ("n" + std::to_string(n) + "-leaf" + std::to_string(i) + ".bin"),
          std::string(1, static_cast<char>(n - 1)) + proof);
  }
  std::printf("wrote %zu messages' seeds under %s\n", messages.size(), out.c_str());
  return 0;
}
