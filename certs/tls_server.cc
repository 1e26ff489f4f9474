#include "certs/tls_server.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "certs/internal/ssl_error.h"
#include "certs/internal/ssl_unique_ptr.h"

namespace liaison::certs {

absl::Status ConfigureMutualTlsServer(ssl_ctx_st& ctx, const TlsServerFiles& files) {
  internal::ClearSslErrors();
  if (SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION) != 1) {
    return internal::SslError(absl::StatusCode::kInternal, "TLS 1.2 minimum");
  }
  if (SSL_CTX_use_certificate_chain_file(&ctx, files.cert_path.c_str()) != 1) {
    return internal::SslError(absl::StatusCode::kInvalidArgument,
                              absl::StrCat("certificate ", files.cert_path));
  }
  if (SSL_CTX_use_PrivateKey_file(&ctx, files.key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
    return internal::SslError(absl::StatusCode::kInvalidArgument,
                              absl::StrCat("key ", files.key_path));
  }
  if (SSL_CTX_load_verify_locations(&ctx, files.ca_path.c_str(), nullptr) != 1) {
    return internal::SslError(absl::StatusCode::kInvalidArgument,
                              absl::StrCat("CA ", files.ca_path));
  }
  SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, nullptr);
  return absl::OkStatus();
}

std::string PeerCertificatePem(const ssl_st* ssl) {
  if (ssl == nullptr) return "";
  internal::SslUniquePtr<X509> cert(SSL_get1_peer_certificate(ssl));
  if (cert == nullptr) return "";
  internal::SslUniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  std::string pem;
  if (bio != nullptr && PEM_write_bio_X509(bio.get(), cert.get()) == 1) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    if (n > 0) pem.assign(data, static_cast<size_t>(n));
  }
  internal::ClearSslErrors();
  return pem;
}

}  // namespace liaison::certs
