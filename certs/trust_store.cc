#include "certs/trust_store.h"

#include "absl/time/civil_time.h"

#include <openssl/bio.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <climits>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/status_macros.h"
#include "certs/internal/certificate_impl.h"
#include "certs/internal/ssl_error.h"
#include "certs/internal/ssl_unique_ptr.h"

namespace liaison::certs {

using internal::ClearSslErrors;
using internal::Describe;
using internal::SslError;
using internal::SslUniquePtr;

// Immutable once built; X509_STORE is safe to share between threads that
// each verify with their own X509_STORE_CTX.
struct TrustStore::Impl {
  Impl(Certificate ca_cert, std::string pem) : ca(std::move(ca_cert)), ca_pem(std::move(pem)) {}

  Certificate ca;
  std::string ca_pem;
  SslUniquePtr<X509_STORE> store;
  absl::flat_hash_set<std::string> revoked;  // SerialHex form
  long crl_number = 0;
  absl::Time crl_next_update = absl::InfiniteFuture();
};

namespace {

absl::Status Invalid(absl::string_view label, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(label, ": ", what));
}

// Every certificate in a PEM text, in order.
absl::StatusOr<std::vector<SslUniquePtr<X509>>> ReadPemCertificates(std::string_view pem,
                                                                    absl::string_view label) {
  if (pem.size() > INT_MAX) return Invalid(label, "too large");
  SslUniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return SslError(absl::StatusCode::kInternal, "BIO_new_mem_buf");
  std::vector<SslUniquePtr<X509>> certs;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(x);
  }
  // The loop ends on "no start line" at the end of the text.
  ClearSslErrors();
  return certs;
}

struct ParsedCrl {
  absl::flat_hash_set<std::string> revoked;
  long number = 0;
  absl::Time next_update = absl::InfiniteFuture();
};

absl::StatusOr<ParsedCrl> ParseCrl(std::string_view crl_pem, absl::string_view label,
                                   const Certificate& ca) {
  if (crl_pem.size() > INT_MAX) return Invalid(label, "too large");
  SslUniquePtr<BIO> bio(BIO_new_mem_buf(crl_pem.data(), static_cast<int>(crl_pem.size())));
  if (bio == nullptr) return SslError(absl::StatusCode::kInternal, "BIO_new_mem_buf");
  SslUniquePtr<X509_CRL> crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  if (crl == nullptr) {
    return SslError(absl::StatusCode::kInvalidArgument, absl::StrCat(label, ": not a PEM CRL"));
  }
  X509* ca_x509 = ca.impl().x509.get();
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca_x509)) != 0) {
    return Invalid(label, "CRL issuer is not the network CA");
  }
  // The issuer name proves nothing: anyone can copy it. The signature does.
  if (X509_CRL_verify(crl.get(), X509_get0_pubkey(ca_x509)) != 1) {
    ClearSslErrors();
    return Invalid(label, "CRL signature does not verify against the network CA key");
  }
  // Delta, partitioned or indirect CRLs mark themselves with critical
  // extensions; a plain serial list would misread them, so refuse them.
  for (int i = 0; i < X509_CRL_get_ext_count(crl.get()); ++i) {
    X509_EXTENSION* ext = X509_CRL_get_ext(crl.get(), i);
    const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    if (X509_EXTENSION_get_critical(ext) && nid != NID_crl_number &&
        nid != NID_authority_key_identifier) {
      return Invalid(label, absl::StrCat("CRL has unsupported critical extension ",
                                         nid == NID_undef ? "(unknown)" : OBJ_nid2sn(nid)));
    }
  }
  ParsedCrl parsed;
  const STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(crl.get());
  for (int i = 0; i < sk_X509_REVOKED_num(entries); ++i) {
    const X509_REVOKED* entry = sk_X509_REVOKED_value(entries, i);
    for (int j = 0; j < X509_REVOKED_get_ext_count(entry); ++j) {
      if (X509_EXTENSION_get_critical(X509_REVOKED_get_ext(entry, j))) {
        return Invalid(label,
                       "CRL entry has a critical extension (indirect CRLs are not supported)");
      }
    }
    parsed.revoked.insert(internal::SerialHex(X509_REVOKED_get0_serialNumber(entry)));
  }
  int critical = 0;
  SslUniquePtr<ASN1_INTEGER> number(static_cast<ASN1_INTEGER*>(
      X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, &critical, nullptr)));
  if (number != nullptr) {
    int64_t value = 0;
    if (ASN1_INTEGER_get_int64(&value, number.get()) != 1 || value < 0 || value > LONG_MAX) {
      ClearSslErrors();
      return Invalid(label, "CRL number out of range");
    }
    parsed.number = static_cast<long>(value);
  }
  if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get()); next != nullptr) {
    struct tm tm {};
    if (ASN1_TIME_to_tm(next, &tm) != 1) {
      ClearSslErrors();
      return Invalid(label, "CRL nextUpdate is malformed");
    }
    parsed.next_update =
        absl::FromCivil(absl::CivilSecond(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                          tm.tm_min, tm.tm_sec),
                        absl::UTCTimeZone());
  }
  ClearSslErrors();
  return parsed;
}

