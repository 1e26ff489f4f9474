// One Subscribe stream: reads the endpoint's delivery topic and pushes items
// to the stream with a window of unacknowledged items. Either with its own
// consumer in the group `liaison-deliver.<endpoint>`, or fed by the node's
// DeliveryHub (delivery_hub.h), one consumer shared by every stream of the
// node, in the group `liaison-deliver` (BrokerConfig::shared_delivery).
//
// Guarantees:
//  - an offset is committed only after the endpoint acknowledged every item
//    up to it AND the acknowledgement record and the sender's receipt are
//    durable in Kafka; unacknowledged items come again after a reconnect;
//  - acknowledgements are made durable in batches: those taken while the
//    previous batch is being written, or within `ack_linger` of the first
//    when none is, go together, as one signed event to the policy stage
//    (IngressEvent.receipts, at most kMaxReceiptsPerEvent) and one record of
//    acknowledged items;
//  - a record grouping several items (DeliveryItem.grouped: a receipt batch)
//    is streamed item by item; its offset is done when all are;
//  - duplicates (a replayed copy of an item) are dropped by item id, i.e. by
//    (message id, recipient): within the stream, and across streams and
//    nodes through the acknowledged-items registry;
//  - if Kafka deleted items before they were delivered, the loss is logged
//    loudly, the recipient gets a GAP notice and every sender concerned a
//    LOST notice naming the message ids. Never a silent skip.
#ifndef LIAISON_BROKER_DELIVERY_SUBSCRIPTION_H_
#define LIAISON_BROKER_DELIVERY_SUBSCRIPTION_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "broker/core/clock.h"
#include "broker/core/countersigner.h"
#include "broker/core/observer.h"
#include "broker/core/topics.h"
#include "broker/core/worker_pool.h"
#include "broker/state/acked_items.h"
#include "connectors/kafka/consumer.h"
#include "connectors/kafka/producer.h"
#include "liaison/v1/exchange.pb.h"

namespace liaison::broker {

class DeliveryHub;

// Per-endpoint delivery figures, shared by all streams of the endpoint.
struct EndpointDeliveryStats {
  std::atomic<int64_t> subscribers{0};
  std::atomic<int64_t> in_flight{0};  // pushed, not yet acknowledged
  std::atomic<int64_t> delivered{0};  // pushed (including redeliveries)
  std::atomic<int64_t> acknowledged{0};
  std::atomic<int64_t> duplicates_dropped{0};
  std::atomic<int64_t> lost{0};
  std::atomic<int64_t> expired{0};
  std::atomic<int64_t> last_seen_unix_ms{0};
};

// The gRPC side of a subscription. Implementations never block.
class SubscriptionSink {
 public:
  virtual ~SubscriptionSink() = default;
  virtual void Push(liaison::v1::SubscribeResponse response) = 0;
  // Ends the stream with `status` (after pending writes).
  virtual void End(absl::Status status) = 0;
};

struct SubscriptionDeps {
  kafka::ClientConfig kafka;
  Topics topics;
  kafka::Producer* producer = nullptr;
  AckedItems* acked = nullptr;
  WorkerPool* pool = nullptr;
  int session_timeout_ms = 10000;
  // Acknowledgements gather this long before a batch is written when none is
  // being written (BrokerConfig::ack_linger); zero: written at once.
  absl::Duration ack_linger = absl::ZeroDuration();
  EndpointDeliveryStats* stats = nullptr;
  // Policy time: an item past its erase_by is not delivered (DP-RET-02).
  const Clock* clock = nullptr;
  Observer* observer = nullptr;  // may be null
  // Signs the events handed to the policy stage (receipts, expiries, loss
  // notices) with this node's broker key: the stage refuses unsigned ones.
  const Countersigner* countersigner = nullptr;
  // Set: the stream is fed by this hub (the node's shared consumer) instead
  // of reading with a consumer of its own.
  DeliveryHub* hub = nullptr;
};

// Always owned by a shared_ptr: pending Kafka callbacks keep it alive.
class Subscription : public std::enable_shared_from_this<Subscription> {
 public:
  static constexpr uint32_t kDefaultWindow = 256;
  static constexpr uint32_t kMaxWindow = 10000;

  Subscription(std::string endpoint, uint32_t window, SubscriptionDeps deps,
               SubscriptionSink* sink);
  ~Subscription();  // Stop() + join

  void Start();
  // Called by the stream's reader. Ids not in flight (already acknowledged,
  // or from partitions this stream no longer owns) are ignored.
  void Ack(const std::vector<std::string>& item_ids) ABSL_LOCKS_EXCLUDED(mu_);
  // After Stop returns the sink is never called again. The Kafka consumer
  // is closed on the subscription's own thread.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);
  bool Finished() const { return finished_.load(); }
  const std::string& endpoint() const { return endpoint_; }

