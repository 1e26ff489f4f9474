// unique_ptr for OpenSSL handles, one deleter per type:
//
//   SslUniquePtr<X509> cert(d2i_X509(nullptr, &p, len));
//
// Folder-private: nothing outside certs/ sees an OpenSSL type.
#ifndef LIAISON_CERTS_INTERNAL_SSL_UNIQUE_PTR_H_
#define LIAISON_CERTS_INTERNAL_SSL_UNIQUE_PTR_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace liaison::certs::internal {

template <typename T>
struct SslDeleter;

#define LIAISON_SSL_DELETER_(type, free_fn)        \
  template <>                                      \
  struct SslDeleter<type> {                        \
    void operator()(type* p) const { free_fn(p); } \
  }

// ASN1_INTEGER is ASN1_STRING (and so are ASN1_TIME etc.): one deleter for all.
LIAISON_SSL_DELETER_(ASN1_STRING, ASN1_STRING_free);
LIAISON_SSL_DELETER_(BIGNUM, BN_free);
LIAISON_SSL_DELETER_(BIO, BIO_free);
LIAISON_SSL_DELETER_(EVP_CIPHER, EVP_CIPHER_free);
LIAISON_SSL_DELETER_(EVP_CIPHER_CTX, EVP_CIPHER_CTX_free);
LIAISON_SSL_DELETER_(EVP_KDF, EVP_KDF_free);
LIAISON_SSL_DELETER_(EVP_KDF_CTX, EVP_KDF_CTX_free);
LIAISON_SSL_DELETER_(EVP_MD, EVP_MD_free);
LIAISON_SSL_DELETER_(EVP_MD_CTX, EVP_MD_CTX_free);
LIAISON_SSL_DELETER_(EVP_PKEY, EVP_PKEY_free);
LIAISON_SSL_DELETER_(EVP_PKEY_CTX, EVP_PKEY_CTX_free);
LIAISON_SSL_DELETER_(X509, X509_free);
LIAISON_SSL_DELETER_(X509_CRL, X509_CRL_free);
LIAISON_SSL_DELETER_(X509_EXTENSION, X509_EXTENSION_free);
LIAISON_SSL_DELETER_(X509_NAME, X509_NAME_free);
LIAISON_SSL_DELETER_(X509_STORE, X509_STORE_free);
LIAISON_SSL_DELETER_(X509_STORE_CTX, X509_STORE_CTX_free);

#undef LIAISON_SSL_DELETER_

template <typename T>
using SslUniquePtr = std::unique_ptr<T, SslDeleter<T>>;

// Memory that OpenSSL allocated for us (BN_bn2hex, i2d_* with a null output).
struct OpensslFree {
  void operator()(void* p) const { OPENSSL_free(p); }
};
template <typename T>
using OpensslUniquePtr = std::unique_ptr<T, OpensslFree>;

}  // namespace liaison::certs::internal

#endif  // LIAISON_CERTS_INTERNAL_SSL_UNIQUE_PTR_H_
