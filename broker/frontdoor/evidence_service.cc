#include "broker/frontdoor/evidence_service.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "base/proto_time.h"
#include "base/status_macros.h"
#include "certs/key_wrap.h"
#include "connectors/kafka/reader.h"

namespace liaison::broker {
namespace {

using liaison::v1::DownloadRequest;
using liaison::v1::DownloadResponse;
using liaison::v1::EvidenceItemRecord;
using liaison::v1::EvidenceKeyRecord;
using liaison::v1::UploadRequest;
using liaison::v1::UploadResult;
using liaison::v1::UploadStart;

constexpr char kUploadMethod[] = "liaison.v1.Evidence/Upload";
constexpr char kDownloadMethod[] = "liaison.v1.Evidence/Download";
constexpr char kListMethod[] = "liaison.v1.Evidence/List";
constexpr int64_t kMaxRecord = static_cast<int64_t>(certs::kEvidenceMaxRecordBytes);
constexpr int64_t kTag = static_cast<int64_t>(certs::kEvidenceTagBytes);

std::string Item(absl::string_view id) { return absl::StrCat("evidence item '", id, "'"); }
std::string Chunk(absl::string_view id, int64_t index) {
  return absl::StrCat(Item(id), " chunk ", index);
}
std::string Hex(absl::string_view bytes) { return absl::BytesToHexString(bytes); }
std::string Time(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

std::array<char, certs::kEvidenceTagBytes> TagOf(const std::string& record) {
  std::array<char, certs::kEvidenceTagBytes> tag{};
  std::memcpy(tag.data(), record.data() + record.size() - kTag, kTag);
  return tag;
}

liaison::v1::EvidenceRef RefOf(const EvidenceItemRecord& item) {
  liaison::v1::EvidenceRef ref;
  ref.set_item_id(item.item_id());
  ref.set_jit_id(item.jit_id());
  ref.set_ciphertext_sha256(item.ciphertext_sha256());
  return ref;
}

// A custody event about `item` (members: who it concerns).
liaison::v1::EvidenceEvent CustodyEvent(liaison::v1::EvidenceEvent::Type type,
                                        const EvidenceItemRecord& item) {
  liaison::v1::EvidenceEvent event;
  event.set_type(type);
  *event.mutable_item() = RefOf(item);
  event.set_uploader(item.uploader());
  event.set_chunk_count(item.chunk_count());
  event.set_ciphertext_size(item.ciphertext_size());
  return event;
}

bool SameDeclaration(const UploadStart& a, const UploadStart& b) {
  return a.jit_id() == b.jit_id() && a.ciphertext_sha256() == b.ciphertext_sha256() &&
         a.chunk_count() == b.chunk_count() && a.ciphertext_size() == b.ciphertext_size();
}

}  // namespace

absl::Status CheckUploadStart(const UploadStart& start, const std::string& peer,
                              const policy::Registry& registry, absl::Time now,
                              int64_t max_item_bytes) {
  if (absl::Status s = CheckEvidenceItemId(start.item_id(), "start.item_id"); !s.ok()) return s;
  const std::string item = Item(start.item_id());
  if (start.ciphertext_sha256().size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat(item, ": start.ciphertext_sha256 is ",
                                                   start.ciphertext_sha256().size(),
                                                   " bytes, expected 32"));
  }
  const int64_t n = start.chunk_count();
  // Every chunk but the last holds 1 MiB + 16 bytes; the last 16 .. 1 MiB + 16.
  if (n < 1 || n > (int64_t{1} << 40) / kMaxRecord) {
    return absl::InvalidArgumentError(
        absl::StrCat(item, ": start.chunk_count ", n, " is not a chunk count (1 or more)"));
  }
  const int64_t lo = (n - 1) * kMaxRecord + kTag;
  const int64_t hi = n * kMaxRecord;
  if (start.ciphertext_size() < lo || start.ciphertext_size() > hi) {
    return absl::InvalidArgumentError(absl::StrCat(item, ": start.ciphertext_size ",
                                                   start.ciphertext_size(), " cannot be ", n,
                                                   " chunk records (", lo, " to ", hi, " bytes)"));
  }
  if (max_item_bytes > 0 && start.ciphertext_size() > max_item_bytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        item, ": ", start.ciphertext_size(), " ciphertext bytes exceed this broker's limit of ",
        max_item_bytes,
        " bytes per item (the embedded Kafka mock keeps about 5 MiB per partition and would "
        "lose larger items; use real Kafka)"));
  }
  const liaison::v1::Jit* jit = registry.FindJit(start.jit_id());
  if (jit == nullptr) {
    return absl::NotFoundError(
        absl::StrCat(item, ": JIT '", start.jit_id(), "' is not in the registry"));
  }
  if (!policy::Registry::IsMember(*jit, peer)) {
    return absl::PermissionDeniedError(
        absl::StrCat(item, ": sender ", peer, " is not a member of JIT ", jit->id()));
  }
  if (!policy::Registry::IsValidAt(*jit, now)) {
    return absl::FailedPreconditionError(
        absl::StrCat(item, ": JIT ", jit->id(), " is not valid at ", Time(now), " (from ",
                     Time(FromProto(jit->start())), " until ", Time(FromProto(jit->end())), ")"));
  }
  if (start.wrapped_keys().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(item, ": start.wrapped_keys is empty (one per recipient member)"));
  }
  absl::flat_hash_set<std::string> recipients;
  for (int i = 0; i < start.wrapped_keys_size(); ++i) {
    const std::string field = absl::StrCat("start.wrapped_keys[", i, "]");
    absl::StatusOr<certs::WrappedKeyHeader> header = certs::ParseWrappedKey(start.wrapped_keys(i));
    if (!header.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(item, ": ", field, ": ", header.status().message()));
    }
    if (header->item_id != start.item_id()) {
      return absl::InvalidArgumentError(
          absl::StrCat(item, ": ", field, " is wrapped for item '", header->item_id, "'"));
    }
    if (!policy::Registry::IsMember(*jit, header->recipient_id)) {
      return absl::PermissionDeniedError(absl::StrCat(item, ": ", field, " is wrapped for ",
                                                      header->recipient_id,
                                                      ", not a member of JIT ", jit->id()));
    }
    if (!recipients.insert(header->recipient_id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(item, ": ", field, ": a second key for ", header->recipient_id));
    }
  }
  return absl::OkStatus();
}

