// One Kafka consumer shared by every Subscribe stream of a node
// (BrokerConfig::shared_delivery), instead of one consumer per stream.
//
// The consumer is a member of the one group `liaison-deliver` and
// subscribes to the delivery topics of the endpoints that have a stream on
// this node; the group balances each topic's partitions between the nodes
// subscribed to it (cooperative rebalancing: a stream opening or closing
// moves only that topic's partitions, the node's other streams read on).
// Offsets are committed per partition of each endpoint's topic, so they stay
// per endpoint: a stream that fails over to another node starts where the
// acknowledged items end, as with a group per endpoint.
//
// On the node, each partition of an endpoint's topic is read by one of its
// streams (the one with the fewest partitions when it came); another stream
// of the endpoint on the node stands by and takes over the partitions when
// that one ends, from the first item not acknowledged.
//
// When an endpoint's last stream on the node ends, the node keeps reading
// nothing of its partitions but keeps them a while (DeliveryHubOptions::
// linger) for the endpoint's next stream.
//
// Flow control: a partition whose stream has no room in its window (or no
// stream) is paused; what was fetched of it is dropped and read again, from
// the first record not handed to the stream, once there is room.
//
// Guarantees as for a stream with its own consumer (subscription.h): an
// offset is committed only when every item before it is acknowledged and
// durable; a stream that ends is committed synchronously before its
// partitions go to anyone else.
#ifndef LIAISON_BROKER_DELIVERY_DELIVERY_HUB_H_
#define LIAISON_BROKER_DELIVERY_DELIVERY_HUB_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/core/observer.h"
#include "broker/core/topics.h"
#include "connectors/kafka/consumer.h"

namespace liaison::broker {

class Subscription;

struct DeliveryHubOptions {
  kafka::ClientConfig kafka;
  Topics topics;  // Topics::DeliverGroup gives the shared group
  int session_timeout_ms = 10000;
  int heartbeat_interval_ms = 1000;
  // The first streams to come are gathered this long before the consumer
  // joins the group with all their topics (one rebalance, not one each).
  absl::Duration gather = absl::Milliseconds(50);
  // When an endpoint's last stream on the node ends, the node keeps its
  // partitions (paused, committed) this long for the endpoint's next stream,
  // which then reads at once, with no rebalance (a client reconnecting, a
  // command run again). Given up earlier when Kafka moves one of them to
  // another node (a stream of the endpoint opened there).
  absl::Duration linger = absl::Seconds(30);
  // How often the streams' progress is committed.
  absl::Duration commit_interval = absl::Milliseconds(100);
  // How long the hub waits for records before it looks at windows,
  // commits and streams coming and going again.
  absl::Duration poll_wait = absl::Milliseconds(20);
  // A stream that ended waits this long for its acknowledgements to become
  // durable before its final commit.
  absl::Duration settle_timeout = absl::Seconds(10);
  Observer* observer = nullptr;  // may be null
};

class DeliveryHub {
 public:
  explicit DeliveryHub(DeliveryHubOptions options);
  ~DeliveryHub();  // Shutdown()

  // Called by Subscription::Start. The hub reads for the stream until the
  // stream is stopped; it then makes the final commit and calls Finish.
  void Attach(std::shared_ptr<Subscription> stream) ABSL_LOCKS_EXCLUDED(mu_);
  // Streams stopped are committed and finished (each waits for its
  // acknowledgements, up to settle_timeout), then the consumer leaves the
  // group. Streams still running are ended UNAVAILABLE first.
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  using Key = std::pair<std::string, int32_t>;  // topic, partition
  struct Owned {
    std::shared_ptr<Subscription> stream;  // null: no stream on this node now
    // >= 0: paused; no record from this offset on was handed to the stream;
    // read again from here once the stream has room.
    int64_t held_from = -1;
  };
  void Loop();
  // Streams that came: those of an endpoint the consumer reads already are
  // ready at once (HandOut gives them partitions).
  void Adopt(std::vector<std::shared_ptr<Subscription>> came);
  // The one place partitions go to streams: each partition the node owns
  // with no stream reading it goes to the stream of its endpoint on the node
  // with the fewest (newly assigned ones, those a stream that ended
  // released, those kept while the endpoint had none), whatever the order in
  // which streams, lingering and rebalances came.
  void HandOut();
  // Streams stopped whose acknowledgements are durable (or whose wait ran
  // out): committed, their partitions handed on (or kept, lingering).
  void Retire(bool shutting_down);
  // The consumer's topics: the endpoints with a stream, and those lingering.
  bool EnsureConsumer();
  void Resubscribe();
  void EndAll(const absl::Status& status);
  void CommitAll(bool sync);
  void ResumeWhereRoom();
  void Hold(const Key& key, Owned& owned, int64_t from);
  std::shared_ptr<Subscription> LeastLoaded(const std::string& endpoint) const;
  void OnAssigned(const kafka::TopicPartition& tp);
  void OnRevoked(const kafka::TopicPartition& tp);
  void Dispatch(kafka::Record record);
  std::string EndpointOf(const std::string& topic) const;

  const DeliveryHubOptions options_;

  mutable absl::Mutex mu_;
  std::vector<std::shared_ptr<Subscription>> arriving_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;

  // The hub thread's own.
  std::unique_ptr<kafka::Consumer> consumer_;
  std::map<std::string, std::vector<std::shared_ptr<Subscription>>> endpoints_;
  std::map<const Subscription*, absl::Time> stopping_since_;
  std::map<Key, Owned> owned_;
  std::set<std::string> subscribed_;             // endpoints whose topic the consumer subscribes to
  std::map<std::string, absl::Time> lingering_;  // endpoint -> kept until (options_.linger)
  absl::Time last_commit_;
  bool closing_ = false;

  std::thread thread_;
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_DELIVERY_DELIVERY_HUB_H_
