#include "broker/core/record_batcher.h"

#include <utility>

namespace liaison::broker {
namespace {

void AppendVarint(std::string& out, uint64_t n) {
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

}  // namespace

RecordBatcher::RecordBatcher(kafka::Producer* producer, Options options)
    : producer_(producer), options_(std::move(options)) {}

std::string RecordBatcher::Encode(int field_number, const std::vector<std::string>& entries) {
  size_t size = 0;
  for (const std::string& e : entries) size += e.size() + 8;
  std::string out;
  out.reserve(size);
  for (const std::string& e : entries) {
    AppendVarint(out, (static_cast<uint64_t>(field_number) << 3) | 2);  // length-delimited
    AppendVarint(out, e.size());
    out.append(e);
  }
  return out;
}

void RecordBatcher::Add(std::string key, std::vector<std::string> entries,
                        std::function<void(absl::Status)> done) {
  size_t bytes = 0;
  for (const std::string& e : entries) bytes += e.size();
  std::vector<Pending> batch;
  {
    absl::MutexLock lock(&mu_);
    queued_.push_back({std::move(key), std::move(entries), bytes, std::move(done)});
    if (in_flight_) return;  // goes out when the write in flight is answered
    batch = TakeLocked();
  }
  Write(std::move(batch));
}

std::vector<RecordBatcher::Pending> RecordBatcher::TakeLocked() {
  std::vector<Pending> batch;
  size_t bytes = 0;
  size_t count = 0;
  size_t taken = 0;
  while (taken < queued_.size() &&
         (batch.empty() || (count + queued_[taken].entries.size() <= options_.max_entries &&
                            bytes + queued_[taken].bytes <= options_.max_bytes))) {
    bytes += queued_[taken].bytes;
    count += queued_[taken].entries.size();
    batch.push_back(std::move(queued_[taken]));
    ++taken;
  }
  queued_.erase(queued_.begin(), queued_.begin() + static_cast<std::ptrdiff_t>(taken));
  in_flight_ = !batch.empty();
  return batch;
}

void RecordBatcher::Write(std::vector<Pending> batch) {
  std::vector<std::string> entries;
  for (Pending& p : batch) {
    for (std::string& e : p.entries) entries.push_back(std::move(e));
  }
  std::string key = batch.front().key;
  ++records_;
  entries_ += static_cast<int64_t>(entries.size());
  auto dones = std::make_shared<std::vector<std::function<void(absl::Status)>>>();
  dones->reserve(batch.size());
  for (Pending& p : batch) dones->push_back(std::move(p.done));
  producer_->Produce(options_.topic, std::move(key), Encode(options_.field_number, entries),
                     [this, dones](const kafka::DeliveryReport& report) {
                       // The next group is taken before the callers are told:
                       // once the last of them is, the owner may destroy this
                       // batcher, and nothing of it is touched after that
                       // unless entries are still queued (their callers wait).
                       std::vector<Pending> next;
                       {
                         absl::MutexLock lock(&mu_);
                         next = TakeLocked();
                       }
                       for (auto& done : *dones) {
                         if (done) done(report.status);
                       }
                       if (!next.empty()) Write(std::move(next));
                     });
}

}  // namespace liaison::broker