EvidenceService::EvidenceService(EvidenceServiceDeps deps) : deps_(std::move(deps)) {}

EvidenceService::~EvidenceService() {
  absl::MutexLock lock(&read_backs_->mu);
  read_backs_->mu.Await(absl::Condition(
      +[](int* running) { return *running == 0; }, &read_backs_->running));
}

bool EvidenceService::HasSession(const std::string& item_id) {
  absl::MutexLock lock(&mu_);
  return sessions_.contains(item_id);
}

void EvidenceService::ReadBackThenAcquire(
    UploadStart start, std::string peer,
    std::function<void(absl::StatusOr<std::shared_ptr<UploadSession>>)> done) {
  bool full;
  {
    absl::MutexLock lock(&read_backs_->mu);
    full = read_backs_->running >= kMaxEvidenceReadBacks;
    if (!full) ++read_backs_->running;
  }
  if (full) {
    done(absl::UnavailableError(absl::StrCat(
        Item(start.item_id()), ": this node is reading ", kMaxEvidenceReadBacks,
        " other resumed uploads back from Kafka (at most that many at once); resume again in a "
        "moment")));
    return;
  }
  // Within the upload's age, by Kafka's record timestamps (wall time).
  const absl::Time since = absl::Now() - deps_.upload_max_age;
  std::thread([this, read_backs = read_backs_, start = std::move(start), peer = std::move(peer),
               since, done = std::move(done)] {
    const absl::Time t0 = absl::Now();
    const int32_t partition = deps_.chunk_partition(start.item_id());
    absl::StatusOr<ReadBackUpload> found =
        ReadBackUploadFromKafka(deps_.kafka, deps_.topics.EvidenceChunks(), partition, start, peer,
                                since, kEvidenceReadBackTimeout);
    absl::StatusOr<std::shared_ptr<UploadSession>> session;
    if (found.ok()) {
      log::Info("evidence.upload_read_back", {{"item_id", start.item_id()},
                                              {"uploader", peer},
                                              {"partition", partition},
                                              {"durable_chunks", found->chunks},
                                              {"records_read", found->records_read},
                                              {"passed_over", found->passed_over},
                                              {"ms", absl::ToInt64Milliseconds(absl::Now() - t0)}});
      session = Acquire(start, peer, &*found);
    } else {
      log::Warning("evidence.upload_read_back_failed",
                   {{"item_id", start.item_id()}, {"error", found.status().ToString()}});
      session = found.status();
    }
    done(std::move(session));
    absl::MutexLock lock(&read_backs->mu);
    --read_backs->running;
  }).detach();
}

absl::StatusOr<std::shared_ptr<UploadSession>> EvidenceService::Acquire(const UploadStart& start,
                                                                        const std::string& peer,
                                                                        ReadBackUpload* read_back) {
  const absl::Time now = deps_.clock->Now();
  absl::MutexLock lock(&mu_);
  // Abandoned uploads are forgotten: their chunks stay in Kafka unreferenced
  // (gone with retention), and the sender starts again from chunk 0.
  absl::erase_if(sessions_, [&](const auto& entry) {
    const UploadSession& s = *entry.second;
    const bool abandoned = !s.busy && now - s.touched >= kEvidenceUploadIdle;
    if (abandoned) {
      log::Info("evidence.upload_forgotten", {{"item_id", entry.first},
                                              {"uploader", s.uploader},
                                              {"durable_chunks", s.durable},
                                              {"idle_s", absl::ToInt64Seconds(now - s.touched)}});
    }
    return abandoned;
  });
  auto it = sessions_.find(start.item_id());
  if (it == sessions_.end()) {
    if (sessions_.size() >= kMaxOpenEvidenceUploads) {
      return absl::ResourceExhaustedError(
          absl::StrCat(Item(start.item_id()), ": this node has ", sessions_.size(),
                       " uploads open, the limit is ", kMaxOpenEvidenceUploads));
    }
    auto session = std::make_shared<UploadSession>();
    session->uploader = peer;
    session->declared = start;
    session->declaration_tag = UploadDeclarationTag(peer, start);
    session->busy = true;
    session->touched = now;
    session->began_wall = absl::Now();
    if (read_back != nullptr && read_back->chunks > 0) {
      // What Kafka holds of it: the next chunk is the one after.
      session->hasher = std::move(read_back->hasher);
      session->next = session->durable = read_back->chunks;
      session->bytes = read_back->bytes;
      session->partition = read_back->partition;
      session->offsets = std::move(read_back->offsets);
      session->tags = std::move(read_back->tags);
      session->began_wall = read_back->first_chunk_at;
    }
    sessions_.emplace(start.item_id(), session);
    return session;
  }
  UploadSession& s = *it->second;
  if (s.uploader != peer) {
    return absl::PermissionDeniedError(
        absl::StrCat(Item(start.item_id()), ": being uploaded by another endpoint"));
  }
  if (s.busy) {
    return absl::AbortedError(absl::StrCat(
        Item(start.item_id()), ": another Upload of this item is open on this node; retry"));
  }
  if (!SameDeclaration(s.declared, start)) {
    return absl::FailedPreconditionError(absl::StrCat(
        Item(start.item_id()), ": resumed with different content: chunks 0 to ", s.next - 1,
        " were uploaded for ciphertext SHA-256 ", Hex(s.declared.ciphertext_sha256()), " (",
        s.declared.chunk_count(), " chunks, ", s.declared.ciphertext_size(),
        " bytes); this upload declares ", Hex(start.ciphertext_sha256()), " (", start.chunk_count(),
        " chunks, ", start.ciphertext_size(), " bytes)"));
  }
  // The same recipients' keys may come again; the first ones are kept
  // (they were checked and will be stored).
  s.busy = true;
  s.touched = now;
  return it->second;
}

void EvidenceService::Release(const std::string& item_id) {
  const absl::Time now = deps_.clock->Now();
  absl::MutexLock lock(&mu_);
  if (auto it = sessions_.find(item_id); it != sessions_.end()) {
    it->second->busy = false;
    it->second->touched = now;
  }
}

