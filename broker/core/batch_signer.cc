#include "broker/core/batch_signer.h"

#include <utility>

namespace liaison::broker {

BatchSigner::BatchSigner(const Countersigner* countersigner, Options options)
    : countersigner_(countersigner), options_(options), thread_([this] { Loop(); }) {}

BatchSigner::~BatchSigner() { Stop(); }

void BatchSigner::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  // The loop signs and completes what is open before it returns.
  if (thread_.joinable()) thread_.join();
}

void BatchSigner::Submit(std::vector<std::string> leaves, Done done) {
  bool stopped = false;
  {
    absl::MutexLock lock(&mu_);
    // After Stop the loop may have returned: nothing would complete it.
    stopped = stop_;
    if (!stopped && (!leaves.empty() || !open_.empty() || signing_)) {
      if (open_.empty()) first_at_ = absl::Now();
      open_leaves_ += leaves.size();
      open_.push_back({std::move(leaves), std::move(done)});
      return;
    }
  }
  // Outside the lock.
  if (stopped) {
    done(absl::UnavailableError("the batch signer has stopped (the node is stopping)"));
    return;
  }
  // Nothing before it: complete now.
  done(std::vector<liaison::v1::BatchSigned>());
}

bool BatchSigner::Closable() const {
  // Only empty requests (waiting for the order) need no batch.
  return stop_ || open_leaves_ >= options_.max_leaves || open_leaves_ == 0 ||
         absl::Now() >= first_at_ + options_.max_delay;
}

void BatchSigner::Loop() {
  while (true) {
    std::deque<Request> batch;
    {
      absl::MutexLock lock(&mu_);
      // Sleep until something is submitted, then until the batch may close.
      auto pending = [this]()
                         ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || !open_.empty(); };
      mu_.Await(absl::Condition(&pending));
      while (!Closable()) {
        auto closable = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stop_ || open_leaves_ >= options_.max_leaves || open_leaves_ == 0;
        };
        mu_.AwaitWithDeadline(absl::Condition(&closable), first_at_ + options_.max_delay);
      }
      if (open_.empty()) return;  // stopping, nothing left
      batch.swap(open_);
      open_leaves_ = 0;
      signing_ = true;
    }
    std::vector<std::string> leaves;
    for (Request& r : batch) {
      for (std::string& leaf : r.leaves) leaves.push_back(std::move(leaf));
    }
    absl::StatusOr<std::vector<liaison::v1::BatchSigned>> signed_leaves =
        leaves.empty() ? std::vector<liaison::v1::BatchSigned>()
                       : countersigner_->SignLeaves(leaves, absl::Now());
    if (signed_leaves.ok() && !leaves.empty()) {
      ++roots_signed_;
      leaves_signed_ += static_cast<int64_t>(leaves.size());
    }
    size_t at = 0;
    for (Request& r : batch) {
      const size_t n = r.leaves.size();
      if (!signed_leaves.ok()) {
        r.done(signed_leaves.status());
      } else {
        r.done(std::vector<liaison::v1::BatchSigned>(
            std::make_move_iterator(signed_leaves->begin() + static_cast<long>(at)),
            std::make_move_iterator(signed_leaves->begin() + static_cast<long>(at + n))));
      }
      at += n;
    }
    absl::MutexLock lock(&mu_);
    signing_ = false;
  }
}

}  // namespace liaison::broker
