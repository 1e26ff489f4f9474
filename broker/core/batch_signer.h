// Signs the policy stage's statements in batches: one broker signature over
// the Merkle root of every statement submitted while the previous batch was
// being signed or within `max_delay` of the first one, instead of one per
// statement (Countersigner::SignLeaves, certs/batch_root.h). A batch closes
// when it holds `max_leaves` leaves or its first leaf has waited
// `max_delay` (at most 2 ms), so a lone statement at a low rate waits at
// most that long, and under load a batch holds whatever arrived while the
// previous one was signed.
#ifndef LIAISON_BROKER_CORE_BATCH_SIGNER_H_
#define LIAISON_BROKER_CORE_BATCH_SIGNER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/core/countersigner.h"
#include "liaison/v1/envelope.pb.h"

namespace liaison::broker {

class BatchSigner {
 public:
  struct Options {
    size_t max_leaves = 512;
    absl::Duration max_delay = absl::Milliseconds(2);
  };
  using Done = std::function<void(absl::StatusOr<std::vector<liaison::v1::BatchSigned>>)>;

  // `countersigner` is not owned and must outlive this. Starts the signing
  // thread.
  BatchSigner(const Countersigner* countersigner, Options options);
  // Stop(), if not done yet.
  ~BatchSigner();
  // Signs what was submitted so far, completes it, then stops the thread.
  // A request submitted after that completes at once, Unavailable: the
  // policy stage's last writes may still be acknowledged by Kafka while the
  // node stops (its producer flushes after the stage stopped), and their
  // continuations submit here. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // Adds `leaves` (serialised statements, Countersigner::Leaf) to the open
  // batch as one request; all of a request's leaves go into one batch.
  // `done` runs on the signing thread with one BatchSigned per leaf, in
  // order; requests complete in the order they were submitted (so records
  // produced from `done` keep their order). An empty request completes at
  // once when nothing is open or being signed, else right after the
  // requests before it. After Stop: at once, on the caller's thread, with
  // UNAVAILABLE. Thread-safe.
  void Submit(std::vector<std::string> leaves, Done done) ABSL_LOCKS_EXCLUDED(mu_);

  // Roots signed and leaves covered so far.
  int64_t roots_signed() const { return roots_signed_.load(); }
  int64_t leaves_signed() const { return leaves_signed_.load(); }

 private:
  struct Request {
    std::vector<std::string> leaves;
    Done done;
  };
  void Loop();
  bool Closable() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Countersigner* const countersigner_;
  const Options options_;
  absl::Mutex mu_;
  std::deque<Request> open_ ABSL_GUARDED_BY(mu_);
  size_t open_leaves_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time first_at_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool signing_ ABSL_GUARDED_BY(mu_) = false;  // a closed batch's requests not yet completed
  std::atomic<int64_t> roots_signed_{0};
  std::atomic<int64_t> leaves_signed_{0};
  std::thread thread_;
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_CORE_BATCH_SIGNER_H_