void EvidenceService::RecordCustody(liaison::v1::EvidenceEvent event,
                                    std::function<void(absl::Status)> done) const {
  const absl::Time now = absl::Now();
  std::string key = event.item().item_id();
  liaison::v1::IngressEvent observed;
  observed.set_node_id(deps_.node_id);
  *observed.mutable_observed_at() = ToProto(now);
  *observed.mutable_evidence() = std::move(event);
  absl::StatusOr<liaison::v1::SignedIngressEvent> signed_event =
      deps_.countersigner == nullptr
          ? absl::FailedPreconditionError("this node has no key to sign custody events")
          : deps_.countersigner->SignEvent(std::move(observed), now);
  if (!signed_event.ok()) {
    log::Error("evidence.custody_sign_failed",
               {{"item_id", key}, {"error", signed_event.status().ToString()}});
    done(absl::InternalError(
        absl::StrCat(Item(key), ": the broker could not sign the custody event")));
    return;
  }
  liaison::v1::IngressRecord record;
  *record.mutable_event() = *std::move(signed_event);
  *record.mutable_accepted_at() = ToProto(now);
  const int32_t partition =
      deps_.custody_partition ? deps_.custody_partition(key) : kafka::kAnyPartition;
  deps_.producer->Produce(
      deps_.topics.Ingress(), key, record.SerializeAsString(),
      [key, done = std::move(done)](const kafka::DeliveryReport& report) {
        if (report.status.ok()) {
          done(absl::OkStatus());
          return;
        }
        done(absl::UnavailableError(
            absl::StrCat(Item(key),
                         ": the chain of custody entry was not acknowledged by "
                         "Kafka (",
                         report.status.message(), ")")));
      },
      partition);
}

void EvidenceService::Drop(const std::string& item_id) {
  absl::MutexLock lock(&mu_);
  sessions_.erase(item_id);
}

namespace {

class UploadReactor final : public grpc::ServerReadReactor<UploadRequest> {
 public:
  UploadReactor(EvidenceService* service, absl::StatusOr<certs::Identity> peer,
                UploadResult* result)
      : service_(service), deps_(service->deps()), result_(result) {
    if (!peer.ok()) {
      Fail(peer.status());
      return;
    }
    peer_ = peer->id;
    reading_ = true;
    StartRead(&request_);
  }

  // A read is outstanding or its message is being handled while reading_
  // is set: only one thread touches request_ at a time.
  void OnReadDone(bool ok) override {
    bool failed;
    {
      absl::MutexLock lock(&mu_);
      failed = !failure_.ok();
      if (!ok) ended_ = true;
    }
    if (ok && !failed) {
      if (session_ == nullptr && request_.has_start() && deps_.read_to_end) {
        // An item completed through another node just before is in the
        // book first, so that its start is answered `complete` and never
        // taken for a new upload. reading_ stays set: the call does not
        // end while this waits.
        deps_.read_to_end(kEvidenceReadToEndTimeout, [this](absl::Status s) {
          if (s.ok()) {
            if (HandleStart()) return;  // goes on once read back from Kafka
          } else {
            SetFailure(NotReadToEnd(Item(request_.start().item_id()), s,
                                    "nothing was stored, send the start again"),
                       false);
          }
          AfterMessage();
        });
        return;
      }
      if (session_ == nullptr) {
        if (HandleStart()) return;  // goes on once read back from Kafka
      } else {
        HandleChunk();
      }
    }
    AfterMessage();
  }

  void OnDone() override {
    ReleaseSession();
    delete this;
  }

 private:
  // Once a message is handled: the next read, or the end of the call.
  void AfterMessage() {
    Next next;
    absl::Status failure;
    bool drop;
    {
      absl::MutexLock lock(&mu_);
      reading_ = false;
      next = Decide();
      failure = failure_;
      drop = drop_;
    }
    Act(next, failure, drop);
  }

