// The liaison-broker executable as a child process, for the end-to-end
// tests of the e2e_test binary (one copy for all of them): started on the
// embedded default, or on the fixture's real Kafka for the `real.`
// registrations, and killed at the end unless stopped with Stop().
#ifndef LIAISON_TESTS_E2E_BROKER_PROCESS_H_
#define LIAISON_TESTS_E2E_BROKER_PROCESS_H_

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "certs/testing/test_pki.h"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"

namespace liaison::testing {

// The broker as a child process; Stop() sends SIGTERM like Ctrl-C.
class BrokerProcess {
 public:
  // `extra_args` go after the defaults (e.g. {"--registry", PATH}).
  explicit BrokerProcess(const std::string& state_dir, std::vector<std::string> extra_args = {})
      : state_dir_(state_dir) {
    log_ = state_dir + "/broker.log";
    if (OnRealKafka()) {      // a real Kafka: the secret is given, never created
      (void)SharedTestPki();  // minted before fork()
      std::ofstream(state_dir + "/pseudonym.key") << "e2e-test-pseudonym-secret-32-byte";
    }
    pid_ = fork();
    if (pid_ == 0) {
      FILE* out = freopen(log_.c_str(), "w", stdout);
      FILE* err = freopen(log_.c_str(), "a", stderr);
      (void)out;
      (void)err;
      std::vector<std::string> args = {LIAISON_BROKER_BIN, "--state-dir",   state_dir,
                                       "--listen",         "127.0.0.1:0",   "--admin-listen",
                                       "127.0.0.1:0",      "--http-listen", "127.0.0.1:0"};
      if (const std::string real = RealKafkaStateDir(); !real.empty()) {
        // The fixture's real cluster, as production starts a broker: the
        // network's PKI given (none is minted next to a real Kafka), the
        // mutual-TLS client properties of the cluster, a topic prefix of its
        // own (the fixture lets liaison-auditor read liaison.e2e.audit).
        args.insert(args.end(),
                    {"--kafka-state-dir", real, "--pki", SharedTestPki().dir, "--pseudonym-key",
                     state_dir + "/pseudonym.key", "--topic-prefix", "liaison.e2e"});
      }
      args.insert(args.end(), extra_args.begin(), extra_args.end());
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(LIAISON_BROKER_BIN, argv.data());
      _exit(127);
    }
  }
  ~BrokerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool WaitServing() {
    return WaitFor([&] { return std::filesystem::exists(state_dir_ + "/broker.json"); },
                   absl::Seconds(60));
  }
  // SIGTERM, then the exit status.
  int Stop() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  const std::string& log() const { return log_; }

 private:
  std::string state_dir_;
  std::string log_;
  pid_t pid_ = -1;
};

}  // namespace liaison::testing

#endif  // LIAISON_TESTS_E2E_BROKER_PROCESS_H_