// Turns a failed X509_verify_cert into the PermissionDenied of the contract.
absl::Status ChainError(int err, int depth, const Certificate& cert, const Certificate& ca,
                        absl::Time now) {
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD: {
      absl::Status s = depth == 0 ? internal::CheckValidAt(cert, now)
                                  : internal::CheckValidAt(ca, now, "network CA ");
      if (!s.ok()) return s;
      break;  // OpenSSL and we disagree on the time: report OpenSSL's words
    }
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
    case X509_V_ERR_AKID_SKID_MISMATCH:
    case X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH:
      return absl::PermissionDeniedError(
          absl::StrCat(Describe(cert), " is not issued by the network CA"));
    default:
      break;
  }
  return absl::PermissionDeniedError(
      absl::StrCat(Describe(cert), " failed chain validation: ", X509_verify_cert_error_string(err),
                   " (at depth ", depth, ")"));
}

// Whether the certificate's extended key usage lists `oid` (dotted form).
bool HasExtendedKeyUsageOid(X509* x, std::string_view oid) {
  int critical = 0;
  EXTENDED_KEY_USAGE* eku =
      static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(x, NID_ext_key_usage, &critical, nullptr));
  if (eku == nullptr) {
    ClearSslErrors();
    return false;
  }
  bool found = false;
  for (int i = 0; i < sk_ASN1_OBJECT_num(eku) && !found; ++i) {
    char text[128] = {};
    const int len = OBJ_obj2txt(text, sizeof text, sk_ASN1_OBJECT_value(eku, i), 1);
    found = len > 0 && static_cast<size_t>(len) < sizeof text &&
            std::string_view(text, static_cast<size_t>(len)) == oid;
  }
  EXTENDED_KEY_USAGE_free(eku);
  return found;
}

// An encryption certificate agrees keys and does nothing else: keyAgreement
// without any signing usage, the Liaison evidence key agreement EKU, and an
// EC P-256 key (ECDH of key_wrap.h).
absl::Status CheckEncryptionUsage(const Certificate& cert) {
  X509* x = cert.impl().x509.get();
  const uint32_t flags = X509_get_extension_flags(x);
  const uint32_t ku = X509_get_key_usage(x);
  if ((flags & EXFLAG_KUSAGE) == 0 || (ku & KU_KEY_AGREEMENT) == 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(Describe(cert), " key usage lacks keyAgreement"));
  }
  if ((ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        Describe(cert), " key usage allows signing (an encryption key must only agree keys)"));
  }
  if (!HasExtendedKeyUsageOid(x, kEvidenceKeyAgreementOid)) {
    return absl::PermissionDeniedError(
        absl::StrCat(Describe(cert), " extended key usage lacks Liaison evidence key agreement (",
                     internal::Sv(kEvidenceKeyAgreementOid), ")"));
  }
  if (!internal::IsEcP256(cert.impl().public_key.get())) {
    return absl::PermissionDeniedError(absl::StrCat(
        Describe(cert), " has no EC P-256 key (evidence key agreement is ECDH P-256)"));
  }
  return absl::OkStatus();
}