  // What to do next: read, or end the call once nothing is in flight (Kafka
  // reports touch `this`). Decided under the lock together with the change
  // that prompted it, so that exactly one thread ends the call and no thread
  // touches `this` after another decided to end it.
  enum class Next { kNothing, kRead, kFail, kEnd };
  Next Decide() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finishing_) return Next::kNothing;
    if (!failure_.ok() || ended_) {
      if (in_flight_ > 0 || reading_) return Next::kNothing;
      finishing_ = true;
      return failure_.ok() ? Next::kEnd : Next::kFail;
    }
    if (reading_ || in_flight_ >= kEvidenceUploadWindow) return Next::kNothing;
    reading_ = true;
    return Next::kRead;
  }
  // Runs what Decide chose; `failure`: failure_ as it was then.
  void Act(Next next, const absl::Status& failure, bool drop) {
    switch (next) {
      case Next::kRead:
        StartRead(&request_);
        break;
      case Next::kFail:
        if (drop) {
          service_->Drop(item_id_);
          dropped_ = true;
        }
        Fail(failure);
        break;
      case Next::kEnd:
        EndOfStream();
        break;
      case Next::kNothing:
        break;
    }
  }
  // The call fails once what is in flight is reported; `drop` forgets the
  // session (its digest covers chunks Kafka may not hold).
  void SetFailure(absl::Status status, bool drop) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (!failure_.ok()) return;
    failure_ = std::move(status);
    drop_ = drop;
  }

  void Fail(const absl::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      finishing_ = true;
    }
    ReleaseSession();
    service_->ReportRpc(kUploadMethod, status.code());
    if (!status.ok() && status.code() != absl::StatusCode::kCancelled) {
      log::Info("evidence.upload_refused", {{"peer", peer_},
                                            {"code", absl::StatusCodeToString(status.code())},
                                            {"reason", status.message()}});
    }
    Finish(ToGrpc(status));
  }
  void Succeed(int64_t durable, bool complete) {
    {
      absl::MutexLock lock(&mu_);
      finishing_ = true;
    }
    result_->set_item_id(item_id_);
    result_->set_durable_chunks(durable);
    result_->set_complete(complete);
    ReleaseSession();
    service_->ReportRpc(kUploadMethod, absl::StatusCode::kOk);
    Finish(grpc::Status::OK);
  }
  // The item is free for the next Upload before the client hears this one's
  // status (a client that resumes at once must not find it still open);
  // nothing touches the session after this.
  void ReleaseSession() {
    if (session_ == nullptr || dropped_ || released_) return;
    released_ = true;
    service_->Release(item_id_);
  }

  // Returns true when it went on asynchronously (a read-back from Kafka):
  // it then calls AfterMessage itself.
  bool HandleStart() {
    if (!request_.has_start()) {
      SetFailure(absl::InvalidArgumentError("the first message of an Upload must be its start"),
                 false);
      return false;
    }
    const UploadStart& start = request_.start();
    std::shared_ptr<const policy::Registry> registry = deps_.registry();
    if (absl::Status s =
            CheckUploadStart(start, peer_, *registry, deps_.clock->Now(), deps_.max_item_bytes);
        !s.ok()) {
      SetFailure(s, false);
      return false;
    }
    item_id_ = start.item_id();
    if (std::optional<EvidenceItemRecord> done = deps_.book->Item(item_id_)) {
      // Already stored: the same upload again is answered, not repeated.
      if (done->uploader() == peer_ && done->jit_id() == start.jit_id() &&
          done->ciphertext_sha256() == start.ciphertext_sha256() &&
          done->chunk_count() == start.chunk_count() &&
          done->ciphertext_size() == start.ciphertext_size()) {
        Succeed(done->chunk_count(), true);
      } else {
        SetFailure(absl::AlreadyExistsError(absl::StrCat(
                       Item(item_id_), ": already stored with other content or uploader")),
                   false);
      }
      return false;
    }
    if (start.resume() && deps_.chunk_partition && !service_->HasSession(item_id_)) {
      // Begun on another node, or on this one before a restart: what Kafka
      // holds of it first. reading_ stays set: the call does not end while
      // this runs.
      service_->ReadBackThenAcquire(start, peer_,
                                    [this](absl::StatusOr<std::shared_ptr<UploadSession>> session) {
                                      if (session.ok()) {
                                        session_ = *std::move(session);
                                      } else {
                                        SetFailure(session.status(), false);
                                      }
                                      AfterMessage();
                                    });
      return true;
    }
    absl::StatusOr<std::shared_ptr<UploadSession>> session = service_->Acquire(start, peer_);
    if (!session.ok()) {
      SetFailure(session.status(), false);
      return false;
    }
    session_ = *std::move(session);
    return false;
  }

  // On the gRPC thread, one at a time; the chunk checks read only what this
  // thread writes (next, bytes, tags).
  void HandleChunk() {
    UploadSession& s = *session_;
    if (!request_.has_chunk()) {
      SetFailure(absl::InvalidArgumentError(absl::StrCat(
                     Item(item_id_), ": a second start message (start comes only first)")),
                 false);
      return;
    }
    const int64_t index = request_.chunk().index();
    std::string* record = request_.mutable_chunk()->mutable_record();
    const int64_t size = static_cast<int64_t>(record->size());
    const int64_t count = s.declared.chunk_count();
    if (size > kMaxRecord) {
      SetFailure(absl::ResourceExhaustedError(absl::StrCat(Chunk(item_id_, index), ": ", size,
                                                           " bytes, the limit is ", kMaxRecord,
                                                           " (1 MiB + 16-byte tag)")),
                 false);
      return;
    }
    if (index < 0 || index >= count) {
      SetFailure(
          absl::InvalidArgumentError(absl::StrCat(Chunk(item_id_, index), ": the item declares ",
                                                  count, " chunks (0 to ", count - 1, ")")),
          false);
      return;
    }
    if (index < s.next) {  // sent again after a resume: must be what is stored
      if (size < kTag || TagOf(*record) != s.tags[index]) {
        SetFailure(absl::FailedPreconditionError(absl::StrCat(
                       Chunk(item_id_, index),
                       ": differs from the chunk already stored (resumed with different "
                       "content)")),
                   false);
      }
      return;
    }
    if (index > s.next) {
      SetFailure(
          absl::InvalidArgumentError(absl::StrCat(Chunk(item_id_, index), ": expected chunk ",
                                                  s.next, " (a chunk is missing or out of order)")),
          false);
      return;
    }
    if (absl::Status sized = CheckChunkSize(s.declared, index, size, s.bytes); !sized.ok()) {
      SetFailure(std::move(sized), false);
      return;
    }
    s.hasher.Update(*record);
    s.tags.push_back(TagOf(*record));
    s.next = index + 1;
    s.bytes += size;
    {
      absl::MutexLock lock(&mu_);
      ++in_flight_;
    }
    deps_.producer->Produce(
        deps_.topics.EvidenceChunks(), item_id_, std::move(*record),
        [this, index](const kafka::DeliveryReport& report) { Produced(report, index); },
        deps_.chunk_partition ? deps_.chunk_partition(item_id_) : kafka::kAnyPartition,
        {{kChunkIndexHeader, std::to_string(index)}, {kChunkDeclarationHeader, s.declaration_tag}});
    request_.Clear();
  }

  // On the producer's poller thread; reports of one partition come in order.
  void Produced(const kafka::DeliveryReport& report, int64_t index) {
    Next next;
    absl::Status failure;
    bool drop;
    {
      absl::MutexLock lock(&mu_);
      --in_flight_;
      UploadSession& s = *session_;
      if (!report.status.ok() || (s.partition >= 0 && report.partition != s.partition)) {
        // The digest already covers this chunk: the session cannot go on.
        if (failure_.ok() || !drop_) {
          failure_ = absl::UnavailableError(absl::StrCat(
              Chunk(item_id_, index), ": not acknowledged by Kafka (",
              report.status.ok() ? "written to another partition" : report.status.message(),
              "); upload the item again from chunk 0"));
          drop_ = true;
        }
      } else {
        s.partition = report.partition;
        if (static_cast<int64_t>(s.offsets.size()) <= index) s.offsets.resize(index + 1, -1);
        s.offsets[index] = report.offset;
        ++s.durable;
      }
      next = Decide();
      failure = failure_;
      drop = drop_;
    }
    // Another thread may end the call from here on unless this one does.
    Act(next, failure, drop);
  }

  // Called once nothing is in flight and no read is outstanding.
  void EndOfStream() {
    if (session_ == nullptr) {
      Fail(absl::InvalidArgumentError("an Upload needs its start message"));
      return;
    }
    UploadSession& s = *session_;
    if (s.durable < s.declared.chunk_count()) {
      Succeed(s.durable, false);  // a progress question, or a partial upload
      return;
    }
    if (absl::Now() - s.began_wall > deps_.upload_max_age) {
      // Its first chunks may already be deleted by the evidence keeper
      // (upload horizon): an item record must never name them.
      service_->Drop(item_id_);
      dropped_ = true;
      Fail(absl::FailedPreconditionError(
          absl::StrCat(Item(item_id_), ": the upload began more than ",
                       absl::FormatDuration(deps_.upload_max_age),
                       " ago (its first chunks may be deleted from Kafka); upload the item again "
                       "from chunk 0")));
      return;
    }
    if (!s.verified) {
      const std::string digest = s.hasher.Finish();
      if (digest != s.declared.ciphertext_sha256()) {
        service_->Drop(item_id_);
        dropped_ = true;
        Fail(absl::InvalidArgumentError(absl::StrCat(
            Item(item_id_), ": the ciphertext SHA-256 of chunks 0 to ", s.durable - 1, " is ",
            Hex(digest), ", the manifest declares ", Hex(s.declared.ciphertext_sha256()),
            "; nothing of the item is downloadable")));
        return;
      }
      s.verified = true;
    }
    WriteKeys();
  }

  // The wrapped keys, then (once all are acknowledged) the item record.
  void WriteKeys() {
    UploadSession& s = *session_;
    pending_ = s.declared.wrapped_keys_size();
    key_failed_ = false;
    for (const std::string& wrapped : s.declared.wrapped_keys()) {
      absl::StatusOr<certs::WrappedKeyHeader> header = certs::ParseWrappedKey(wrapped);
      EvidenceKeyRecord key;
      key.set_item_id(item_id_);
      key.set_recipient(header->recipient_id);  // checked by CheckUploadStart
      key.set_wrapped_key(wrapped);
      std::string value = key.SerializeAsString();
      deps_.producer->Produce(deps_.topics.EvidenceKeys(),
                              EvidenceRecordKey(item_id_, key.recipient()), std::move(value),
                              [this, key](const kafka::DeliveryReport& report) {
                                if (report.status.ok()) {
                                  deps_.book->ApplyWrittenKey(key);
                                } else {
                                  key_failed_ = true;
                                }
                                if (pending_.fetch_sub(1) == 1) KeysWritten();
                              });
    }
  }

  void KeysWritten() {
    if (key_failed_) {
      Fail(absl::UnavailableError(
          absl::StrCat(Item(item_id_),
                       ": wrapped keys not acknowledged by Kafka; send the start again to "
                       "complete the item (every chunk is stored)")));
      return;
    }
    const UploadSession& s = *session_;
    EvidenceItemRecord item;
    item.set_jit_id(s.declared.jit_id());
    item.set_item_id(item_id_);
    item.set_uploader(s.uploader);
    item.set_ciphertext_sha256(s.declared.ciphertext_sha256());
    item.set_chunk_count(s.declared.chunk_count());
    item.set_ciphertext_size(s.declared.ciphertext_size());
    item.set_partition(s.partition);
    for (int64_t offset : s.offsets) item.add_offsets(offset);
    *item.mutable_completed_at() = ToProto(deps_.clock->Now());
    std::shared_ptr<const policy::Registry> registry = deps_.registry();
    if (const liaison::v1::Jit* jit = registry->FindJit(item.jit_id())) {
      *item.mutable_jit_end() = jit->end();
    }
    for (const std::string& wrapped : s.declared.wrapped_keys()) {
      // Well formed: checked by CheckUploadStart.
      if (absl::StatusOr<certs::WrappedKeyHeader> header = certs::ParseWrappedKey(wrapped);
          header.ok()) {
        item.add_wrapped_for(header->recipient_id);
      }
    }
    // The chain of custody learns of the upload (and of each key wrapped)
    // before the item can be downloaded: nothing is disclosed that custody
    // does not show. A failure leaves the item incomplete; sending the start
    // again completes it (the stage may then record the upload twice).
    liaison::v1::EvidenceEvent uploaded = CustodyEvent(liaison::v1::EvidenceEvent::UPLOADED, item);
    *uploaded.mutable_members() = item.wrapped_for();
    service_->RecordCustody(
        std::move(uploaded), [this, item = std::move(item)](absl::Status recorded) mutable {
          if (!recorded.ok()) {
            Fail(absl::UnavailableError(
                absl::StrCat(recorded.message(), "; send the start again to complete the item")));
            return;
          }
          WriteItem(std::move(item));
        });
  }

  void WriteItem(EvidenceItemRecord item) {
    std::string value = item.SerializeAsString();
    deps_.producer->Produce(
        deps_.topics.EvidenceItems(), item_id_, std::move(value),
        [this, item = std::move(item)](const kafka::DeliveryReport& report) {
          if (!report.status.ok()) {
            Fail(absl::UnavailableError(absl::StrCat(
                Item(item_id_), ": the item record was not acknowledged by Kafka (",
                report.status.message(), "); send the start again to complete the item")));
            return;
          }
          deps_.book->ApplyWrittenItem(item);
          service_->Drop(item_id_);
          dropped_ = true;
          log::Info("evidence.item_stored", {{"item_id", item_id_},
                                             {"jit_id", item.jit_id()},
                                             {"uploader", item.uploader()},
                                             {"chunks", item.chunk_count()},
                                             {"bytes", item.ciphertext_size()}});
          Succeed(item.chunk_count(), true);
        });
  }

  EvidenceService* const service_;
  const EvidenceServiceDeps& deps_;
  UploadResult* const result_;
  std::string peer_;
  std::string item_id_;
  UploadRequest request_;
  std::shared_ptr<UploadSession> session_;
  bool released_ = false;
  bool dropped_ = false;
  absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  bool drop_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int> pending_{0};
  std::atomic<bool> key_failed_{false};
};

