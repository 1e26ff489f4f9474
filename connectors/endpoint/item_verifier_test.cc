// ItemVerifier against forged, tampered, re-signed and misaddressed items,
// Wycheproof style: one TEST_P per class of attack over a table of cases,
// each naming what it forges and the exact status it must get. Items are
// built the way the broker builds them (a Statement serialised and signed
// with a broker key, the sender's envelope from certs::SignEnvelope), with
// the keys of the shared test PKI: real OpenSSL throughout.
#include "connectors/endpoint/item_verifier.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/proto_time.h"
#include "base/testing/status_matchers.h"
#include "certs/batch_root.h"
#include "certs/envelope.h"
#include "certs/merkle.h"
#include "certs/signature.h"
#include "certs/testing/test_pki.h"
#include "certs/trust_store.h"
#include "connectors/endpoint/linkage_messages.h"
#include "gtest/gtest.h"

namespace liaison::endpoint {
namespace {

using liaison::testing::IsError;
using liaison::testing::SharedTestPki;
using liaison::testing::TestPki;
using liaison::v1::DeliveryItem;
using liaison::v1::Statement;

// The verifying endpoint; RO-IGPR sends to it and to DE-BKA.
constexpr char kSelf[] = "NL-NP";
constexpr char kSender[] = "RO-IGPR";
constexpr char kOther[] = "DE-BKA";
constexpr char kMessageId[] = "0190a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d";

// Every key a case signs with, loaded once per process.
struct Keys {
  std::unique_ptr<certs::Signer> broker;          // liaison-broker-1 (broker/tls)
  std::unique_ptr<certs::Signer> broker_revoked;  // liaison-broker-9, in the CRL
  std::unique_ptr<certs::Signer> broker_expired;  // liaison-broker-8, 2020..2021
  std::unique_ptr<certs::Signer> sender;          // RO-IGPR endpoint-signing
  std::unique_ptr<certs::Signer> sender_tls;      // RO-IGPR endpoint-tls
  std::unique_ptr<certs::Signer> sender_expired;  // RO-IGPR endpoint-signing, 2020..2021
  std::unique_ptr<certs::Signer> sender_revoked;  // RO-IGPR endpoint-signing, in the CRL
  std::unique_ptr<certs::Signer> other;           // DE-BKA endpoint-signing
  std::unique_ptr<certs::Signer> operator_tls;    // ops-duty-1 (operator)
  std::unique_ptr<certs::Signer> foreign;         // RO-IGPR signing of an unrelated CA
};

const Keys& K() {
  static const Keys* keys = [] {
    const TestPki& pki = SharedTestPki();
    auto* k = new Keys;
    k->broker = liaison::testing::LoadSignerOrDie(pki.dir + "/broker/tls");
    k->broker_revoked = liaison::testing::LoadSignerOrDie(pki.issued + "/broker-revoked");
    k->broker_expired = liaison::testing::LoadSignerOrDie(pki.issued + "/broker-expired");
    k->sender = liaison::testing::LoadSignerOrDie(pki.EndpointFile(kSender, "sign"));
    k->sender_tls = liaison::testing::LoadSignerOrDie(pki.EndpointFile(kSender, "tls"));
    k->sender_expired = liaison::testing::LoadSignerOrDie(pki.issued + "/expired");
    k->sender_revoked = liaison::testing::LoadSignerOrDie(pki.issued + "/revoked");
    k->other = liaison::testing::LoadSignerOrDie(pki.EndpointFile(kOther, "sign"));
    k->operator_tls = liaison::testing::LoadSignerOrDie(pki.dir + "/operators/ops-duty-1/tls");
    k->foreign = liaison::testing::LoadSignerOrDie(pki.foreign_dir + "/endpoints/RO-IGPR/sign");
    return k;
  }();
  return *keys;
}

std::shared_ptr<const certs::TrustStore> NetworkTrust() {
  return liaison::testing::NetworkTrustOrDie();
}

liaison::v1::Message Alert(absl::string_view sender = kSender) {
  liaison::v1::Message m;
  liaison::v1::Header* h = m.mutable_header();
  h->set_message_id(kMessageId);
  h->set_sender(std::string(sender));
  h->add_recipients(kSelf);
  h->add_recipients(kOther);
  *h->mutable_created_at() = ToProto(SharedTestPki().now);
  m.mutable_alert();  // the body does not matter to the verifier
  return m;
}

// What a broker puts together before it signs: the content, the sender's
// signing key, the statement and the broker's key. Cases change any part;
// Build() then signs and assembles the item as the broker would.
struct Draft {
  std::string message_bytes;                       // the sender's serialised Message
  const certs::Signer* sender = K().sender.get();  // signs message_bytes
  std::string derived_bytes;                       // set: a derived (redacted) delivery
  bool without_content = false;                    // neither original nor derived
  Statement statement;                             // what the broker states
  const certs::Signer* broker = K().broker.get();  // signs the statement
  std::string signed_statement_bytes;              // set: signed instead of `statement`
};

std::string Sha256(const std::string& bytes) { return certs::Sha256(bytes); }

// RO-IGPR's alert to NL-NP and DE-BKA, delivered unchanged.
Draft OriginalDelivery() {
  Draft d;
  d.message_bytes = Alert().SerializeAsString();
  liaison::v1::Attestation* a = d.statement.mutable_attestation();
  a->set_message_id(kMessageId);
  a->set_sender(kSender);
  a->add_recipients(kSelf);
  a->add_recipients(kOther);
  a->set_content_sha256(Sha256(d.message_bytes));
  a->set_original_sha256(Sha256(d.message_bytes));
  a->set_outcome(liaison::v1::OUTCOME_ALLOW);
  return d;
}

// The same alert with content the broker derived (redacted) for NL-NP.
Draft DerivedDelivery() {
  Draft d = OriginalDelivery();
  liaison::v1::Message redacted = Alert();
  redacted.mutable_header()->set_sender_officer("");  // stands for a redaction
  redacted.mutable_header()->set_case_ref("redacted");
  d.derived_bytes = redacted.SerializeAsString();
  liaison::v1::Attestation* a = d.statement.mutable_attestation();
  a->set_derived(true);
  a->set_content_sha256(Sha256(d.derived_bytes));
  a->set_outcome(liaison::v1::OUTCOME_REDACT);
  return d;
}

// NL-NP is told that DE-BKA acknowledged its message.
Draft ReceiptForSelf() {
  Draft d;
  d.without_content = true;
  liaison::v1::Receipt* r = d.statement.mutable_receipt();
  r->set_message_id(kMessageId);
  r->set_recipient(kOther);
  r->set_addressee(kSelf);
  r->set_outcome(liaison::v1::OUTCOME_ALLOW);
  return d;
}

// NL-NP is told that its message to DE-BKA is held.
Draft NoticeForSelf() {
  Draft d;
  d.without_content = true;
  liaison::v1::Notice* n = d.statement.mutable_notice();
  n->set_kind(liaison::v1::NOTICE_KIND_HELD);
  n->set_addressee(kSelf);
  n->set_message_id(kMessageId);
  n->set_recipient(kOther);
  return d;
}

// The query NL-NP sent (its signed envelope) and the broker's answer from
// the index: a message the broker wrote itself, derived, in its own name.
constexpr char kQueryId[] = "0190a3c4-5e6f-7a8b-9c0d-000000000014";
constexpr char kReplyId[] = "0190a3c4-5e6f-7a8b-9c0d-000000000015";

liaison::v1::SignedEnvelope Query() {
  liaison::v1::Message m;
  liaison::v1::Header* h = m.mutable_header();
  h->set_message_id(kQueryId);
  h->set_kind(liaison::v1::KIND_LINKAGE_QUERY);
  h->set_sender(kSelf);
  h->add_recipients(kSender);
  for (char fill : {'\x01', '\x02', '\x03'}) {
    liaison::v1::BlindedIdentifier* id = m.mutable_linkage_query()->add_identifiers();
    id->set_type(liaison::v1::IDENTIFIER_TYPE_PHONE);
    id->set_scheme("HMAC-SHA256/epoch-1");
    id->set_value(std::string(32, fill));
  }
  liaison::v1::SignedEnvelope envelope;
  envelope.set_message(m.SerializeAsString());  // the signature does not matter here
  return envelope;
}

liaison::v1::Message Reply(absl::string_view sender) {
  liaison::v1::Message m;
  liaison::v1::Header* h = m.mutable_header();
  h->set_message_id(kReplyId);
  h->set_kind(liaison::v1::KIND_LINKAGE_REPLY);
  h->set_sender(std::string(sender));
  h->add_recipients(kSelf);
  h->set_in_reply_to(kQueryId);
  liaison::v1::LinkageReply* r = m.mutable_linkage_reply();
  r->set_query_id(kQueryId);
  liaison::v1::LinkageHit* hit = r->add_hits();
  hit->set_identifier_index(0);
  hit->set_hit(true);
  hit->set_owner(kSender);
  hit->set_owner_ref("LNK-RO-0713");
  r->add_hits()->set_identifier_index(1);
  r->add_hits()->set_identifier_index(2);
  return m;
}

// Sets the derived content of `d` and the attestation's hash of it.
void SetDerived(Draft& d, const liaison::v1::Message& m) {
  d.derived_bytes = m.SerializeAsString();
  d.statement.mutable_attestation()->set_content_sha256(Sha256(d.derived_bytes));
}

Draft BrokerAuthoredReply() {
  Draft d;
  const std::string broker = K().broker->certificate().common_name();
  liaison::v1::Attestation* a = d.statement.mutable_attestation();
  a->set_message_id(kReplyId);
  a->set_sender(broker);
  a->set_kind(liaison::v1::KIND_LINKAGE_REPLY);
  a->add_recipients(kSelf);
  a->set_original_sha256(Sha256(Query().message()));
  a->set_derived(true);
  a->set_broker_authored(true);
  a->set_outcome(liaison::v1::OUTCOME_ALLOW);
  SetDerived(d, Reply(broker));
  return d;
}

DeliveryItem Build(Draft d) {
  DeliveryItem item;
  item.set_item_id("item-1");
  item.set_recipient(kSelf);
  if (!d.without_content) {
    if (!d.derived_bytes.empty()) {
      item.set_derived_message(d.derived_bytes);
    } else {
      absl::StatusOr<liaison::v1::SignedEnvelope> envelope =
          certs::SignEnvelope(d.message_bytes, *d.sender);
      EXPECT_TRUE(envelope.ok()) << envelope.status();
      *item.mutable_original() = std::move(*envelope);
    }
  }
  *d.statement.mutable_issued_at() = ToProto(SharedTestPki().now);
  d.statement.set_broker_id(d.broker->certificate().common_name());
  std::string bytes =
      d.signed_statement_bytes.empty() ? d.statement.SerializeAsString() : d.signed_statement_bytes;
  absl::StatusOr<std::string> signature = d.broker->Sign(bytes);
  EXPECT_TRUE(signature.ok()) << signature.status();
  liaison::v1::BrokerSigned* s = item.mutable_statement();
  s->set_statement(std::move(bytes));
  s->set_signature(std::move(*signature));
  s->set_broker_certificate(d.broker->certificate().der());
  return item;
}

absl::StatusOr<VerifiedItem> VerifyAsSelf(const DeliveryItem& item,
                                          absl::Time at = SharedTestPki().now) {
  const ItemVerifier verifier(NetworkTrust(), kSelf);
  return verifier.Verify(item, at);
}

void FlipMiddleByte(std::string& bytes) { bytes[bytes.size() / 2] ^= 0x01; }

// --- the tables ----------------------------------------------------------------

// One row: what is forged (the test's name), how the honest item is made
// (`base`), what the attacker changes before the broker key signs
// (`forge`) and after (`tamper`), and the status the verifier must return.
struct Forgery {
  const char* name;
  std::function<Draft()> base;
  std::function<void(Draft&)> forge;
  std::function<void(DeliveryItem&)> tamper;
  absl::StatusCode code;
  const char* fragment;
};

std::string CaseName(const ::testing::TestParamInfo<Forgery>& info) { return info.param.name; }
void PrintTo(const Forgery& f, std::ostream* os) { *os << f.name; }

void ExpectRefused(const Forgery& f) {
  Draft d = f.base();
  if (f.forge) f.forge(d);
  DeliveryItem item = Build(std::move(d));
  if (f.tamper) f.tamper(item);
  EXPECT_TRUE(IsError(VerifyAsSelf(item), f.code, f.fragment));
}

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
constexpr absl::StatusCode kDenied = absl::StatusCode::kPermissionDenied;

// The broker's countersignature: made by someone else, or broken.
class ForgedStatementSignature : public ::testing::TestWithParam<Forgery> {};
TEST_P(ForgedStatementSignature, IsRefused) { ExpectRefused(GetParam()); }
INSTANTIATE_TEST_SUITE_P(
    ItemVerifier, ForgedStatementSignature,
    ::testing::Values(
        Forgery{
            "FlippedSignatureByte", OriginalDelivery, nullptr,
            [](DeliveryItem& i) { FlipMiddleByte(*i.mutable_statement()->mutable_signature()); },
            kInvalid, "broker countersignature: signature does not verify"},
        Forgery{"SignatureOfAnotherStatement", OriginalDelivery, nullptr,
                [](DeliveryItem& i) {
                  *i.mutable_statement()->mutable_signature() =
                      Build(NoticeForSelf()).statement().signature();
                },
                kInvalid, "broker countersignature: signature does not verify"},
        Forgery{"NoSignature", OriginalDelivery, nullptr,
                [](DeliveryItem& i) { i.mutable_statement()->clear_signature(); }, kInvalid,
                "broker countersignature: signature does not verify"},
        Forgery{"NoBrokerCertificate", OriginalDelivery, nullptr,
                [](DeliveryItem& i) { i.mutable_statement()->clear_broker_certificate(); },
                kInvalid, "broker countersignature: signer: certificate: empty DER"},
        Forgery{"SignedByTheSendersSigningCertificate", OriginalDelivery,
                [](Draft& d) { d.broker = K().sender.get(); }, nullptr, kDenied,
                "has role endpoint-signing, expected broker"},
        Forgery{"SignedByAnEndpointTlsCertificate", OriginalDelivery,
                [](Draft& d) { d.broker = K().sender_tls.get(); }, nullptr, kDenied,
                "has role endpoint-tls, expected broker"},
        Forgery{"SignedByAnOperatorCertificate", OriginalDelivery,
                [](Draft& d) { d.broker = K().operator_tls.get(); }, nullptr, kDenied,
                "has role operator, expected broker"},
        Forgery{"SignedByAnotherNetworksCa", OriginalDelivery,
                [](Draft& d) { d.broker = K().foreign.get(); }, nullptr, kDenied,
                "is not issued by the network CA"},
        Forgery{"SignedByARevokedBroker", OriginalDelivery,
                [](Draft& d) { d.broker = K().broker_revoked.get(); }, nullptr, kDenied,
                "is revoked"},
        Forgery{"SignedByAnExpiredBroker", OriginalDelivery,
                [](Draft& d) { d.broker = K().broker_expired.get(); }, nullptr, kDenied,
                "expired at"},
        Forgery{"ReceiptSignedByAnEndpoint", ReceiptForSelf,
                [](Draft& d) { d.broker = K().other.get(); }, nullptr, kDenied, "expected broker"},
        Forgery{"NoticeSignedByARevokedBroker", NoticeForSelf,
                [](Draft& d) { d.broker = K().broker_revoked.get(); }, nullptr, kDenied,
                "is revoked"},
        Forgery{"NoStatementAtAll", OriginalDelivery, nullptr,
                [](DeliveryItem& i) { i.clear_statement(); }, kInvalid, "statement: missing"}),
    CaseName);

// The signed statement's bytes: changed after signing, or signed but not a
// statement this verifier can use.
class TamperedStatement : public ::testing::TestWithParam<Forgery> {};
TEST_P(TamperedStatement, IsRefused) { ExpectRefused(GetParam()); }
INSTANTIATE_TEST_SUITE_P(
    ItemVerifier, TamperedStatement,
    ::testing::Values(Forgery{"FlippedStatementByte", OriginalDelivery, nullptr,
                              [](DeliveryItem& i) {
                                FlipMiddleByte(*i.mutable_statement()->mutable_statement());
                              },
                              kInvalid, "broker countersignature: signature does not verify"},
                      Forgery{"RecipientAddedAfterSigning", OriginalDelivery, nullptr,
                              [](DeliveryItem& i) {
                                Statement s;
                                ASSERT_TRUE(s.ParseFromString(i.statement().statement()));
                                s.mutable_attestation()->add_recipients("GB-NCA");
                                i.mutable_statement()->set_statement(s.SerializeAsString());
                              },
                              kInvalid, "broker countersignature: signature does not verify"},
                      Forgery{"TruncatedStatement", OriginalDelivery, nullptr,
                              [](DeliveryItem& i) {
                                std::string* s = i.mutable_statement()->mutable_statement();
                                s->resize(s->size() - 1);
                              },
                              kInvalid, "broker countersignature: signature does not verify"},
                      Forgery{"SignedBytesThatAreNoStatement", OriginalDelivery,
                              [](Draft& d) {
                                d.signed_statement_bytes = "\xff\xff\xff not a statement";
                              },
                              nullptr, kInvalid, "statement: not a liaison.v1.Statement"},
                      Forgery{"SignedStatementOfNoKind", OriginalDelivery,
                              [](Draft& d) { d.statement.clear_kind(); }, nullptr, kInvalid,
                              "statement: no attestation, receipt or notice"}),
    CaseName);

// The content: not what the broker attested.
class TamperedContent : public ::testing::TestWithParam<Forgery> {};
TEST_P(TamperedContent, IsRefused) { ExpectRefused(GetParam()); }
INSTANTIATE_TEST_SUITE_P(
    ItemVerifier, TamperedContent,
    ::testing::Values(
        Forgery{"OriginalMessageByteFlipped", OriginalDelivery, nullptr,
                [](DeliveryItem& i) { FlipMiddleByte(*i.mutable_original()->mutable_message()); },
                kInvalid, "content: SHA-256 differs from the attestation"},
        Forgery{"DerivedMessageByteFlipped", DerivedDelivery, nullptr,
                [](DeliveryItem& i) { FlipMiddleByte(*i.mutable_derived_message()); }, kInvalid,
                "content: SHA-256 differs from the attestation"},
        Forgery{"AttestedHashOfOtherContent", OriginalDelivery,
                [](Draft& d) {
                  d.statement.mutable_attestation()->set_content_sha256(Sha256("other"));
                },
                nullptr, kInvalid, "content: SHA-256 differs from the attestation"},
        Forgery{"OriginalReplacedByDerivedBytes", OriginalDelivery, nullptr,
                [](DeliveryItem& i) {
                  const std::string original = i.original().message();
                  i.set_derived_message(original);
                },
                kInvalid, "content: derived bytes without a derived attestation"},
        Forgery{"DerivedAttestationWithOriginalContent", OriginalDelivery,
                [](Draft& d) { d.statement.mutable_attestation()->set_derived(true); }, nullptr,
                kInvalid, "content: attestation says derived, item is original"},
        Forgery{"OriginalHashDiffersFromContentHash", OriginalDelivery,
                [](Draft& d) {
                  d.statement.mutable_attestation()->set_original_sha256(Sha256("other"));
                },
                nullptr, kInvalid, "attestation: original and content hashes differ"},
        Forgery{"DerivedBytesThatAreNoMessage", DerivedDelivery,
                [](Draft& d) {
                  d.derived_bytes = "\xff\xff\xff not a message";
                  d.statement.mutable_attestation()->set_content_sha256(Sha256(d.derived_bytes));
                },
                nullptr, kInvalid, "derived_message: not a liaison.v1.Message"},
        Forgery{"NoContent", OriginalDelivery, [](Draft& d) { d.without_content = true; }, nullptr,
                kInvalid, "content: missing"},
        Forgery{"AttestedMessageIdDiffers", OriginalDelivery,
                [](Draft& d) {
                  d.statement.mutable_attestation()->set_message_id(
                      "0190a3c4-0000-7000-8000-000000000000");
                },
                nullptr, kInvalid, "content: message id or sender differs from the attestation"},
        Forgery{"DerivedMessageIdDiffers", DerivedDelivery,
                [](Draft& d) {
                  liaison::v1::Message m;
                  ASSERT_TRUE(m.ParseFromString(d.derived_bytes));
                  m.mutable_header()->set_message_id("0190a3c4-0000-7000-8000-000000000000");
                  d.derived_bytes = m.SerializeAsString();
                  d.statement.mutable_attestation()->set_content_sha256(Sha256(d.derived_bytes));
                },
                nullptr, kInvalid, "content: message id or sender differs from the attestation"},
        Forgery{"DerivedSenderDiffers", DerivedDelivery,
                [](Draft& d) {
                  d.derived_bytes = Alert(kOther).SerializeAsString();
                  d.statement.mutable_attestation()->set_content_sha256(Sha256(d.derived_bytes));
                },
                nullptr, kInvalid, "content: message id or sender differs from the attestation"}),
    CaseName);

// Unchanged content whose envelope is valid but not the attested sender's,
// or whose sender signature does not hold.
class ResignedContent : public ::testing::TestWithParam<Forgery> {};
TEST_P(ResignedContent, IsRefused) { ExpectRefused(GetParam()); }

// The broker attests RO-IGPR, the content is a valid envelope of DE-BKA's.
void ResignAs(Draft& d, const certs::Signer* signer, absl::string_view header_sender) {
  d.message_bytes = Alert(header_sender).SerializeAsString();
  d.sender = signer;
  d.statement.mutable_attestation()->set_content_sha256(Sha256(d.message_bytes));
  d.statement.mutable_attestation()->set_original_sha256(Sha256(d.message_bytes));
}

INSTANTIATE_TEST_SUITE_P(
    ItemVerifier, ResignedContent,
    ::testing::Values(
        Forgery{"ValidEnvelopeOfAnotherSender", OriginalDelivery,
                [](Draft& d) { ResignAs(d, K().other.get(), kOther); }, nullptr, kDenied,
                "sender signature: signer is not the attested sender"},
        Forgery{"SendersHeaderSignedByAnother", OriginalDelivery,
                [](Draft& d) { ResignAs(d, K().other.get(), kSender); }, nullptr, kDenied,
                "sender signature: message.header.sender does not name the signer"},
        Forgery{"SignedWithTheSendersExpiredCertificate", OriginalDelivery,
                [](Draft& d) { d.sender = K().sender_expired.get(); }, nullptr, kDenied,
                "expired at 2021-01-01T00:00:00Z"},
        Forgery{"SignedWithTheSendersRevokedCertificate", OriginalDelivery,
                [](Draft& d) { d.sender = K().sender_revoked.get(); }, nullptr, kDenied,
                "is revoked"},
        Forgery{"SignedWithTheSendersTlsCertificate", OriginalDelivery,
                [](Draft& d) { d.sender = K().sender_tls.get(); }, nullptr, kDenied,
                "has role endpoint-tls, expected endpoint-signing"},
        Forgery{"SignedByTheBrokerInsteadOfTheSender", OriginalDelivery,
                [](Draft& d) { d.sender = K().broker.get(); }, nullptr, kDenied,
                "has role broker, expected endpoint-signing"},
        Forgery{"SenderSignatureByteFlipped", OriginalDelivery, nullptr,
                [](DeliveryItem& i) { FlipMiddleByte(*i.mutable_original()->mutable_signature()); },
                kInvalid, "sender signature: signature does not verify"}),
    CaseName);

// Validly signed, but for another endpoint.
class WrongRecipient : public ::testing::TestWithParam<Forgery> {};
TEST_P(WrongRecipient, IsRefused) { ExpectRefused(GetParam()); }
INSTANTIATE_TEST_SUITE_P(
    ItemVerifier, WrongRecipient,
    ::testing::Values(Forgery{"DeliveryForAnotherEndpoint", OriginalDelivery,
                              [](Draft& d) {
                                d.statement.mutable_attestation()->clear_recipients();
                                d.statement.mutable_attestation()->add_recipients(kOther);
                              },
                              nullptr, kDenied, "attestation: NL-NP is not among its recipients"},
                      Forgery{"DerivedDeliveryForAnotherEndpoint", DerivedDelivery,
                              [](Draft& d) {
                                d.statement.mutable_attestation()->clear_recipients();
                                d.statement.mutable_attestation()->add_recipients("NL-NPX");
                              },
                              nullptr, kDenied, "attestation: NL-NP is not among its recipients"},
                      Forgery{
                          "ReceiptForAnotherEndpoint", ReceiptForSelf,
                          [](Draft& d) { d.statement.mutable_receipt()->set_addressee(kOther); },
                          nullptr, kDenied, "receipt: addressed to another endpoint"},
                      Forgery{"ReceiptWithoutAddressee", ReceiptForSelf,
                              [](Draft& d) { d.statement.mutable_receipt()->clear_addressee(); },
                              nullptr, kDenied, "receipt: addressed to another endpoint"},
                      Forgery{"NoticeForAnotherEndpoint", NoticeForSelf,
                              [](Draft& d) { d.statement.mutable_notice()->set_addressee(kOther); },
                              nullptr, kDenied, "notice: addressed to another endpoint"}),
    CaseName);

// A broker-authored LINKAGE_REPLY: written by someone else than the broker
// that signs it, of another kind, or not derived content.
class ForgedBrokerAuthoredReply : public ::testing::TestWithParam<Forgery> {};
TEST_P(ForgedBrokerAuthoredReply, IsRefused) { ExpectRefused(GetParam()); }
INSTANTIATE_TEST_SUITE_P(
    ItemVerifier, ForgedBrokerAuthoredReply,
    ::testing::Values(
        Forgery{"SenderIsAnEndpoint", BrokerAuthoredReply,
                [](Draft& d) {
                  d.statement.mutable_attestation()->set_sender(kSender);
                  SetDerived(d, Reply(kSender));
                },
                nullptr, kDenied,
                "attestation: broker-authored message names sender 'RO-IGPR', not the broker "
                "that signed it (liaison-broker-1)"},
        Forgery{"SenderIsAnotherBrokerNode", BrokerAuthoredReply,
                [](Draft& d) {
                  d.statement.mutable_attestation()->set_sender("liaison-broker-2");
                  SetDerived(d, Reply("liaison-broker-2"));
                },
                nullptr, kDenied, "names sender 'liaison-broker-2', not the broker"},
        Forgery{"SignedByAnEndpointsKey", BrokerAuthoredReply,
                [](Draft& d) { d.broker = K().sender.get(); }, nullptr, kDenied,
                "has role endpoint-signing, expected broker"},
        Forgery{"SignedByARevokedBroker", BrokerAuthoredReply,
                [](Draft& d) { d.broker = K().broker_revoked.get(); }, nullptr, kDenied,
                "is revoked"},
        Forgery{"KindIsNotLinkageReply", BrokerAuthoredReply,
                [](Draft& d) {
                  d.statement.mutable_attestation()->set_kind(liaison::v1::KIND_INFO_EXCHANGE);
                },
                nullptr, kInvalid,
                "attestation: broker-authored message of kind KIND_INFO_EXCHANGE; only "
                "KIND_LINKAGE_REPLY is"},
        Forgery{"NotDerived", BrokerAuthoredReply,
                [](Draft& d) { d.statement.mutable_attestation()->set_derived(false); }, nullptr,
                kInvalid, "a broker-authored message must be derived content, not an envelope"},
        Forgery{"AnEndpointsEnvelopeAsContent", BrokerAuthoredReply,
                [](Draft& d) {
                  d.derived_bytes.clear();
                  d.message_bytes = Reply(kSender).SerializeAsString();
                },
                nullptr, kInvalid,
                "a broker-authored message must be derived content, not an envelope"},
        Forgery{"ContentIsAnAlert", BrokerAuthoredReply,
                [](Draft& d) {
                  liaison::v1::Message alert = Alert(K().broker->certificate().common_name());
                  alert.mutable_header()->set_message_id(kReplyId);
                  SetDerived(d, alert);
                },
                nullptr, kInvalid,
                "derived_message: broker-authored content is not a KIND_LINKAGE_REPLY"}),
    CaseName);

// --- the answer to a linkage query ---------------------------------------------

TEST(LinkageReplyTo, TakesTheBrokersAnswerToThisQuery) {
  LIAISON_ASSERT_OK_AND_ASSIGN(VerifiedItem v, VerifyAsSelf(Build(BrokerAuthoredReply())));
  EXPECT_TRUE(v.broker_authored());
  EXPECT_TRUE(v.derived());
  EXPECT_FALSE(v.sender().has_value());
  EXPECT_EQ(v.message()->header().sender(), v.broker().id);
  LIAISON_ASSERT_OK_AND_ASSIGN(std::optional<liaison::v1::LinkageReply> reply,
                               LinkageReplyTo(v, Query()));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->query_id(), kQueryId);
  ASSERT_EQ(reply->hits_size(), 3);
  EXPECT_EQ(reply->hits(0).owner_ref(), "LNK-RO-0713");
}

TEST(LinkageReplyTo, PassesOverItemsAboutSomethingElse) {
  // Another query's reply.
  Draft other = BrokerAuthoredReply();
  liaison::v1::Message m = Reply(K().broker->certificate().common_name());
  m.mutable_linkage_reply()->set_query_id("0190a3c4-5e6f-7a8b-9c0d-000000000099");
  SetDerived(other, m);
  LIAISON_ASSERT_OK_AND_ASSIGN(VerifiedItem v, VerifyAsSelf(Build(std::move(other))));
  LIAISON_ASSERT_OK_AND_ASSIGN(std::optional<liaison::v1::LinkageReply> none,
                               LinkageReplyTo(v, Query()));
  EXPECT_FALSE(none.has_value());
  // An alert, a notice.
  for (const DeliveryItem& item : {Build(OriginalDelivery()), Build(NoticeForSelf())}) {
    LIAISON_ASSERT_OK_AND_ASSIGN(VerifiedItem w, VerifyAsSelf(item));
    LIAISON_ASSERT_OK_AND_ASSIGN(std::optional<liaison::v1::LinkageReply> nothing,
                                 LinkageReplyTo(w, Query()));
    EXPECT_FALSE(nothing.has_value());
  }
}

// An endpoint may send a LINKAGE_REPLY of its own (signed, delivered,
// verifiable as its message): it is never taken for the index's answer.
TEST(LinkageReplyTo, RefusesAnEndpointsReplyToTheQuery) {
  Draft d;
  d.message_bytes = Reply(kSender).SerializeAsString();
  liaison::v1::Attestation* a = d.statement.mutable_attestation();
  a->set_message_id(kReplyId);
  a->set_sender(kSender);
  a->set_kind(liaison::v1::KIND_LINKAGE_REPLY);
  a->add_recipients(kSelf);
  a->set_content_sha256(Sha256(d.message_bytes));
  a->set_original_sha256(Sha256(d.message_bytes));
  LIAISON_ASSERT_OK_AND_ASSIGN(VerifiedItem v, VerifyAsSelf(Build(std::move(d))));
  EXPECT_FALSE(v.broker_authored());
  EXPECT_TRUE(IsError(LinkageReplyTo(v, Query()), kDenied,
                      "a LINKAGE_REPLY from RO-IGPR, not written by the broker from the index"));
}

TEST(LinkageReplyTo, RefusesAReplyBoundToOtherBytesOrNamingNoIdentifier) {
  Draft rebound = BrokerAuthoredReply();
  rebound.statement.mutable_attestation()->set_original_sha256(Sha256("another query"));
  LIAISON_ASSERT_OK_AND_ASSIGN(VerifiedItem v, VerifyAsSelf(Build(std::move(rebound))));
  EXPECT_TRUE(IsError(LinkageReplyTo(v, Query()), kInvalid,
                      "attestation.original_sha256 is not the SHA-256 of the query as signed"));

  const std::string broker = K().broker->certificate().common_name();
  Draft beyond = BrokerAuthoredReply();
  liaison::v1::Message m = Reply(broker);
  m.mutable_linkage_reply()->mutable_hits(2)->set_identifier_index(3);
  SetDerived(beyond, m);
  LIAISON_ASSERT_OK_AND_ASSIGN(VerifiedItem w, VerifyAsSelf(Build(std::move(beyond))));
  EXPECT_TRUE(IsError(LinkageReplyTo(w, Query()), kInvalid,
                      "linkage_reply.hits[2].identifier_index: 3, the query has 3 identifiers"));

  Draft chatty = BrokerAuthoredReply();
  m = Reply(broker);
  m.mutable_linkage_reply()->mutable_hits(1)->set_owner(kSender);
  SetDerived(chatty, m);
  LIAISON_ASSERT_OK_AND_ASSIGN(VerifiedItem x, VerifyAsSelf(Build(std::move(chatty))));
  EXPECT_TRUE(IsError(LinkageReplyTo(x, Query()), kInvalid,
                      "linkage_reply.hits[1]: a no-hit naming an owner"));
}

// --- what must pass ------------------------------------------------------------

TEST(ItemVerifier, AcceptsAnUnchangedDeliveryWithBothSignatures) {
  LIAISON_ASSERT_OK_AND_ASSIGN(VerifiedItem v, VerifyAsSelf(Build(OriginalDelivery())));
  EXPECT_EQ(v.kind(), VerifiedItem::Kind::kDelivery);
  EXPECT_EQ(v.item_id(), "item-1");
  EXPECT_EQ(v.broker().id, "liaison-broker-1");
  EXPECT_FALSE(v.derived());
  ASSERT_TRUE(v.sender().has_value());
  EXPECT_EQ(v.sender()->id, kSender);
  ASSERT_TRUE(v.message().has_value());
  EXPECT_EQ(v.message()->header().message_id(), kMessageId);
  EXPECT_EQ(v.statement().attestation().outcome(), liaison::v1::OUTCOME_ALLOW);
}

TEST(ItemVerifier, AcceptsADerivedDeliveryOnTheBrokersWordAlone) {
  LIAISON_ASSERT_OK_AND_ASSIGN(VerifiedItem v, VerifyAsSelf(Build(DerivedDelivery())));
  EXPECT_EQ(v.kind(), VerifiedItem::Kind::kDelivery);
  EXPECT_TRUE(v.derived());
  EXPECT_FALSE(v.sender().has_value());
  ASSERT_TRUE(v.message().has_value());
  EXPECT_EQ(v.message()->header().case_ref(), "redacted");
}

TEST(ItemVerifier, AcceptsAReceiptAndANoticeAddressedToIt) {
  LIAISON_ASSERT_OK_AND_ASSIGN(VerifiedItem receipt, VerifyAsSelf(Build(ReceiptForSelf())));
  EXPECT_EQ(receipt.kind(), VerifiedItem::Kind::kReceipt);
  EXPECT_EQ(receipt.statement().receipt().recipient(), kOther);
  EXPECT_FALSE(receipt.message().has_value());
  LIAISON_ASSERT_OK_AND_ASSIGN(VerifiedItem notice, VerifyAsSelf(Build(NoticeForSelf())));
  EXPECT_EQ(notice.kind(), VerifiedItem::Kind::kNotice);
  EXPECT_EQ(notice.statement().notice().kind(), liaison::v1::NOTICE_KIND_HELD);
}

TEST(ItemVerifier, AnItemValidTodayIsRefusedOnceTheBrokerCertificateExpired) {
  const DeliveryItem item = Build(OriginalDelivery());
  LIAISON_ASSERT_OK(VerifyAsSelf(item).status());
  const absl::Time after_expiry = K().broker->certificate().not_after() + absl::Seconds(1);
  EXPECT_TRUE(IsError(VerifyAsSelf(item, after_expiry), kDenied,
                      "broker countersignature: certificate CN=liaison-broker-1"));
}

TEST(ItemVerifier, VerifiesASavedItemOfflineFromTheNetworkFiles) {
  const TestPki& pki = SharedTestPki();
  const std::string dir = liaison::testing::MakeTempDir("liaison-item");
  const std::string path = dir + "/item.bin";
  {
    std::ofstream out(path, std::ios::binary);
    out << Build(OriginalDelivery()).SerializeAsString();
  }
  // A later process: only the saved bytes and the network's CA and CRL.
  LIAISON_ASSERT_OK_AND_ASSIGN(std::string saved, ReadFile(path));
  DeliveryItem item;
  ASSERT_TRUE(item.ParseFromString(saved));
  LIAISON_ASSERT_OK_AND_ASSIGN(std::shared_ptr<const certs::TrustStore> trust,
                               certs::TrustStore::Load(pki.ca(), pki.crl()));
  const ItemVerifier verifier(trust, kSelf);
  LIAISON_ASSERT_OK_AND_ASSIGN(VerifiedItem v, verifier.Verify(item, pki.now));
  EXPECT_EQ(v.sender()->id, kSender);
  // The same saved item, one flipped byte later.
  FlipMiddleByte(*item.mutable_original()->mutable_message());
  EXPECT_TRUE(IsError(verifier.Verify(item, pki.now), kInvalid, "content: SHA-256 differs"));
  std::filesystem::remove_all(dir);
}

// --- batch-signed items --------------------------------------------------------

// Items as the broker's batch signer makes them (Countersigner::SignLeaves in
// broker/core): each draft's statement stamped and serialised as one leaf,
// one signature by `root_signer` over the Merkle root, and per item the leaf,
// the signed root and its inclusion proof.
std::vector<DeliveryItem> BuildBatch(std::vector<Draft> drafts,
                                     const certs::Signer* root_signer = K().broker.get()) {
  std::vector<DeliveryItem> items;
  std::vector<std::string> leaves;
  std::vector<std::string> hashes;
  for (Draft& d : drafts) {
    // Leaves name the root's signer, unless a case set another broker.
    if (d.broker == K().broker.get()) d.broker = root_signer;
    DeliveryItem item = Build(std::move(d));
    leaves.push_back(item.statement().statement());
    hashes.push_back(certs::MerkleLeafHash(leaves.back()));
    item.clear_statement();
    items.push_back(std::move(item));
  }
  const certs::MerkleTree tree(hashes);
  Statement root;
  root.mutable_batch_root()->set_tree_size(tree.size());
  root.mutable_batch_root()->set_root_hash(tree.root());
  *root.mutable_issued_at() = ToProto(SharedTestPki().now);
  root.set_broker_id(root_signer->certificate().common_name());
  liaison::v1::BrokerSigned signed_root;
  signed_root.set_statement(root.SerializeAsString());
  absl::StatusOr<std::string> signature =
      root_signer->Sign(certs::BatchRootSignedBytes(signed_root.statement()));
  EXPECT_TRUE(signature.ok()) << signature.status();
  signed_root.set_signature(*signature);
  signed_root.set_broker_certificate(root_signer->certificate().der());
  for (size_t i = 0; i < items.size(); ++i) {
    liaison::v1::BatchSigned* b = items[i].mutable_batched();
    b->set_statement(leaves[i]);
    *b->mutable_root() = signed_root;
    *b->mutable_inclusion() =
        certs::ToProto(certs::InclusionProof{i, tree.size(), *tree.AuditPath(i)});
  }
  return items;
}

std::vector<Draft> FiveDrafts() {
  return {OriginalDelivery(), DerivedDelivery(), ReceiptForSelf(), NoticeForSelf(),
          OriginalDelivery()};
}

TEST(BatchSigned, EveryItemOfABatchVerifiesAndTheRootSignatureIsCheckedOnce) {
  const std::vector<DeliveryItem> items = BuildBatch(FiveDrafts());
  const ItemVerifier verifier(NetworkTrust(), kSelf);
  std::vector<VerifiedItem::Kind> kinds;
  for (const DeliveryItem& item : items) {
    LIAISON_ASSERT_OK_AND_ASSIGN(VerifiedItem v, verifier.Verify(item, SharedTestPki().now));
    EXPECT_EQ(v.broker().id, "liaison-broker-1");
    kinds.push_back(v.kind());
  }
  using K = VerifiedItem::Kind;
  EXPECT_EQ(kinds,
            (std::vector<K>{K::kDelivery, K::kDelivery, K::kReceipt, K::kNotice, K::kDelivery}));
  EXPECT_EQ(verifier.root_signatures_verified(), 1);
  // A batch of one is a tree of one leaf: an empty audit path.
  LIAISON_ASSERT_OK(
      verifier.Verify(BuildBatch({NoticeForSelf()})[0], SharedTestPki().now).status());
  EXPECT_EQ(verifier.root_signatures_verified(), 2);
}

TEST(BatchSigned, AForgedInclusionProofIsRefused) {
  const DeliveryItem honest = BuildBatch(FiveDrafts())[2];
  LIAISON_ASSERT_OK(VerifyAsSelf(honest).status());
  auto refused = [&](std::function<void(liaison::v1::InclusionProof&)> forge,
                     absl::string_view fragment) {
    DeliveryItem item = honest;
    forge(*item.mutable_batched()->mutable_inclusion());
    return IsError(VerifyAsSelf(item), kInvalid, fragment);
  };
  EXPECT_TRUE(refused([](auto& p) { p.mutable_audit_path()->SwapElements(0, 1); },
                      "inclusion: leaf 2 of a tree of 5 does not lead to the signed root"));
  EXPECT_TRUE(refused([](auto& p) { p.set_leaf_index(3); },
                      "inclusion: leaf 3 of a tree of 5 does not lead to the signed root"));
  EXPECT_TRUE(refused([](auto& p) { p.set_tree_size(6); },
                      "inclusion.tree_size: 6, the signed root covers 5"));
  EXPECT_TRUE(refused([](auto& p) { p.mutable_audit_path()->RemoveLast(); },
                      "inclusion.audit_path: 2 hashes (truncated); leaf 2 of a tree of 5 needs "
                      "exactly 3"));
  EXPECT_TRUE(refused([](auto& p) { p.add_audit_path(std::string(32, '\x01')); },
                      "inclusion.audit_path: 4 hashes (extra nodes)"));
  EXPECT_TRUE(refused([](auto& p) { FlipMiddleByte(*p.mutable_audit_path(1)); },
                      "does not lead to the signed root"));
  EXPECT_TRUE(refused([](auto& p) { p.set_leaf_index(5); },
                      "inclusion.leaf_index: 5 is not below tree_size 5"));
  DeliveryItem item = honest;
  item.mutable_batched()->clear_inclusion();
  EXPECT_TRUE(IsError(VerifyAsSelf(item), kInvalid, "batched.inclusion: missing"));
  // The statement changed after the batch was signed: its leaf hash moved.
  item = honest;
  FlipMiddleByte(*item.mutable_batched()->mutable_statement());
  EXPECT_TRUE(IsError(VerifyAsSelf(item), kInvalid, "does not lead to the signed root"));
}

TEST(BatchSigned, ARootSignedByAnUnknownKeyIsRefused) {
  EXPECT_TRUE(IsError(VerifyAsSelf(BuildBatch(FiveDrafts(), K().foreign.get())[0]), kDenied,
                      "batch root: "));
  EXPECT_TRUE(IsError(VerifyAsSelf(BuildBatch(FiveDrafts(), K().foreign.get())[0]), kDenied,
                      "is not issued by the network CA"));
  EXPECT_TRUE(IsError(VerifyAsSelf(BuildBatch(FiveDrafts(), K().sender.get())[0]), kDenied,
                      "has role endpoint-signing, expected broker"));
  EXPECT_TRUE(IsError(VerifyAsSelf(BuildBatch(FiveDrafts(), K().broker_revoked.get())[0]), kDenied,
                      "is revoked"));
  DeliveryItem item = BuildBatch(FiveDrafts())[0];
  FlipMiddleByte(*item.mutable_batched()->mutable_root()->mutable_signature());
  EXPECT_TRUE(IsError(VerifyAsSelf(item), kInvalid, "batch root: signature does not verify"));
  item = BuildBatch(FiveDrafts())[0];
  item.mutable_batched()->mutable_root()->clear_broker_certificate();
  EXPECT_TRUE(IsError(VerifyAsSelf(item), kInvalid, "batch root: broker_certificate missing"));
}

TEST(BatchSigned, AProofForAnotherRootIsRefused) {
  const std::vector<DeliveryItem> a = BuildBatch(FiveDrafts());
  std::vector<Draft> other = FiveDrafts();
  other[1].statement.mutable_attestation()->add_rule_ids("DP-MIN-01");
  const std::vector<DeliveryItem> b = BuildBatch(std::move(other));
  // a's statement and proof under b's (validly signed) root.
  DeliveryItem item = a[1];
  *item.mutable_batched()->mutable_root() = b[1].batched().root();
  EXPECT_TRUE(IsError(VerifyAsSelf(item), kInvalid,
                      "inclusion: leaf 1 of a tree of 5 does not lead to the signed root"));
  // b's proof for a's statement under a's root.
  item = a[3];
  *item.mutable_batched()->mutable_inclusion() = b[3].batched().inclusion();
  EXPECT_TRUE(IsError(VerifyAsSelf(item), kInvalid, "does not lead to the signed root"));
}

TEST(BatchSigned, RootAndPerItemSignaturesCannotStandForEachOther) {
  const DeliveryItem batched = BuildBatch(FiveDrafts())[0];
  const DeliveryItem single = Build(OriginalDelivery());
  // The signed root offered as a per-item statement: its signature covers
  // the domain-separated bytes, not the bare statement.
  DeliveryItem item = single;
  *item.mutable_statement() = batched.batched().root();
  EXPECT_TRUE(
      IsError(VerifyAsSelf(item), kInvalid, "broker countersignature: signature does not verify"));
  // A per-item statement offered as a batch root.
  item = batched;
  *item.mutable_batched()->mutable_root() = single.statement();
  EXPECT_TRUE(IsError(VerifyAsSelf(item), kInvalid, "batch root: signature does not verify"));
  // A batch_root statement as a leaf of a batch is no item.
  Draft d = NoticeForSelf();
  d.statement.mutable_batch_root()->set_tree_size(1);
  d.statement.mutable_batch_root()->set_root_hash(std::string(32, '\0'));
  EXPECT_TRUE(IsError(VerifyAsSelf(BuildBatch({std::move(d)})[0]), kInvalid,
                      "statement: no attestation, receipt or notice"));
}

TEST(BatchSigned, ALeafNamingAnotherBrokerIsRefused) {
  Draft d = NoticeForSelf();
  d.broker = K().broker_revoked.get();  // stamps liaison-broker-9 into the leaf
  EXPECT_TRUE(IsError(VerifyAsSelf(BuildBatch({std::move(d)})[0]), kInvalid,
                      "batched.statement: broker_id is not the broker that signed the batch root"));
}

TEST(BatchSigned, ANewerCrlIsNotBypassedByTheRootCache) {
  const TestPki& pki = SharedTestPki();
  const std::string ca_pem = liaison::testing::ReadFileOrDie(pki.ca());
  LIAISON_ASSERT_OK_AND_ASSIGN(std::shared_ptr<const certs::TrustStore> before,
                               certs::TrustStore::FromPem(ca_pem, pki.crl_before_revocation));
  LIAISON_ASSERT_OK_AND_ASSIGN(
      std::shared_ptr<const certs::TrustStore> after,
      certs::TrustStore::FromPem(ca_pem, liaison::testing::ReadFileOrDie(pki.crl())));
  const std::vector<DeliveryItem> items = BuildBatch(FiveDrafts(), K().broker_revoked.get());
  const ItemVerifier verifier(before, kSelf);
  LIAISON_ASSERT_OK(verifier.Verify(items[0], pki.now).status());
  LIAISON_ASSERT_OK(verifier.SetTrustStore(after));
  EXPECT_TRUE(IsError(verifier.Verify(items[1], pki.now), kDenied, "is revoked"));
  // Nor by the certificate's expiry.
  const ItemVerifier fresh(NetworkTrust(), kSelf);
  const std::vector<DeliveryItem> good = BuildBatch(FiveDrafts());
  LIAISON_ASSERT_OK(fresh.Verify(good[0], pki.now).status());
  EXPECT_TRUE(
      IsError(fresh.Verify(good[1], K().broker->certificate().not_after() + absl::Seconds(1)),
              kDenied, "batch root: certificate CN=liaison-broker-1"));
}

TEST(BatchSigned, TheRootCacheIsBounded) {
  const ItemVerifier verifier(NetworkTrust(), kSelf);
  std::vector<DeliveryItem> firsts;
  for (size_t i = 0; i <= ItemVerifier::kRootCacheSize; ++i) {
    Draft d = NoticeForSelf();
    d.statement.mutable_notice()->add_reasons(absl::StrCat("batch ", i));
    firsts.push_back(BuildBatch({std::move(d)})[0]);
    LIAISON_ASSERT_OK(verifier.Verify(firsts.back(), SharedTestPki().now).status());
  }
  const int64_t n = static_cast<int64_t>(ItemVerifier::kRootCacheSize) + 1;
  EXPECT_EQ(verifier.root_signatures_verified(), n);
  // The newest root is cached; the oldest was evicted and is verified again.
  LIAISON_ASSERT_OK(verifier.Verify(firsts.back(), SharedTestPki().now).status());
  EXPECT_EQ(verifier.root_signatures_verified(), n);
  LIAISON_ASSERT_OK(verifier.Verify(firsts.front(), SharedTestPki().now).status());
  EXPECT_EQ(verifier.root_signatures_verified(), n + 1);
}

// A saved batch-signed item verifies on its own, and the root's signature
// is checkable with the openssl command line alone (certs/batch_root.h).
TEST(BatchSigned, ASavedItemVerifiesOfflineAndOpensslChecksItsRoot) {
  const TestPki& pki = SharedTestPki();
  const std::string dir = liaison::testing::MakeTempDir("liaison-batch");
  {
    std::ofstream out(dir + "/item.bin", std::ios::binary);
    out << BuildBatch(FiveDrafts())[4].SerializeAsString();
  }
  LIAISON_ASSERT_OK_AND_ASSIGN(std::string saved, ReadFile(dir + "/item.bin"));
  DeliveryItem item;
  ASSERT_TRUE(item.ParseFromString(saved));
  LIAISON_ASSERT_OK_AND_ASSIGN(std::shared_ptr<const certs::TrustStore> trust,
                               certs::TrustStore::Load(pki.ca(), pki.crl()));
  LIAISON_ASSERT_OK_AND_ASSIGN(VerifiedItem v, ItemVerifier(trust, kSelf).Verify(item, pki.now));
  EXPECT_EQ(v.sender()->id, kSender);

  const liaison::v1::BrokerSigned& root = item.batched().root();
  auto write = [&](const std::string& name, const std::string& bytes) {
    std::ofstream out(dir + "/" + name, std::ios::binary);
    out << bytes;
  };
  write("root.bytes", certs::BatchRootSignedBytes(root.statement()));
  write("root.sig", root.signature());
  write("broker.der", root.broker_certificate());
  std::string tampered = certs::BatchRootSignedBytes(root.statement());
  FlipMiddleByte(tampered);
  write("tampered.bytes", tampered);
  ASSERT_EQ(K().broker->algorithm(), certs::KeyAlgorithm::kEcdsaP256);
  const std::string q = "cd '" + dir + "' && ";
  ASSERT_EQ(std::system((q + "openssl x509 -inform DER -in broker.der -pubkey -noout "
                             "> broker.pub")
                            .c_str()),
            0);
  EXPECT_EQ(std::system((q + "openssl dgst -sha256 -verify broker.pub -signature root.sig "
                             "root.bytes >/dev/null")
                            .c_str()),
            0);
  EXPECT_NE(std::system((q + "openssl dgst -sha256 -verify broker.pub -signature root.sig "
                             "tampered.bytes >/dev/null 2>&1")
                            .c_str()),
            0);
  std::filesystem::remove_all(dir);
}

// --- the CRL in force -------------------------------------------------------

TEST(ItemVerifier, ANewerCrlRevokesABrokerAndAnOlderOneIsRefused) {
  const TestPki& pki = SharedTestPki();
  const std::string ca_pem = liaison::testing::ReadFileOrDie(pki.ca());
  LIAISON_ASSERT_OK_AND_ASSIGN(std::shared_ptr<const certs::TrustStore> before,
                               certs::TrustStore::FromPem(ca_pem, pki.crl_before_revocation));
  LIAISON_ASSERT_OK_AND_ASSIGN(
      std::shared_ptr<const certs::TrustStore> after,
      certs::TrustStore::FromPem(ca_pem, liaison::testing::ReadFileOrDie(pki.crl())));
  ASSERT_LT(before->crl_number(), after->crl_number());
  Draft d = OriginalDelivery();
  d.broker = K().broker_revoked.get();
  const DeliveryItem item = Build(std::move(d));

  // Under the CRL from before the revocation the broker was good ...
  const ItemVerifier verifier(before, kSelf);
  LIAISON_ASSERT_OK(verifier.Verify(item, pki.now).status());
  // ... the newer CRL revokes it ...
  LIAISON_ASSERT_OK(verifier.SetTrustStore(after));
  EXPECT_TRUE(IsError(verifier.Verify(item, pki.now), kDenied, "is revoked"));
  // ... and rolling back to the older CRL, which would un-revoke it, is refused.
  EXPECT_TRUE(IsError(verifier.SetTrustStore(before), absl::StatusCode::kFailedPrecondition,
                      "is lower than"));
  EXPECT_TRUE(IsError(verifier.SetTrustStore(before), absl::StatusCode::kFailedPrecondition,
                      "refusing a rollback"));
  EXPECT_TRUE(IsError(verifier.Verify(item, pki.now), kDenied, "is revoked"));
  // The CRL in force again is no rollback.
  LIAISON_ASSERT_OK(verifier.SetTrustStore(after));
}

}  // namespace
}  // namespace liaison::endpoint
