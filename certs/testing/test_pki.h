// The one test PKI of the project (library `liaison_test_pki`, tests and
// benchmarks only): a development PKI minted by certs/scripts/mint-dev-pki.sh,
// plus the certificates negative tests need (expired, not yet valid,
// revoked, Ed25519, a foreign CA), and helpers to issue and revoke more.
#ifndef LIAISON_CERTS_TESTING_TEST_PKI_H_
#define LIAISON_CERTS_TESTING_TEST_PKI_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "certs/signature.h"
#include "certs/trust_store.h"

namespace liaison::testing {

// Layout under `root`:
//   pki/                     `init`, then `revoke` of issued/revoked.pem and
//                            issued/broker-revoked.pem
//   issued/expired.*         RO-IGPR endpoint-signing, 2020-01-01 .. 2021-01-01
//   issued/future.*          RO-IGPR endpoint-signing, 2090-01-01 .. 2095-01-01
//   issued/ed25519.*         RO-IGPR endpoint-signing, Ed25519
//   issued/revoked.*         RO-IGPR endpoint-signing, revoked in pki/crl.pem
//   issued/broker-expired.*  broker liaison-broker-8, 2020-01-01 .. 2021-01-01
//   issued/broker-revoked.*  broker liaison-broker-9, revoked in pki/crl.pem
//   foreign/                 `foreign-ca` (same CA name, unrelated key)
//   scratch/                 what Issue() writes
struct TestPki {
  std::string root;
  std::string dir;          // root + "/pki": ca.pem, crl.pem, broker/, endpoints/, operators/
  std::string issued;       // root + "/issued"
  std::string foreign_dir;  // root + "/foreign"
  std::string scratch;      // root + "/scratch"
  // pki/crl.pem as it was before the revocations (no entries).
  std::string crl_before_revocation;
  // One day after the CA's notBefore: every `init` certificate is valid then.
  absl::Time now;
  // Whether the destructor removes `root` (a PKI of this process only).
  bool owned = false;
  // False for the PKI shared by the processes of one ctest run: Issue and
  // Revoke refuse to change it.
  bool writable = true;

  std::string ca() const { return dir + "/ca.pem"; }
  std::string crl() const { return dir + "/crl.pem"; }
  std::string EndpointFile(absl::string_view id, absl::string_view file) const;

  // Issues a certificate: writes <scratch>/<name>.{pem,key}; returns the prefix.
  // `start`/`end` in openssl's YYYYMMDDHHMMSSZ form, empty for the default.
  absl::StatusOr<std::string> Issue(absl::string_view role, absl::string_view id,
                                    absl::string_view name, absl::string_view start = {},
                                    absl::string_view end = {},
                                    absl::string_view alg = "p256") const;
  // Revokes <prefix>.pem and rewrites crl.pem.
  absl::Status Revoke(const std::string& prefix) const;

  ~TestPki();
};

// Mints on first use; aborts the process (printing the script's output) if
// the script fails, since no test can run without it. Where from:
// - LIAISON_TEST_PKI_ROOT set (a child process of a test or benchmark): the
//   parent's PKI at that root, neither minted nor removed;
// - LIAISON_TEST_PKI_CACHE set (ctest sets it for binaries that never change
//   their PKI): the first process of the run mints into <cache>/<key> under
//   a file lock, the others wait and then only read it (not writable);
// - otherwise a fresh temporary folder, removed at exit.
const TestPki& SharedTestPki();

// Runs scripts/mint-dev-pki.sh with `args`; its exit code and output.
struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};
CommandResult RunMintScript(const std::vector<std::string>& args);
// Runs a command through /bin/sh; its exit code and output.
CommandResult RunCommand(const std::string& command);
// Quotes `s` for /bin/sh.
std::string ShellQuote(absl::string_view s);

std::string MakeTempDir(absl::string_view prefix = "liaison-test");
// The file's content; aborts if it cannot be read (a broken fixture).
std::string ReadFileOrDie(const std::string& path);
// Absolute path of `relative` in the source tree.
std::string SourcePath(absl::string_view relative);

// The signing key <prefix>.key with its certificate <prefix>.pem, e.g.
// SharedTestPki().dir + "/broker/tls" or EndpointFile("DE-BKA", "sign");
// aborts, naming the files, if they do not load (a broken fixture).
std::unique_ptr<certs::Signer> LoadSignerOrDie(const std::string& prefix);
// The network's trust as a broker or endpoint loads it: the shared test
// PKI's CA and its CRL in force; aborts if they do not load.
std::shared_ptr<const certs::TrustStore> NetworkTrustOrDie();

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

}  // namespace liaison::testing

#endif  // LIAISON_CERTS_TESTING_TEST_PKI_H_