class DownloadReactor final : public grpc::ServerWriteReactor<DownloadResponse> {
 public:
  DownloadReactor(EvidenceService* service, grpc::CallbackServerContext* context,
                  absl::StatusOr<certs::Identity> peer, const DownloadRequest& request)
      : service_(service), deps_(service->deps()), context_(context) {
    if (!peer.ok()) {
      Fail(peer.status());
      return;
    }
    peer_ = peer->id;
    if (absl::Status s = CheckEvidenceItemId(request.item_id(), "item_id"); !s.ok()) {
      Fail(s);
      return;
    }
    if (!deps_.read_to_end) {
      Begin(request.item_id(), request.from_chunk());
      return;
    }
    // Everything written to the evidence topics before this call (an
    // erasure through another node, say) is in the book before the book is
    // asked: no key of an item erased before the call goes out.
    deps_.read_to_end(kEvidenceReadToEndTimeout,
                      [this, id = request.item_id(), from = request.from_chunk()](absl::Status s) {
                        if (!s.ok()) {
                          Fail(NotReadToEnd(Item(id), s, "nothing was sent, download again"));
                          return;
                        }
                        Begin(id, from);
                      });
  }

  void OnWriteDone(bool ok) override {
    Step step;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      // The client went away, or the server is shutting down (then the
      // worker pool may no longer take the next read).
      if (!ok || context_->IsCancelled()) cancelled_ = true;
      step = Decide();
    }
    Act(step);
  }

  void OnDone() override { delete this; }

 private:
  // Checks the request against the book and, once its start is in the chain
  // of custody, sends the header and starts reading.
  void Begin(const std::string& item_id, int64_t from_chunk) {
    absl::Status s = Open(item_id, from_chunk);
    if (!s.ok()) {
      Fail(s);
      return;
    }
    // The header carries the member's wrapped key: the start is in the
    // chain of custody before it goes out.
    liaison::v1::EvidenceEvent started =
        CustodyEvent(liaison::v1::EvidenceEvent::DOWNLOAD_STARTED, item_);
    started.add_members(peer_);
    started.set_from_chunk(first_);
    service_->RecordCustody(std::move(started), [this](absl::Status recorded) {
      if (!recorded.ok()) {
        Fail(absl::UnavailableError(
            absl::StrCat(recorded.message(), "; nothing was sent, download again")));
        return;
      }
      // The start is in Kafka. Whether the item was marked for erasure
      // meanwhile is read after that, so that an erasure never precedes, in
      // the chain of custody, a download whose key went out: the policy
      // stage writes the item's erasure point after the mark and erases only
      // once it has passed it, and this start is before the point unless
      // the mark is read here (docs/evidence.md, "A download during the
      // erasure").
      if (deps_.download_started_hook) {
        deps_.pool->Submit([this] {
          deps_.download_started_hook(item_.item_id());
          CheckAgain();
        });
        return;
      }
      CheckAgain();
    });
  }

  void CheckAgain() {
    if (!deps_.read_to_end) {
      SendHeaderUnlessMarked();
      return;
    }
    deps_.read_to_end(kEvidenceReadToEndTimeout, [this](absl::Status s) {
      if (!s.ok()) {
        Fail(NotReadToEnd(Item(item_.item_id()), s, "nothing was sent, download again"));
        return;
      }
      SendHeaderUnlessMarked();
    });
  }

  void SendHeaderUnlessMarked() {
    std::optional<EvidenceItemRecord> now = deps_.book->Item(item_.item_id());
    absl::Status s = now.has_value() ? CheckDownloadable(*now)
                                     : absl::FailedPreconditionError(absl::StrCat(
                                           Item(item_.item_id()), ": no longer in the book"));
    if (!s.ok()) {
      Fail(s);
      return;
    }
    {
      absl::MutexLock lock(&mu_);
      writing_ = true;  // the header
      reading_ = true;
    }
    StartWrite(&response_);
    deps_.pool->Submit([this] { ReadAhead(); });
  }

  // Chunks read from Kafka ahead of the one being written, so that Kafka
  // reads overlap gRPC writes: at most this many records (1 MiB each) wait
  // (besides the RecordReader's own queue of at most 8 MiB).
  static constexpr size_t kReadAhead = 8;

  // What to do next, decided under the lock with the change that prompted
  // it. The call ends (Finish, then OnDone deletes this) only when no write
  // is outstanding and no read is running, so no thread touches this after.
  struct Step {
    bool write = false;  // response_ holds the next chunk
    bool read = false;   // start ReadAhead on the pool
    bool finish = false;
    absl::Status status;  // with finish
  };
  Step Decide() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Step step;
    if (finishing_ || writing_) return step;
    if (cancelled_ || ready_.empty()) {
      // A failed read ends the call once the chunks before it are written.
      if (reading_ || (!cancelled_ && failure_.ok() && next_read_ < item_.chunk_count())) {
        if (!reading_ && !cancelled_) step.read = reading_ = true;
        return step;
      }
      finishing_ = true;
      step.finish = true;
      step.status = cancelled_ ? absl::CancelledError("") : failure_;
      return step;
    }
    response_ = std::move(ready_.front());
    ready_.pop_front();
    step.write = writing_ = true;
    // Reading again once half the chunks waiting went out, so that a batch
    // is at least kReadAhead / 2 chunks (each batch costs Kafka a watermark
    // request and the pool a task; refilling after every write made batches
    // of one chunk while the client was the slower side).
    if (!reading_ && failure_.ok() && next_read_ < item_.chunk_count() &&
        ready_.size() <= kReadAhead / 2) {
      step.read = reading_ = true;
    }
    return step;
  }
  void Act(const Step& step) {
    if (step.finish) {
      if (step.status.ok()) {
        log::Info("evidence.download_sent", {{"item_id", item_.item_id()}, {"recipient", peer_}});
        liaison::v1::EvidenceEvent finished =
            CustodyEvent(liaison::v1::EvidenceEvent::DOWNLOAD_FINISHED, item_);
        finished.add_members(peer_);
        finished.set_from_chunk(first_);
        finished.set_chunks_sent(item_.chunk_count() - first_);
        service_->RecordCustody(std::move(finished), [this](absl::Status recorded) {
          // Every chunk went out: the member has the item whatever happens
          // here. Custody then shows the download started and not finished.
          if (!recorded.ok()) {
            log::Error("evidence.custody_unrecorded", {{"item_id", item_.item_id()},
                                                       {"recipient", peer_},
                                                       {"event", "download-finished"},
                                                       {"error", recorded.ToString()}});
          }
          service_->ReportRpc(kDownloadMethod, absl::StatusCode::kOk);
          Finish(grpc::Status::OK);
        });
      } else if (absl::IsCancelled(step.status)) {
        service_->ReportRpc(kDownloadMethod, absl::StatusCode::kCancelled);
        Finish(grpc::Status::CANCELLED);
      } else {
        Fail(step.status);
      }
      return;
    }
    // reading_ is set before either starts: the call cannot end in between.
    if (step.read) deps_.pool->Submit([this] { ReadAhead(); });
    if (step.write) StartWrite(&response_);
  }
  void Fail(const absl::Status& status) {
    service_->ReportRpc(kDownloadMethod, status.code());
    log::Info("evidence.download_refused", {{"peer", peer_},
                                            {"code", absl::StatusCodeToString(status.code())},
                                            {"reason", status.message()}});
    Finish(ToGrpc(status));
  }

  absl::Status Open(const std::string& id, int64_t from_chunk) {
    std::optional<liaison::v1::EvidenceGrant> grant = deps_.book->Grant(id, peer_);
    std::optional<EvidenceItemRecord> item = deps_.book->Item(id);
    if (item.has_value() && item->has_erasure() &&
        (grant.has_value() || item->uploader() == peer_ ||
         std::find(item->wrapped_for().begin(), item->wrapped_for().end(), peer_) !=
             item->wrapped_for().end())) {
      return CheckDownloadable(*item);
    }
    if (!grant.has_value()) {
      return absl::PermissionDeniedError(absl::StrCat(
          Item(id), ": no grant for ", peer_,
          " (the policy has not delivered a manifest naming the item to this endpoint)"));
    }
    if (!item.has_value()) {
      return absl::FailedPreconditionError(
          absl::StrCat(Item(id), ": not completely uploaded (nothing partial is downloadable)"));
    }
    LIAISON_RETURN_IF_ERROR(CheckDownloadable(*item));
    if (grant->jit_id() != item->jit_id()) {
      return absl::FailedPreconditionError(absl::StrCat(
          Item(id), ": granted for JIT ", grant->jit_id(), ", uploaded for JIT ", item->jit_id()));
    }
    if (grant->item().ciphertext_sha256() != item->ciphertext_sha256() ||
        grant->item().chunk_count() != item->chunk_count() ||
        grant->item().ciphertext_size() != item->ciphertext_size()) {
      return absl::FailedPreconditionError(
          absl::StrCat(Item(id), ": the stored ciphertext (SHA-256 ",
                       Hex(item->ciphertext_sha256()), ", ", item->chunk_count(),
                       " chunks) is not the one the manifest ", grant->manifest_message_id(),
                       " declares (SHA-256 ", Hex(grant->item().ciphertext_sha256()), ", ",
                       grant->item().chunk_count(), " chunks) (DP-JIT-03)"));
    }
    const absl::Time now = deps_.clock->Now();
    std::shared_ptr<const policy::Registry> registry = deps_.registry();
    const liaison::v1::Jit* jit = registry->FindJit(item->jit_id());
    if (jit == nullptr || !policy::Registry::IsMember(*jit, peer_)) {
      return absl::PermissionDeniedError(
          absl::StrCat(Item(id), ": ", peer_, " is not a member of JIT ", item->jit_id()));
    }
    if (!policy::Registry::IsValidAt(*jit, now)) {
      return absl::FailedPreconditionError(absl::StrCat(
          Item(id), ": JIT ", jit->id(), " is not valid at ", Time(now), " (DP-JIT-01)"));
    }
    // The policy stage erases the item at its max age (evidence_keeper.h);
    // until it has, the registry's limit already refuses it here.
    if (now >= FromProto(item->completed_at()) + registry->EvidenceMaxAge()) {
      return absl::FailedPreconditionError(
          absl::StrCat(Item(id), ": uploaded ", Time(FromProto(item->completed_at())),
                       ", longer ago than the registry's evidence_retention.max_age (",
                       absl::FormatDuration(registry->EvidenceMaxAge()), "): erased"));
    }
    std::optional<std::string> wrapped = deps_.book->WrappedKey(id, peer_);
    if (!wrapped.has_value()) {
      return absl::FailedPreconditionError(
          absl::StrCat(Item(id), ": the sender wrapped no key for ", peer_));
    }
    if (from_chunk < 0 || from_chunk >= item->chunk_count()) {
      return absl::OutOfRangeError(absl::StrCat(Item(id), ": from_chunk ", from_chunk,
                                                " is outside 0 to ", item->chunk_count() - 1));
    }
    item_ = *std::move(item);
    first_ = from_chunk;
    {
      absl::MutexLock lock(&mu_);
      next_read_ = from_chunk;
    }
    liaison::v1::DownloadHeader* header = response_.mutable_header();
    header->set_jit_id(item_.jit_id());
    header->set_item_id(item_.item_id());
    header->set_uploader(item_.uploader());
    header->set_ciphertext_sha256(item_.ciphertext_sha256());
    header->set_chunk_count(item_.chunk_count());
    header->set_ciphertext_size(item_.ciphertext_size());
    header->set_wrapped_key(*std::move(wrapped));
    log::Info("evidence.download_started",
              {{"item_id", id}, {"recipient", peer_}, {"from_chunk", from_chunk}});
    return absl::OkStatus();
  }

  // On the worker pool, one at a time (reading_): reads the next chunks, up
  // to kReadAhead waiting, in one forward pass per batch (a RecordReader
  // read asks Kafka for the partition's watermarks first: one request per
  // batch, not per chunk), until the item is read or a read fails.
  void ReadAhead() {
    const std::string& id = item_.item_id();
    while (true) {
      int64_t first = -1;
      std::vector<int64_t> offsets;
      Step stop;
      {
        absl::MutexLock lock(&mu_);
        if (cancelled_ || !failure_.ok() || ready_.size() >= kReadAhead ||
            next_read_ >= item_.chunk_count()) {
          // Decided together: once reading_ is clear another thread may end
          // the call.
          reading_ = false;
          stop = Decide();
        } else {
          first = next_read_;
          // Ascending offsets only: a batch ends before an offset that is
          // not above the previous one (the chunk is then read alone, and
          // its header tells whether it is the chunk).
          for (int64_t i = first;
               i < item_.chunk_count() && offsets.size() < kReadAhead - ready_.size(); ++i) {
            const int64_t offset = item_.offsets(static_cast<int>(i));
            if (!offsets.empty() && offset <= offsets.back()) break;
            offsets.push_back(offset);
          }
        }
      }
      if (first < 0) {
        Act(stop);
        return;
      }
      absl::Status opened = OpenReader(Chunk(id, first));
      int64_t answered = 0;
      auto each = [&](int64_t offset, absl::StatusOr<kafka::Record> record) {
        const int64_t index = first + answered++;
        absl::StatusOr<std::string> chunk = CheckChunk(index, offset, std::move(record));
        Step step;
        {
          absl::MutexLock lock(&mu_);
          if (!failure_.ok()) return;
          if (chunk.ok()) {
            DownloadResponse& r = ready_.emplace_back();
            r.mutable_chunk()->set_index(index);
            r.mutable_chunk()->set_record(*std::move(chunk));
            ++next_read_;
          } else {
            failure_ = chunk.status();
          }
          step = Decide();  // reading_ is set: the call does not end here
        }
        Act(step);
      };
      if (!opened.ok()) {
        absl::MutexLock lock(&mu_);
        failure_ = opened;
        continue;
      }
      reader_->ReadEach(deps_.topics.EvidenceChunks(), item_.partition(), offsets,
                        absl::Seconds(30), each);
    }
  }

  // reader_ (only ReadAhead uses it), created on first use.
  absl::Status OpenReader(const std::string& chunk) {
    if (reader_ != nullptr) return absl::OkStatus();
    absl::StatusOr<std::unique_ptr<kafka::RecordReader>> reader =
        kafka::RecordReader::Create(deps_.kafka);
    if (!reader.ok()) {
      return absl::UnavailableError(
          absl::StrCat(chunk, ": cannot read Kafka: ", reader.status().message()));
    }
    reader_ = *std::move(reader);
    return absl::OkStatus();
  }

  // Chunk `index`'s record as read from `offset`: its value, or why not.
  absl::StatusOr<std::string> CheckChunk(int64_t index, int64_t offset,
                                         absl::StatusOr<kafka::Record> record) {
    const std::string& id = item_.item_id();
    if (!record.ok()) {
      return absl::IsNotFound(record.status())
                 ? absl::DataLossError(absl::StrCat(Chunk(id, index), ": the record (partition ",
                                                    item_.partition(), " offset ", offset,
                                                    ") is no longer in Kafka"))
                 : absl::UnavailableError(
                       absl::StrCat(Chunk(id, index), ": ", record.status().message()));
    }
    bool header_ok = false;
    for (const kafka::Header& h : record->headers) {
      if (h.key == kChunkIndexHeader) header_ok = h.value == std::to_string(index);
    }
    if (record->key != id || !header_ok) {
      return absl::DataLossError(absl::StrCat(Chunk(id, index), ": the record at partition ",
                                              item_.partition(), " offset ", offset,
                                              " is not this chunk"));
    }
    return std::move(record->value);
  }

  EvidenceService* const service_;
  const EvidenceServiceDeps& deps_;
  grpc::CallbackServerContext* const context_;
  std::string peer_;
  EvidenceItemRecord item_;    // set by Open, then only read
  int64_t first_ = 0;          // from_chunk; set by Open
  DownloadResponse response_;  // being written (writing_)
  std::unique_ptr<kafka::RecordReader> reader_;
  absl::Mutex mu_;
  int64_t next_read_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<DownloadResponse> ready_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

