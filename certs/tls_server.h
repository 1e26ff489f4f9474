// TLS server pieces for listeners that are not gRPC (the operators' HTTP
// server): configuring an OpenSSL server context for mutual TLS with the
// network CA, and reading the client certificate a handshake received.
// The OpenSSL types are only forward-declared here, so no OpenSSL header
// appears outside certs/; callers hand over the pointers their TLS library
// gives them.
#ifndef LIAISON_CERTS_TLS_SERVER_H_
#define LIAISON_CERTS_TLS_SERVER_H_

#include <string>

#include "absl/status/status.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX
struct ssl_st;      // OpenSSL's SSL

namespace liaison::certs {

struct TlsServerFiles {
  std::string cert_path;  // server certificate chain (PEM)
  std::string key_path;   // its private key (PEM)
  std::string ca_path;    // the network CA that client certificates must chain to
};

// TLS 1.2 or newer, the server's chain and key, and client certificates
// requested and chain-verified against `ca_path` when presented (a missing
// one is left to the caller's authentication, which answers precisely).
// InvalidArgument naming the file and OpenSSL's reason.
absl::Status ConfigureMutualTlsServer(ssl_ctx_st& ctx, const TlsServerFiles& files);

// The client certificate of an established connection as PEM; "" when the
// client sent none (or `ssl` is null).
std::string PeerCertificatePem(const ssl_st* ssl);

}  // namespace liaison::certs

#endif  // LIAISON_CERTS_TLS_SERVER_H_
