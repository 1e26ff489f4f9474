#include "certs/testing/test_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "certs/certificate.h"
#include "certs/internal/ssl_unique_ptr.h"
#include "certs/signature.h"

#ifndef LIAISON_MINT_DEV_PKI
#error "LIAISON_MINT_DEV_PKI (absolute path of scripts/mint-dev-pki.sh) must be defined"
#endif
#ifndef LIAISON_SOURCE_DIR
#error "LIAISON_SOURCE_DIR (absolute path of the source tree) must be defined"
#endif

namespace liaison::testing {
namespace {

using certs::internal::SslUniquePtr;

[[noreturn]] void Die(std::string_view what) {
  std::cerr << "test PKI: " << what << std::endl;
  std::abort();
}

void RunOrDie(const std::vector<std::string>& args) {
  CommandResult r = RunMintScript(args);
  if (r.exit_code != 0) {
    Die(absl::StrCat("mint-dev-pki.sh ", absl::StrJoin(args, " "), " exited with ", r.exit_code,
                     ":\n", r.output));
  }
}

// The script calls that make the fixture; "@" stands for its root directory.
// "save-crl" is not a script call: it copies pki/crl.pem aside.
const std::vector<std::vector<std::string>>& FixtureSteps() {
  static const auto* steps = new std::vector<std::vector<std::string>>{
      {"init", "@/pki"},
      {"save-crl"},
      {"issue", "@/pki", "endpoint-signing", "RO-IGPR", "@/issued/expired", "--start",
       "20200101000000Z", "--end", "20210101000000Z"},
      {"issue", "@/pki", "endpoint-signing", "RO-IGPR", "@/issued/future", "--start",
       "20900101000000Z", "--end", "20950101000000Z"},
      {"issue", "@/pki", "endpoint-signing", "RO-IGPR", "@/issued/ed25519", "--alg", "ed25519"},
      {"issue", "@/pki", "endpoint-signing", "RO-IGPR", "@/issued/revoked"},
      {"issue", "@/pki", "broker", "liaison-broker-8", "@/issued/broker-expired", "--start",
       "20200101000000Z", "--end", "20210101000000Z"},
      {"issue", "@/pki", "broker", "liaison-broker-9", "@/issued/broker-revoked"},
      {"revoke", "@/pki", "@/issued/revoked.pem"},
      {"revoke", "@/pki", "@/issued/broker-revoked.pem"},
      {"foreign-ca", "@/foreign"},
  };
  return *steps;
}

constexpr char kCrlBeforeRevocation[] = "/crl-before-revocation.pem";
constexpr char kCompleteStamp[] = "/complete";

void MintInto(const std::string& root) {
  for (std::vector<std::string> step : FixtureSteps()) {
    for (std::string& arg : step) {
      if (!arg.empty() && arg[0] == '@') arg = root + arg.substr(1);
    }
    if (step[0] == "save-crl") {
      std::filesystem::copy_file(root + "/pki/crl.pem", root + kCrlBeforeRevocation);
    } else {
      RunOrDie(step);
    }
  }
  std::filesystem::create_directories(root + "/scratch");
  std::ofstream(root + kCompleteStamp) << "ok\n";
}

// Under ctest every test is its own process; minting a PKI per process would
// cost about half a second each. So ctest sets LIAISON_TEST_PKI_CACHE for
// binaries that never change their PKI, and the first process mints into
// <cache>/<key> under a file lock while the others wait and then only read
// it. The key hashes the script and the steps, so an edited script or
// fixture gets a fresh directory.
std::string MintShared(const std::string& cache) {
  std::string fingerprint = ReadFileOrDie(LIAISON_MINT_DEV_PKI);
  for (const auto& step : FixtureSteps()) {
    absl::StrAppend(&fingerprint, "\n", absl::StrJoin(step, " "));
  }
  const std::string root =
      absl::StrCat(cache, "/pki-", certs::HexEncode(certs::Sha256(fingerprint)).substr(0, 16));
  std::error_code ec;
  std::filesystem::create_directories(cache, ec);
  const int fd = open((root + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0 || flock(fd, LOCK_EX) != 0) Die("cannot lock " + root + ".lock");
  if (!std::filesystem::exists(root + kCompleteStamp)) {
    std::filesystem::remove_all(root, ec);  // an interrupted earlier attempt
    std::filesystem::create_directories(root);
    MintInto(root);
  }
  flock(fd, LOCK_UN);
  close(fd);
  return root;
}

const char* Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

TestPki* MintTestPki() {
  auto* pki = new TestPki;
  if (const char* parent = Env("LIAISON_TEST_PKI_ROOT")) {
    pki->root = parent;
  } else if (const char* cache = Env("LIAISON_TEST_PKI_CACHE")) {
    pki->root = MintShared(cache);
    pki->writable = false;
  } else {
    pki->root = MakeTempDir("liaison-pki");
    pki->owned = true;
    MintInto(pki->root);
  }
  pki->dir = pki->root + "/pki";
  pki->issued = pki->root + "/issued";
  pki->foreign_dir = pki->root + "/foreign";
  pki->scratch = pki->root + "/scratch";
  pki->crl_before_revocation = ReadFileOrDie(pki->root + kCrlBeforeRevocation);

  absl::StatusOr<certs::Certificate> ca = certs::Certificate::FromPemFile(pki->ca());
  if (!ca.ok()) Die(ca.status().ToString());
  pki->now = ca->not_before() + absl::Hours(24);
  return pki;
}

absl::Status RefuseIfShared(const TestPki& pki) {
  if (pki.writable) return absl::OkStatus();
  return absl::FailedPreconditionError(
      "the test PKI is shared by the processes of this ctest run (LIAISON_TEST_PKI_CACHE): a "
      "test that issues or revokes needs a PKI of its own");
}

}  // namespace

std::string TestPki::EndpointFile(absl::string_view id, absl::string_view file) const {
  return absl::StrCat(dir, "/endpoints/", id, "/", file);
}

absl::StatusOr<std::string> TestPki::Issue(absl::string_view role, absl::string_view id,
                                           absl::string_view name, absl::string_view start,
                                           absl::string_view end, absl::string_view alg) const {
  if (absl::Status s = RefuseIfShared(*this); !s.ok()) return s;
  const std::string prefix = absl::StrCat(scratch, "/", name);
  std::vector<std::string> args = {"issue", dir,     std::string(role), std::string(id),
                                   prefix,  "--alg", std::string(alg)};
  if (!start.empty()) {
    for (absl::string_view a :
         {absl::string_view("--start"), start, absl::string_view("--end"), end}) {
      args.emplace_back(a);
    }
  }
  CommandResult r = RunMintScript(args);
  if (r.exit_code != 0) return absl::InternalError(absl::StrCat("issue failed: ", r.output));
  return prefix;
}

absl::Status TestPki::Revoke(const std::string& prefix) const {
  if (absl::Status s = RefuseIfShared(*this); !s.ok()) return s;
  CommandResult r = RunMintScript({"revoke", dir, prefix + ".pem"});
  if (r.exit_code != 0) return absl::InternalError(absl::StrCat("revoke failed: ", r.output));
  return absl::OkStatus();
}

TestPki::~TestPki() {
  std::error_code ignored;
  if (owned) std::filesystem::remove_all(root, ignored);
}

const TestPki& SharedTestPki() {
  // Deleted at exit, which removes the directory it owns.
  static const std::unique_ptr<TestPki> pki(MintTestPki());
  return *pki;
}

std::string ShellQuote(absl::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) result.output.append(buf.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

CommandResult RunMintScript(const std::vector<std::string>& args) {
  std::string command = absl::StrCat("bash ", ShellQuote(LIAISON_MINT_DEV_PKI));
  for (const std::string& a : args) absl::StrAppend(&command, " ", ShellQuote(a));
  return RunCommand(command);
}

std::string MakeTempDir(absl::string_view prefix) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / absl::StrCat(prefix, "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) Die("mkdtemp failed");
  return pattern;
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die(absl::StrCat("cannot read ", path));
  std::ostringstream content;
  content << in.rdbuf();
  return std::move(content).str();
}

std::string SourcePath(absl::string_view relative) {
  return absl::StrCat(LIAISON_SOURCE_DIR, "/", relative);
}

std::unique_ptr<certs::Signer> LoadSignerOrDie(const std::string& prefix) {
  absl::StatusOr<std::unique_ptr<certs::Signer>> signer =
      certs::Signer::FromPemFiles(prefix + ".key", prefix + ".pem");
  if (!signer.ok()) Die(absl::StrCat(prefix, ".{key,pem}: ", signer.status().ToString()));
  return std::move(*signer);
}

std::shared_ptr<const certs::TrustStore> NetworkTrustOrDie() {
  const TestPki& pki = SharedTestPki();
  absl::StatusOr<std::shared_ptr<const certs::TrustStore>> trust =
      certs::TrustStore::Load(pki.ca(), pki.crl());
  if (!trust.ok()) Die(absl::StrCat(pki.ca(), ", ", pki.crl(), ": ", trust.status().ToString()));
  return *std::move(trust);
}

KeyAndCert MintCustomCertificate(const std::string& pki_dir, const CustomCertSpec& spec) {
  static std::atomic<int64_t> next_serial{0x7000};

  const std::string ca_pem = ReadFileOrDie(pki_dir + "/ca.pem");
  const std::string ca_key_pem = ReadFileOrDie(pki_dir + "/ca/ca.key");
  SslUniquePtr<BIO> ca_bio(BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())));
  SslUniquePtr<X509> ca(PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr));
  SslUniquePtr<BIO> key_bio(
      BIO_new_mem_buf(ca_key_pem.data(), static_cast<int>(ca_key_pem.size())));
  SslUniquePtr<EVP_PKEY> ca_key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (ca == nullptr || ca_key == nullptr) Die("cannot read the CA of " + pki_dir);