grpc::ServerReadReactor<UploadRequest>* EvidenceService::Upload(
    grpc::CallbackServerContext* context, UploadResult* result) {
  return new UploadReactor(this, deps_.peers->Authenticate(*context, certs::Role::kEndpointTls),
                           result);
}

grpc::ServerWriteReactor<DownloadResponse>* EvidenceService::Download(
    grpc::CallbackServerContext* context, const DownloadRequest* request) {
  return new DownloadReactor(
      this, context, deps_.peers->Authenticate(*context, certs::Role::kEndpointTls), *request);
}

grpc::ServerUnaryReactor* EvidenceService::List(grpc::CallbackServerContext* context,
                                                const liaison::v1::ListRequest* /*request*/,
                                                liaison::v1::ListResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<certs::Identity> peer =
      deps_.peers->Authenticate(*context, certs::Role::kEndpointTls);
  if (!peer.ok()) {
    ReportRpc(kListMethod, peer.status().code());
    reactor->Finish(ToGrpc(peer.status()));
    return reactor;
  }
  if (!deps_.read_to_end) {
    ListRead(reactor, peer->id, response);
    return reactor;
  }
  deps_.read_to_end(kEvidenceReadToEndTimeout,
                    [this, reactor, response, member = peer->id](absl::Status s) {
                      if (!s.ok()) {
                        s = NotReadToEnd("evidence list", s, "list again");
                        ReportRpc(kListMethod, s.code());
                        reactor->Finish(ToGrpc(s));
                        return;
                      }
                      ListRead(reactor, member, response);
                    });
  return reactor;
}

void EvidenceService::ListRead(grpc::ServerUnaryReactor* reactor, const std::string& member,
                               liaison::v1::ListResponse* response) const {
  for (liaison::v1::EvidenceGrant& grant : deps_.book->GrantsFor(member)) {
    liaison::v1::GrantedItem* listed = response->add_items();
    const std::optional<EvidenceItemRecord> item = deps_.book->Item(grant.item_id());
    // An item marked for erasure is no longer downloadable: not complete.
    listed->set_complete(item.has_value() && !item->has_erasure() && !item->has_erasure_pending());
    *listed->mutable_grant() = std::move(grant);
  }
  ReportRpc(kListMethod, absl::StatusCode::kOk);
  reactor->Finish(grpc::Status::OK);
}

}  // namespace liaison::broker