// Key usage and extended key usage that each role needs.
absl::Status CheckUsage(const Certificate& cert, Role role) {
  if (role == Role::kEndpointEncryption) return CheckEncryptionUsage(cert);
  X509* x = cert.impl().x509.get();
  const uint32_t flags = X509_get_extension_flags(x);
  const uint32_t ku = X509_get_key_usage(x);
  if ((flags & EXFLAG_KUSAGE) == 0 || (ku & KU_DIGITAL_SIGNATURE) == 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(Describe(cert), " key usage lacks digitalSignature"));
  }
  if (role == Role::kEndpointSigning && (ku & KU_NON_REPUDIATION) == 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(Describe(cert), " key usage lacks nonRepudiation"));
  }
  uint32_t needed = 0;
  absl::string_view needed_name;
  switch (role) {
    case Role::kEndpointTls:
    case Role::kOperator:
      needed = XKU_SSL_CLIENT;
      needed_name = "clientAuth";
      break;
    case Role::kBroker:
      needed = XKU_SSL_SERVER;
      needed_name = "serverAuth";
      break;
    case Role::kEndpointSigning:
    case Role::kEndpointEncryption:
      break;
  }
  if (needed != 0 &&
      ((flags & EXFLAG_XKUSAGE) == 0 || (X509_get_extended_key_usage(x) & needed) == 0)) {
    return absl::PermissionDeniedError(
        absl::StrCat(Describe(cert), " extended key usage lacks ", needed_name));
  }
  return absl::OkStatus();
}

// Parses and checks the CA and the CRL; `*_label` names them in errors.
absl::StatusOr<std::unique_ptr<TrustStore::Impl>> BuildImpl(std::string_view ca_pem,
                                                            absl::string_view ca_label,
                                                            std::string_view crl_pem,
                                                            absl::string_view crl_label) {
  LIAISON_ASSIGN_OR_RETURN(std::vector<SslUniquePtr<X509>> certs,
                           ReadPemCertificates(ca_pem, ca_label));
  if (certs.size() != 1) {
    return Invalid(ca_label, absl::StrCat("holds ", certs.size(),
                                          " certificates; expected exactly the network CA"));
  }
  unsigned char* der = nullptr;
  const int der_len = i2d_X509(certs[0].get(), &der);
  if (der_len <= 0) return SslError(absl::StatusCode::kInvalidArgument, ca_label);
  internal::OpensslUniquePtr<unsigned char> owned(der);
  absl::StatusOr<Certificate> ca = Certificate::FromDer(
      std::string_view(reinterpret_cast<const char*>(der), static_cast<size_t>(der_len)));
  if (!ca.ok()) return internal::Annotate(ca.status(), ca_label);
  if (X509_check_ca(ca->impl().x509.get()) != 1) {
    return Invalid(ca_label, absl::StrCat(Describe(*ca),
                                          " is not a CA certificate (basicConstraints CA:TRUE)"));
  }

  auto impl = std::make_unique<TrustStore::Impl>(*ca, std::string(ca_pem));
  impl->store.reset(X509_STORE_new());
  if (impl->store == nullptr ||
      X509_STORE_add_cert(impl->store.get(), ca->impl().x509.get()) != 1) {
    return SslError(absl::StatusCode::kInternal, "cannot build the X509_STORE");
  }
  if (!crl_pem.empty()) {
    LIAISON_ASSIGN_OR_RETURN(ParsedCrl crl, ParseCrl(crl_pem, crl_label, *ca));
    impl->revoked = std::move(crl.revoked);
    impl->crl_number = crl.number;
    impl->crl_next_update = crl.next_update;
  }
  return impl;
}

}  // namespace