  SslUniquePtr<EVP_PKEY> key(
      spec.key_type == "ED25519"
          ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
          : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", spec.key_type.c_str()));
  if (key == nullptr) Die("keygen failed for " + spec.key_type);

  SslUniquePtr<X509> x(X509_new());
  X509_set_version(x.get(), X509_VERSION_3);
  ASN1_INTEGER_set_int64(X509_get_serialNumber(x.get()), next_serial++);
  X509_set_issuer_name(x.get(), X509_get_subject_name(ca.get()));
  X509_NAME* name = X509_get_subject_name(x.get());
  auto add = [&](const char* field, const std::string& value) {
    X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
  };
  add("O", "Liaison Development Network");
  if (!spec.ou.empty()) add("OU", spec.ou);
  add("CN", spec.cn);
  ASN1_TIME_set(X509_getm_notBefore(x.get()), absl::ToTimeT(spec.not_before));
  ASN1_TIME_set(X509_getm_notAfter(x.get()), absl::ToTimeT(spec.not_after));
  X509_set_pubkey(x.get(), key.get());

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.get(), x.get(), nullptr, nullptr, 0);
  auto ext = [&](int nid, const std::string& value) {
    if (value.empty()) return;
    SslUniquePtr<X509_EXTENSION> e(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
    if (e == nullptr || X509_add_ext(x.get(), e.get(), -1) != 1) Die("extension " + value);
  };
  ext(NID_basic_constraints, "critical,CA:FALSE");
  ext(NID_subject_key_identifier, "hash");
  ext(NID_authority_key_identifier, "keyid:always");
  ext(NID_key_usage, spec.key_usage);
  ext(NID_ext_key_usage, spec.extended_key_usage);
  if (X509_sign(x.get(), ca_key.get(), EVP_sha256()) <= 0) Die("X509_sign failed");

  KeyAndCert out;
  SslUniquePtr<BIO> cert_out(BIO_new(BIO_s_mem()));
  SslUniquePtr<BIO> key_out(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(cert_out.get(), x.get());
  PEM_write_bio_PrivateKey(key_out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(cert_out.get(), &data);
  out.cert_pem.assign(data, static_cast<size_t>(len));
  len = BIO_get_mem_data(key_out.get(), &data);
  out.key_pem.assign(data, static_cast<size_t>(len));
  return out;
}

}  // namespace liaison::testing
