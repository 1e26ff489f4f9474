// Held and delayed deliveries (docs/rules.md "How the chain decides": HOLD and DELAY). Every node
// mirrors `liaison.holds` but keeps only each hold's metadata and the
// position of its record: senders decide how much is held, so the content
// stays in Kafka and is read back when the hold is worked. The node that owns
// a hold's ingress partition in the policy stage works it:
//  - a consent, approval or refusal covering the message → re-evaluate the
//    whole chain: released (delivered, sender told RELEASED), rejected, or
//    still waiting;
//  - the hold's timeout (72 h, 2 h when URGENT) passes → reject: audit
//    entry and NON_DELIVERY notice to the sender;
//  - a delay's not_before passes → re-evaluate and deliver.
// The same ticker sends ERASE notices to every recipient of a delivered
// message once its erase_by passes (DP-RET-02), audited as erasures.
// Time is the broker's policy clock, so tests move it instead of sleeping.
#ifndef LIAISON_BROKER_STAGE_HOLD_BOOK_H_
#define LIAISON_BROKER_STAGE_HOLD_BOOK_H_

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "broker/core/clock.h"
#include "broker/core/topics.h"
#include "broker/stage/hold_resolver.h"
#include "broker/state/state_indexes.h"
#include "broker/state/topic_mirror.h"
#include "connectors/kafka/client_config.h"
#include "connectors/kafka/producer.h"
#include "connectors/kafka/reader.h"
#include "liaison/v1/broker_state.pb.h"

namespace liaison::broker {

struct HoldBookDeps {
  kafka::ClientConfig kafka;
  Topics topics;
  // The policy stage, seen only through what the book needs of it.
  HoldResolver* stage = nullptr;
  SourceBook* sources = nullptr;  // for the erasure sweep
  kafka::Producer* producer = nullptr;
  const Clock* clock = nullptr;
  std::string broker_id;
  absl::Duration tick = absl::Milliseconds(200);
  // false: the book starts no Kafka client of its own to follow
  // `liaison.holds`; the node's state mirror hands it every record through
  // ApplyRecord and has read the topic to its end before Start (one client
  // fewer per node).
  bool own_mirror = true;
};

class HoldBook {
 public:
  explicit HoldBook(HoldBookDeps deps);
  ~HoldBook();

  // Reads the holds topic, then works holds until Stop.
  absl::Status Start(absl::Duration catch_up_timeout);
  void Stop();

  // A record of `liaison.holds`, from the mirror that follows the topic for
  // this book (own_mirror false); any thread, also before Start.
  void ApplyRecord(const kafka::Record& record) ABSL_LOCKS_EXCLUDED(mu_) { Apply(record); }

  // A hold this node just created (before the mirror shows it).
  void Add(const liaison::v1::HeldDelivery& held) ABSL_LOCKS_EXCLUDED(mu_);
  // A consent was recorded: re-evaluate the holds it covers.
  void OnConsent(const liaison::v1::ConsentGrant& grant) ABSL_LOCKS_EXCLUDED(mu_);

  // Metadata of the pending holds (no content), for operators.
  struct Pending {
    std::string hold_id;
    std::string message_id;
    std::string sender;
    std::string recipient;
    liaison::v1::Outcome outcome;
    std::vector<std::string> awaiting;  // "DE-BKA (CONSENT_KIND_PROVIDER, DP-HC-03)"
    absl::Time created_at;
    absl::Time due;  // hold timeout or delay end
  };
  std::vector<Pending> List() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);
  // Bytes of held content in this node's memory (holds written here whose
  // record the mirror has not read back yet); the rest is in Kafka.
  size_t content_bytes() const ABSL_LOCKS_EXCLUDED(mu_);

  // Works due holds now (tests call it after moving the clock).
  void TickForTest() { Tick(); }

 private:
  // What the book keeps of a hold: its metadata (the HeldDelivery without
  // its ingress record, i.e. without content) and where `liaison.holds` has
  // the whole record. The content is read back from Kafka when the hold is
  // worked; it is kept in memory only between this node writing a hold and
  // its mirror reading that record back (milliseconds).
  struct Entry {
    liaison::v1::HeldDelivery held;  // ingress cleared
    std::string content;             // the record's bytes, until the mirror has it
    int32_t partition = -1;          // of liaison.holds; -1 until the mirror has it
    int64_t offset = -1;
    size_t record_hash = 0;  // of the record at partition/offset
    bool recheck = false;
    bool busy = false;
  };
  // A hold to work: its content in hand, or where to read it.
  struct DueHold {
    liaison::v1::HeldDelivery meta;
    std::string content;
    int32_t partition = -1;
    int64_t offset = -1;
  };
  void Apply(const kafka::Record& record) ABSL_LOCKS_EXCLUDED(mu_);
  void Loop();
  void Tick() ABSL_LOCKS_EXCLUDED(mu_);
  // The whole HeldDelivery of a due hold, from memory, or from what Kafka
  // answered for its position; nullopt when it cannot be had now (then the
  // hold was finished, or is retried on a later tick).
  std::optional<liaison::v1::HeldDelivery> FromMemory(const DueHold& due);
  std::optional<liaison::v1::HeldDelivery> FromKafka(const DueHold& due,
                                                     absl::StatusOr<kafka::Record> record,
                                                     absl::Time now);
  // Content Kafka no longer has: the sender is told, the hold ends.
  void Lost(const DueHold& due, const absl::Status& why, absl::Time now);
  void Work(liaison::v1::HeldDelivery held, absl::Time now);
  void Finish(const std::string& hold_id, bool remove) ABSL_LOCKS_EXCLUDED(mu_);
  void Tombstone(const std::string& hold_id);
  void SweepErasures(absl::Time now, const std::vector<int32_t>& owned) ABSL_LOCKS_EXCLUDED(mu_);

  const HoldBookDeps deps_;
  std::unique_ptr<TopicMirror> mirror_;
  absl::Mutex reader_mu_;
  std::unique_ptr<kafka::RecordReader> reader_ ABSL_GUARDED_BY(reader_mu_);
  absl::Time last_read_ ABSL_GUARDED_BY(reader_mu_);
  std::atomic<bool> stop_{false};
  std::thread thread_;

  mutable absl::Mutex mu_;
  std::map<std::string, Entry> holds_ ABSL_GUARDED_BY(mu_);
  // Holds finished here whose tombstone the mirror may not have seen yet.
  absl::flat_hash_set<std::string> finished_ ABSL_GUARDED_BY(mu_);
  // Message ids whose ERASE notices are being written.
  absl::flat_hash_set<std::string> erasing_ ABSL_GUARDED_BY(mu_);
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_STAGE_HOLD_BOOK_H_
