// Fuzz target: what the front door does with a SendRequest's envelope --
// certs::VerifyEnvelope (signature, certificate, parse, sender) and then
// broker::ValidateForIngress against the development registry.
//
// A test PKI is minted once at start (certs/scripts/mint-dev-pki.sh) into a
// temporary folder, or read from $LIAISON_FUZZ_PKI (an `init` folder) when
// set. The first input byte picks a mode:
//   0: the rest is a SignedEnvelope (binary), verified as is: hostile
//      certificates, signatures and framing;
//   1: the rest is message bytes, signed by the endpoint the message names
//      as sender (or byte 2's pick when it names none), so that parsing and
//      ingress validation are reached; a Message that parses and names a
//      dev endpoint as sender must then verify;
//   2: like 1, then one byte of the serialized envelope is XOR-ed (bytes
//      2..4: position and mask): whatever verifies must carry exactly the
//      signed bytes.
// Mutation is structure-aware for the message of modes 1 and 2.
// `now` is fixed per PKI (the first signer's notBefore + 1 h).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "broker/frontdoor/validate.h"
#include "certs/certificate.h"
#include "certs/envelope.h"
#include "certs/signature.h"
#include "certs/trust_store.h"
#include "policy/testing/scenario.h"
#include "tests/fuzz/proto_mutator.h"
#include "tests/fuzz/quiet_protobuf.h"

namespace {

namespace v1 = liaison::v1;
namespace certs = liaison::certs;

const char* const kEndpoints[] = {"DE-BKA", "NL-NP", "RO-IGPR", "BG-GDNP", "FR-OCRTEH",
                                  "ES-PN",  "LV-VP", "SE-NOA",  "GB-NCA",  "MD-IGP"};
constexpr size_t kEndpointCount = sizeof(kEndpoints) / sizeof(kEndpoints[0]);

struct Pki {
  std::string dir;
  bool owned = false;
  std::unique_ptr<certs::Verifier> verifier;
  std::vector<std::unique_ptr<certs::Signer>> signers;  // kEndpoints order
  absl::Time now;

  ~Pki() {
    if (owned) std::filesystem::remove_all(dir);
  }
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "envelope_fuzz: %s\n", what.c_str());
  std::abort();
}

const Pki& GetPki() {
  static Pki* pki = [] {
    auto* p = new Pki;
    const char* given = std::getenv("LIAISON_FUZZ_PKI");
    if (given != nullptr && *given != '\0') {
      p->dir = given;
    }
    if (p->dir.empty() || !std::filesystem::exists(p->dir + "/ca.pem")) {
      if (p->dir.empty()) {
        char tmpl[] = "/tmp/liaison-fuzz-pki-XXXXXX";
        if (mkdtemp(tmpl) == nullptr) Die("mkdtemp failed");
        p->dir = std::string(tmpl) + "/pki";
        p->owned = true;
      }
      const std::string cmd =
          std::string("'") + LIAISON_MINT_DEV_PKI + "' init '" + p->dir + "' >/dev/null";
      if (std::system(cmd.c_str()) != 0) Die("minting the test PKI failed: " + cmd);
    }
    auto trust = certs::TrustStore::Load(p->dir + "/ca.pem", p->dir + "/crl.pem");
    if (!trust.ok()) Die(trust.status().ToString());
    p->verifier = std::make_unique<certs::Verifier>(*trust);
    for (const char* id : kEndpoints) {
      const std::string prefix = p->dir + "/endpoints/" + id + "/sign";
      auto signer = certs::Signer::FromPemFiles(prefix + ".key", prefix + ".pem");
      if (!signer.ok()) Die(signer.status().ToString());
      p->signers.push_back(std::move(*signer));
    }
    p->now = p->signers[0]->certificate().not_before() + absl::Hours(1);
    return p;
  }();
  return *pki;
}

