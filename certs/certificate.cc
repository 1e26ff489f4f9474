#include "certs/certificate.h"

#include "base/safe_text.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/status_macros.h"
#include "certs/internal/certificate_impl.h"
#include "certs/internal/ssl_error.h"
#include "certs/internal/ssl_unique_ptr.h"
#include "certs/signature.h"

namespace liaison::certs {

using internal::SslError;
using internal::SslUniquePtr;

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kEndpointTls:
      return "endpoint-tls";
    case Role::kEndpointSigning:
      return "endpoint-signing";
    case Role::kEndpointEncryption:
      return "endpoint-encryption";
    case Role::kBroker:
      return "broker";
    case Role::kOperator:
      return "operator";
  }
  return "unknown";
}

namespace internal {

std::string NormalizeSerialHex(std::string_view hex) {
  bool negative = false;
  if (!hex.empty() && hex.front() == '-') {
    negative = true;
    hex.remove_prefix(1);
  }
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
  while (hex.size() > 1 && hex.front() == '0') hex.remove_prefix(1);
  if (hex.empty() || hex == "0") return std::string("0");
  return absl::StrCat(negative ? "-" : "", absl::AsciiStrToUpper(Sv(hex)));
}

std::string SerialHex(const ASN1_INTEGER* serial) {
  SslUniquePtr<BIGNUM> bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (bn == nullptr) {
    ClearSslErrors();
    return "?";
  }
  OpensslUniquePtr<char> hex(BN_bn2hex(bn.get()));
  if (hex == nullptr) {
    ClearSslErrors();
    return "?";
  }
  return NormalizeSerialHex(hex.get());
}

std::string SanitizeForMessage(std::string_view text, size_t max) { return SafeText(text, max); }

std::string Describe(const Certificate& cert) {
  return absl::StrCat("certificate CN=", SanitizeForMessage(cert.common_name()), " serial ",
                      cert.serial_hex());
}

namespace {
// Never prompts: an encrypted key is an error, not a terminal dialogue.
int NoPassword(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }
}  // namespace

absl::StatusOr<SslUniquePtr<EVP_PKEY>> ReadPrivateKeyPem(std::string_view pem,
                                                         absl::string_view label) {
  if (pem.size() > INT_MAX) return absl::InvalidArgumentError(absl::StrCat(label, ": too large"));
  SslUniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return SslError(absl::StatusCode::kInternal, "BIO_new_mem_buf");
  SslUniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  if (key == nullptr) {
    return SslError(absl::StatusCode::kInvalidArgument,
                    absl::StrCat(label, ": not an unencrypted PEM private key"));
  }
  return key;
}

bool IsEcP256(EVP_PKEY* key) {
  if (key == nullptr || !EVP_PKEY_is_a(key, "EC")) return false;
  char group[80] = {};
  size_t len = 0;
  const bool p256 = EVP_PKEY_get_group_name(key, group, sizeof group, &len) == 1 &&
                    (OBJ_sn2nid(group) == NID_X9_62_prime256v1 ||
                     EC_curve_nist2nid(group) == NID_X9_62_prime256v1);
  ClearSslErrors();
  return p256;
}

std::string FormatRfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

absl::Status CheckValidAt(const Certificate& cert, absl::Time now, absl::string_view prefix) {
  if (now < cert.not_before()) {
    return absl::PermissionDeniedError(absl::StrCat(prefix, Describe(cert),
                                                    " is not yet valid (valid from ",
                                                    FormatRfc3339(cert.not_before()), ")"));
  }
  if (now >= cert.not_after()) {
    return absl::PermissionDeniedError(
        absl::StrCat(prefix, Describe(cert), " expired at ", FormatRfc3339(cert.not_after())));
  }
  return absl::OkStatus();
}

absl::Status Annotate(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(prefix, ": ", status.message()));
}

}  // namespace internal

namespace {

using internal::ClearSslErrors;

// X.509 certificates are a few hundred bytes; anything far larger is not one.
constexpr size_t kMaxDerBytes = 64 * 1024;

absl::StatusOr<absl::Time> ToAbslTime(const ASN1_TIME* t, absl::string_view field) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return SslError(absl::StatusCode::kInvalidArgument,
                    absl::StrCat("certificate: malformed ", field));
  }
  const absl::CivilSecond civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                                tm.tm_sec);
  return absl::FromCivil(civil, absl::UTCTimeZone());
}

