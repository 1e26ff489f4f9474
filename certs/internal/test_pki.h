// Test support for certs_test (not part of liaison_certs): a development PKI
// minted by scripts/mint-dev-pki.sh once per test process, plus helpers.
#ifndef LIAISON_CERTS_INTERNAL_TEST_PKI_H_
#define LIAISON_CERTS_INTERNAL_TEST_PKI_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace liaison::certs::testing {

// Layout, under a fresh temp dir removed at exit -- or, when
// LIAISON_CERTS_TEST_PKI_CACHE is set (ctest sets it), under a directory in
// that cache shared by all test processes: read it, never write to it.
//   pki/                     `init`, then `revoke` of issued/revoked.pem
//   issued/expired.*         RO-IGPR endpoint-signing, 2020-01-01 .. 2021-01-01
//   issued/future.*          RO-IGPR endpoint-signing, 2090-01-01 .. 2095-01-01
//   issued/ed25519.*         RO-IGPR endpoint-signing, Ed25519
//   issued/revoked.*         RO-IGPR endpoint-signing, revoked in pki/crl.pem
//   foreign/                 `foreign-ca` (same CA name, unrelated key)
struct TestPki {
  std::string root;
  std::string pki;      // root + "/pki"
  std::string issued;   // root + "/issued"
  std::string foreign;  // root + "/foreign"
  // pki/crl.pem as it was before the revocation (no entries).
  std::string crl_before_revocation;
  // One day after the CA's notBefore: every `init` certificate is valid then.
  absl::Time now;
  // Whether the destructor removes `root` (not for the shared cache).
  bool owned = false;

  std::string Endpoint(std::string_view id, std::string_view file) const;

  ~TestPki();
};

// Mints the PKI on first use; aborts the process (printing the script's
// output) if the script fails, since no test can run without it.
const TestPki& GetTestPki();

struct ScriptResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};
// Runs scripts/mint-dev-pki.sh with `args`.
ScriptResult RunMintScript(const std::vector<std::string>& args);

std::string MakeTempDir();
// The file's content; aborts if it cannot be read (a broken fixture).
std::string ReadFileOrDie(const std::string& path);

// A certificate the script would never issue, signed with the CA key of
// `pki_dir` (so that chain validation passes and later checks are reached).
// Every member has an initializer so designated initializers may skip any
// (GCC's -Wmissing-field-initializers insists).
struct CustomCertSpec {
  std::string ou{};
  std::string cn{};
  std::string key_usage{};           // e.g. "critical,digitalSignature"; empty: none
  std::string extended_key_usage{};  // e.g. "clientAuth"; empty: none
  std::string key_type = "P-256";    // "P-256", "P-384" or "ED25519"
  absl::Time not_before{};
  absl::Time not_after{};
};
struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};
KeyAndCert MintCustomCertificate(const std::string& pki_dir, const CustomCertSpec& spec);

// Passes when `status` has `code` and its message contains `substring`.
::testing::AssertionResult HasError(const absl::Status& status, absl::StatusCode code,
                                    absl::string_view substring);

}  // namespace liaison::certs::testing

#define CERTS_TEST_CONCAT_INNER_(a, b) a##b
#define CERTS_TEST_CONCAT_(a, b) CERTS_TEST_CONCAT_INNER_(a, b)
// `lhs` = value of the StatusOr `expr`, or a fatal test failure.
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(CERTS_TEST_CONCAT_(status_or_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  ASSERT_TRUE(tmp.ok()) << tmp.status();           \
  lhs = std::move(*tmp)
#define ASSERT_OK(expr)                      \
  do {                                       \
    const absl::Status status_ = (expr);     \
    ASSERT_TRUE(status_.ok()) << status_;    \
  } while (0)

#endif  // LIAISON_CERTS_INTERNAL_TEST_PKI_H_