// The front door's path after the signature: structural ingress checks.
void Ingress(const certs::VerifiedEnvelope& verified, absl::Time now) {
  absl::Status s = liaison::broker::ValidateForIngress(
      verified.message(), *liaison::policy::scenario::DevRegistry(), now);
  if (!s.ok() && s.code() != absl::StatusCode::kInvalidArgument &&
      s.code() != absl::StatusCode::kPermissionDenied &&
      s.code() != absl::StatusCode::kFailedPrecondition) {
    Die("ValidateForIngress: unexpected code: " + s.ToString());
  }
}

size_t SignerFor(const std::string& message_bytes, uint8_t pick) {
  v1::Message m;
  if (m.ParseFromString(message_bytes)) {
    for (size_t i = 0; i < kEndpointCount; ++i) {
      if (m.header().sender() == kEndpoints[i]) return i;
    }
  }
  return pick % kEndpointCount;
}

}  // namespace

// Modes 1 and 2 carry a Message after their header bytes: mutate it with
// proto_mutator.h (registry strings as the value pool); one time in four, or
// in mode 0, mutate the raw bytes (mode, signer pick, tamper position too).
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  static const std::vector<std::string> pool = [] {
    std::vector<std::string> p;
    liaison::fuzz::CollectStrings(liaison::policy::scenario::DevRegistry()->proto(), p);
    return p;
  }();
  const size_t header = size >= 1 && data[0] % 3 == 1 ? 2 : 5;
  if (size < header || data[0] % 3 == 0 || seed % 4 == 0 || max_size <= header) {
    return LLVMFuzzerMutate(data, size, max_size);
  }
  return header + liaison::fuzz::MutateProto(v1::Message::default_instance(), pool, data + header,
                                             size - header, max_size - header, seed);
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  liaison::fuzz::QuietProtobuf();
  GetPki();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Pki& pki = GetPki();
  if (size < 1) return 0;
  const uint8_t mode = data[0] % 3;
  if (mode == 0) {
    v1::SignedEnvelope envelope;
    if (!envelope.ParseFromArray(data + 1, static_cast<int>(size - 1))) return 0;
    auto verified = certs::VerifyEnvelope(std::move(envelope), *pki.verifier, pki.now);
    if (verified.ok()) Ingress(*verified, pki.now);
    return 0;
  }
  const size_t header = mode == 1 ? 2 : 5;
  if (size < header) return 0;
  const std::string message_bytes(reinterpret_cast<const char*>(data + header), size - header);
  if (message_bytes.empty()) return 0;  // SignEnvelope refuses it (documented)
  const size_t who = SignerFor(message_bytes, data[1]);
  auto envelope = certs::SignEnvelope(message_bytes, *pki.signers[who]);
  if (!envelope.ok()) Die("SignEnvelope: " + envelope.status().ToString());

  if (mode == 1) {
    auto verified = certs::VerifyEnvelope(*std::move(envelope), *pki.verifier, pki.now);
    v1::Message m;
    const bool should_verify =
        m.ParseFromString(message_bytes) && m.header().sender() == kEndpoints[who];
    if (should_verify != verified.ok()) {
      Die("VerifyEnvelope disagrees with the signer: " + verified.status().ToString());
    }
    if (verified.ok()) {
      if (verified->signer().id != kEndpoints[who]) Die("wrong signer identity");
      if (verified->envelope().message() != message_bytes) Die("verified bytes differ");
      Ingress(*verified, pki.now);
    }
    return 0;
  }

  std::string wire = envelope->SerializeAsString();
  const size_t pos = ((size_t{data[2]} << 8) | data[3]) % wire.size();
  const uint8_t mask = data[4] == 0 ? 1 : data[4];
  wire[pos] = static_cast<char>(static_cast<uint8_t>(wire[pos]) ^ mask);
  v1::SignedEnvelope tampered;
  if (!tampered.ParseFromString(wire)) return 0;
  auto verified = certs::VerifyEnvelope(std::move(tampered), *pki.verifier, pki.now);
  if (verified.ok()) {
    if (verified->envelope().message() != message_bytes) {
      Die("a tampered envelope verified with other message bytes");
    }
    Ingress(*verified, pki.now);
  }
  return 0;
}