  // For the DeliveryHub, which reads for the stream and calls these on its
  // own thread (the stream's own consumer loop calls them too).
  // Unacknowledged items the window still has room for.
  size_t Room() const ABSL_LOCKS_EXCLUDED(mu_);
  bool Stopping() const ABSL_LOCKS_EXCLUDED(mu_);
  // No acknowledgement is being made durable (the final commit may cover
  // every acknowledgement taken).
  bool Settled() const ABSL_LOCKS_EXCLUDED(mu_);
  // The stream now reads / no longer reads these partitions of its topic.
  // The first Assigned tells the client the stream is ready (with none: it
  // stands by while another stream of the endpoint on the node reads them).
  void Assigned(const std::vector<int32_t>& partitions) ABSL_LOCKS_EXCLUDED(mu_);
  void Revoked(const std::vector<int32_t>& partitions) ABSL_LOCKS_EXCLUDED(mu_);
  // A record of the topic, in offset order per partition.
  void Deliver(kafka::Record record) { Process(std::move(record)); }
  // Kafka deleted [gap.from, gap.to) before it was delivered: counted and
  // logged now, the notices (which look the items up in the delivery index)
  // made on the worker pool.
  void Lost(const kafka::Gap& gap);
  // Where the partition's next reader must start: the first offset not done
  // (-1: the stream read nothing of it).
  int64_t ResumeOffset(int32_t partition) const ABSL_LOCKS_EXCLUDED(mu_);
  // Offsets done since the last call, to commit.
  std::vector<kafka::Consumer::CommitOffset> CommitsDue() ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the client's stream with `status` (nothing once stopped).
  void EndStream(absl::Status status) ABSL_LOCKS_EXCLUDED(mu_);
  // The hub is done with the stream (its final commit made).
  void Finish() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct InFlight {
    int32_t partition = 0;
    std::vector<int64_t> offsets;  // several when a replayed copy arrived too
    std::string message_id;
    // For a delivery: the receipt to write once acknowledged.
    bool is_delivery = false;
    liaison::v1::Receipt receipt;
    absl::Time accepted_at;
  };
  struct Progress {
    // Read, not yet done: offset -> items of it not yet done (a grouped
    // record has several).
    std::map<int64_t, int> outstanding;
    int64_t next = -1;  // highest offset read + 1
    int64_t committed = -1;
  };

  void Loop();
  void Process(kafka::Record record) ABSL_LOCKS_EXCLUDED(mu_);
  // One item of the record at (partition, offset).
  void ProcessItem(liaison::v1::DeliveryItem item, Progress& progress, int32_t partition,
                   int64_t offset) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HandleGap(const kafka::Gap& gap);
  // HandleGap's two steps: counted, logged and skipped in the progress; the
  // notices to the recipient and the senders.
  void RecordGap(const kafka::Gap& gap) ABSL_LOCKS_EXCLUDED(mu_);
  void GapNotices(const kafka::Gap& gap);
  // Hands an event to the policy stage through liaison.ingress (only the
  // policy stage writes delivery topics and audit chains).
  void ToPolicyStage(liaison::v1::IngressEvent event, const std::string& key,
                     std::function<void(absl::Status)> done);
  void Expire(const liaison::v1::DeliveryItem& item, const liaison::v1::Attestation& a,
              int32_t partition, int64_t offset);
  // Makes a batch of acknowledgements durable (on the worker pool), then
  // starts the next batch if any was queued meanwhile.
  void Finalise(std::vector<std::pair<std::string, InFlight>> batch);
  // After the linger: writes what gathered.
  void FlushAcks() ABSL_LOCKS_EXCLUDED(mu_);
  // The next batch of queued acknowledgements (empty: none; then no batch
  // is being written).
  std::vector<std::pair<std::string, InFlight>> TakeAcksLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MarkDone(int32_t partition, const std::vector<int64_t>& offsets) ABSL_LOCKS_EXCLUDED(mu_);
  // One acknowledgement's writes all answered: its offsets are done when
  // `durable`; in one step with the count the final commit waits on.
  void Finalised(const std::vector<std::pair<std::string, InFlight>>& batch, bool durable)
      ABSL_LOCKS_EXCLUDED(mu_);
  void MarkDoneLocked(int32_t partition, const std::vector<int64_t>& offsets)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Push(liaison::v1::SubscribeResponse response) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string endpoint_;
  const uint32_t window_;
  const SubscriptionDeps deps_;

  mutable absl::Mutex mu_;
  SubscriptionSink* sink_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool ready_sent_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, InFlight> in_flight_ ABSL_GUARDED_BY(mu_);
  std::map<int32_t, Progress> progress_ ABSL_GUARDED_BY(mu_);
  // Acknowledgements handed to Finalise whose writes have not all answered
  // yet; the final commit waits for them (see Loop).
  int finalising_ ABSL_GUARDED_BY(mu_) = 0;
  // Acknowledged, waiting for the batch being written (or the linger) to
  // finish; acks_writing_: a batch is being written or a flush is due.
  std::vector<std::pair<std::string, InFlight>> acks_queued_ ABSL_GUARDED_BY(mu_);
  bool acks_writing_ ABSL_GUARDED_BY(mu_) = false;

  std::atomic<bool> finished_{false};
  std::thread thread_;
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_DELIVERY_SUBSCRIPTION_H_