namespace internal {

absl::Status CheckRoleAndUsage(const Certificate& cert, Role expected) {
  const Certificate::Impl& c = cert.impl();
  if (c.common_name_count != 1 || c.organizational_unit_count != 1) {
    return absl::PermissionDeniedError(
        absl::StrCat(Describe(cert), " must name exactly one CN and one OU (has ",
                     c.common_name_count, " and ", c.organizational_unit_count, ")"));
  }
  if (c.organizational_unit != RoleName(expected)) {
    return absl::PermissionDeniedError(absl::StrCat(Describe(cert), " has role ",
                                                    SanitizeForMessage(c.organizational_unit),
                                                    ", expected ", Sv(RoleName(expected))));
  }
  return CheckUsage(cert, expected);
}

}  // namespace internal

absl::StatusOr<std::shared_ptr<const TrustStore>> TrustStore::FromPem(std::string_view ca_pem,
                                                                      std::string_view crl_pem) {
  LIAISON_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl,
                           BuildImpl(ca_pem, "CA certificate", crl_pem, "CRL"));
  return std::shared_ptr<const TrustStore>(new TrustStore(std::move(impl)));
}

absl::StatusOr<std::shared_ptr<const TrustStore>> TrustStore::Load(const std::string& ca_path,
                                                                   const std::string& crl_path) {
  LIAISON_ASSIGN_OR_RETURN(std::string ca_pem, liaison::ReadFile(ca_path));
  std::string crl_pem;
  if (!crl_path.empty()) {
    LIAISON_ASSIGN_OR_RETURN(crl_pem, liaison::ReadFile(crl_path));
    if (crl_pem.empty()) return Invalid(crl_path, "empty file (no CRL)");
  }
  LIAISON_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl,
                           BuildImpl(ca_pem, ca_path, crl_pem, crl_path));
  return std::shared_ptr<const TrustStore>(new TrustStore(std::move(impl)));
}

TrustStore::TrustStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TrustStore::~TrustStore() = default;

absl::StatusOr<Identity> TrustStore::Validate(const Certificate& cert, Role expected,
                                              absl::Time now) const {
  const Certificate::Impl& c = cert.impl();

  // 1 and 2: signed by the network CA, and both certificates valid at `now`.
  SslUniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (ctx == nullptr ||
      X509_STORE_CTX_init(ctx.get(), impl_->store.get(), c.x509.get(), nullptr) != 1) {
    return SslError(absl::StatusCode::kInternal, "X509_STORE_CTX_init");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, absl::ToTimeT(now));
  // Leaf directly under the CA, no intermediates. PARTIAL_CHAIN lets the
  // configured CA be the anchor even if it is itself an intermediate of a
  // production root; STRICT refuses sloppy encodings.
  X509_VERIFY_PARAM_set_depth(param, 0);
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_X509_STRICT);
  const int verified = X509_verify_cert(ctx.get());
  if (verified < 0) return SslError(absl::StatusCode::kInternal, "X509_verify_cert");
  if (verified != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    ClearSslErrors();
    return ChainError(err, depth, cert, impl_->ca, now);
  }
  // The CA itself verifies trivially against itself; it is not a holder.
  if (X509_check_ca(c.x509.get()) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(Describe(cert), " is a CA certificate, not a holder certificate"));
  }

  // 3: not revoked.
  if (impl_->revoked.contains(c.serial_hex)) {
    return absl::PermissionDeniedError(absl::StrCat(Describe(cert), " is revoked"));
  }

  // 4 and 5: one holder in the expected role, with the usages of the role.
  LIAISON_RETURN_IF_ERROR(internal::CheckRoleAndUsage(cert, expected));

  Identity identity;
  identity.id = c.common_name;
  identity.role = expected;
  identity.serial_hex = c.serial_hex;
  identity.fingerprint_hex = c.fingerprint_hex;
  identity.not_after = c.not_after;
  return identity;
}

bool TrustStore::IsRevoked(std::string_view serial_hex) const {
  return impl_->revoked.contains(internal::NormalizeSerialHex(serial_hex));
}

const std::string& TrustStore::ca_pem() const { return impl_->ca_pem; }

long TrustStore::crl_number() const { return impl_->crl_number; }

absl::Time TrustStore::crl_next_update() const { return impl_->crl_next_update; }

}  // namespace liaison::certs