// Reads every `nid` attribute of `name`: the first value and how many there are.
absl::Status ReadNameEntries(const X509_NAME* name, int nid, absl::string_view field,
                             std::string* first, int* count) {
  *count = 0;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, nid, i)) {
    ++*count;
    if (*count > 1) continue;
    const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, value);
    if (len < 0) {
      return SslError(absl::StatusCode::kInvalidArgument,
                      absl::StrCat("certificate: subject ", field, " is not a valid string"));
    }
    internal::OpensslUniquePtr<unsigned char> owned(utf8);
    first->assign(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
    if (first->find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("certificate: subject ", field, " contains a NUL character"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Certificate> Certificate::FromDer(std::string_view der) {
  if (der.empty()) return absl::InvalidArgumentError("certificate: empty DER");
  if (der.size() > kMaxDerBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate: ", der.size(), " bytes is too large for a certificate"));
  }
  const auto* begin = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* p = begin;
  SslUniquePtr<X509> x509(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (x509 == nullptr) {
    return SslError(absl::StatusCode::kInvalidArgument, "certificate: not a DER X.509 certificate");
  }
  if (p != begin + der.size()) {
    return absl::InvalidArgumentError(
        "certificate: trailing bytes after the DER X.509 certificate");
  }
  // Decodes and caches the extensions now, so that threads sharing this
  // X509 later only read. Flags such as EXFLAG_INVALID are left for chain
  // validation to report.
  X509_check_purpose(x509.get(), -1, 0);
  ClearSslErrors();

  auto impl = std::make_shared<Impl>();
  impl->der = std::string(der);
  impl->fingerprint_hex = HexEncode(Sha256(der));
  impl->serial_hex = internal::SerialHex(X509_get0_serialNumber(x509.get()));
  const X509_NAME* subject = X509_get_subject_name(x509.get());
  LIAISON_RETURN_IF_ERROR(
      ReadNameEntries(subject, NID_commonName, "CN", &impl->common_name, &impl->common_name_count));
  LIAISON_RETURN_IF_ERROR(ReadNameEntries(subject, NID_organizationalUnitName, "OU",
                                          &impl->organizational_unit,
                                          &impl->organizational_unit_count));
  LIAISON_ASSIGN_OR_RETURN(impl->not_before,
                           ToAbslTime(X509_get0_notBefore(x509.get()), "notBefore"));
  LIAISON_ASSIGN_OR_RETURN(impl->not_after, ToAbslTime(X509_get0_notAfter(x509.get()), "notAfter"));
  // An unknown key algorithm is not a parse error: whoever uses the key
  // rejects it by name.
  impl->public_key.reset(X509_get_pubkey(x509.get()));
  ClearSslErrors();
  impl->x509 = std::move(x509);
  return Certificate(std::move(impl));
}

absl::StatusOr<Certificate> Certificate::FromPem(std::string_view pem) {
  if (pem.size() > INT_MAX) return absl::InvalidArgumentError("certificate: PEM too large");
  SslUniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return SslError(absl::StatusCode::kInternal, "certificate: BIO_new_mem_buf");
  SslUniquePtr<X509> x509(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (x509 == nullptr) {
    return SslError(absl::StatusCode::kInvalidArgument, "certificate: no PEM certificate");
  }
  unsigned char* der = nullptr;
  const int len = i2d_X509(x509.get(), &der);
  if (len <= 0) return SslError(absl::StatusCode::kInvalidArgument, "certificate: cannot encode");
  internal::OpensslUniquePtr<unsigned char> owned(der);
  return FromDer(std::string_view(reinterpret_cast<const char*>(der), static_cast<size_t>(len)));
}

absl::StatusOr<Certificate> Certificate::FromPemFile(const std::string& path) {
  LIAISON_ASSIGN_OR_RETURN(std::string pem, liaison::ReadFile(path));
  absl::StatusOr<Certificate> cert = FromPem(pem);
  if (!cert.ok()) return internal::Annotate(cert.status(), path);
  return cert;
}

const std::string& Certificate::der() const { return impl_->der; }

std::string Certificate::pem() const {
  SslUniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  // Encoding a parsed certificate fails only when memory runs out.
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), impl_->x509.get()) != 1) std::abort();
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

const std::string& Certificate::fingerprint_hex() const { return impl_->fingerprint_hex; }
const std::string& Certificate::common_name() const { return impl_->common_name; }
const std::string& Certificate::organizational_unit() const { return impl_->organizational_unit; }
const std::string& Certificate::serial_hex() const { return impl_->serial_hex; }
absl::Time Certificate::not_before() const { return impl_->not_before; }
absl::Time Certificate::not_after() const { return impl_->not_after; }

}  // namespace liaison::certs
