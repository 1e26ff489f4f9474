#include "connectors/endpoint/evidence_transfer.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>
#include <system_error>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "base/uuid.h"
#include "certs/evidence_crypto.h"

namespace liaison::endpoint {
namespace {

using liaison::v1::DownloadRequest;
using liaison::v1::DownloadResponse;
using liaison::v1::EvidenceItem;
using liaison::v1::UploadRequest;
using liaison::v1::UploadResult;
using liaison::v1::UploadStart;

constexpr int64_t kChunk = static_cast<int64_t>(certs::kEvidenceChunkBytes);
constexpr int64_t kRecord = static_cast<int64_t>(certs::kEvidenceMaxRecordBytes);

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

// Worth another connection: the call broke, not the content.
bool Retryable(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsCancelled(s) || absl::IsDeadlineExceeded(s) ||
         absl::IsAborted(s);
}

std::string Item(const std::string& id) { return absl::StrCat("evidence item '", id, "'"); }

// The ciphertext of the file at `path`, record after record, in `spool`.
absl::StatusOr<certs::EncryptedItemSummary> EncryptToSpool(const std::string& path,
                                                           certs::EvidenceEncryptor& encryptor,
                                                           const std::string& spool) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::ofstream out(spool, std::ios::binary | std::ios::trunc);
  if (!out) return absl::FailedPreconditionError(absl::StrCat(spool, ": cannot create"));
  // Reads the next piece of at most 1 MiB; empty once the file is done.
  bool eof = false;
  auto fill = [&](std::string& piece) {
    piece.resize(kChunk);
    if (eof) {
      piece.clear();
      return;
    }
    in.read(piece.data(), kChunk);
    piece.resize(static_cast<size_t>(in.gcount()));
    if (!in) eof = true;
  };
  std::string current;
  std::string next;
  fill(current);
  while (true) {
    // A chunk is the final one when nothing follows it.
    fill(next);
    const bool final = next.empty();
    LIAISON_ASSIGN_OR_RETURN(
        std::string record, encryptor.EncryptChunk(current, final ? certs::ChunkPosition::kFinal
                                                                  : certs::ChunkPosition::kMiddle));
    out.write(record.data(), static_cast<std::streamsize>(record.size()));
    if (!out) return absl::FailedPreconditionError(absl::StrCat(spool, ": cannot write"));
    if (final) break;
    std::swap(current, next);
  }
  if (in.bad()) return absl::FailedPreconditionError(absl::StrCat(path, ": read error"));
  out.close();
  if (!out) return absl::FailedPreconditionError(absl::StrCat(spool, ": cannot write"));
  return encryptor.Summary();
}

// One Upload call: the start, then chunks from `from`. Returns the result or
// the call's status.
absl::StatusOr<UploadResult> UploadOnce(liaison::v1::Evidence::StubInterface& stub,
                                        const UploadStart& start, std::ifstream& spool,
                                        int64_t from, int64_t break_after,
                                        const std::function<void(int64_t, int64_t)>& progress) {
  grpc::ClientContext context;
  UploadResult result;
  std::unique_ptr<grpc::ClientWriterInterface<UploadRequest>> writer =
      stub.Upload(&context, &result);
  UploadRequest request;
  *request.mutable_start() = start;
  bool ok = writer->Write(request);
  const int64_t count = start.chunk_count();
  for (int64_t i = from; ok && i < count; ++i) {
    if (break_after >= 0 && i - from >= break_after) {
      context.TryCancel();
      break;
    }
    const int64_t length = std::min(kRecord, start.ciphertext_size() - i * kRecord);
    request.Clear();
    liaison::v1::EvidenceChunk* chunk = request.mutable_chunk();
    chunk->set_index(i);
    std::string* record = chunk->mutable_record();
    record->resize(static_cast<size_t>(length));
    spool.seekg(i * kRecord);
    spool.read(record->data(), length);
    if (!spool) {
      context.TryCancel();
      return absl::FailedPreconditionError(
          absl::StrCat(Item(start.item_id()), " chunk ", i, ": cannot read the spool file"));
    }
    ok = writer->Write(request);
    if (ok && progress) progress(i + 1, count);
  }
  if (ok) writer->WritesDone();
  absl::Status status = FromGrpcStatus(writer->Finish());
  if (!status.ok()) return status;
  return result;
}

}  // namespace

absl::StatusOr<EvidenceItem> UploadEvidenceItem(liaison::v1::Evidence::StubInterface& stub,
                                                const std::string& path,
                                                const UploadItemOptions& options,
                                                const certs::TrustStore& trust, absl::Time now) {
  return UploadEvidenceItem(std::vector<liaison::v1::Evidence::StubInterface*>{&stub}, path,
                            options, trust, now);
}

absl::StatusOr<EvidenceItem> UploadEvidenceItem(
    const std::vector<liaison::v1::Evidence::StubInterface*>& nodes, const std::string& path,
    const UploadItemOptions& options, const certs::TrustStore& trust, absl::Time now) {
  if (nodes.empty()) return absl::InvalidArgumentError("no broker node to upload to");
  LIAISON_ASSIGN_OR_RETURN(certs::EvidenceEncryptor encryptor,
                           certs::EvidenceEncryptor::Create(options.item_id));
  if (options.recipients.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Item(options.item_id), ": no recipients to wrap the key for"));
  }
  UploadStart start;
  start.set_jit_id(options.jit_id);
  start.set_item_id(options.item_id);
  for (const EvidenceRecipient& r : options.recipients) {
    LIAISON_ASSIGN_OR_RETURN(std::string wrapped,
                             certs::WrapDataKey(encryptor.key(), options.item_id, r.endpoint_id,
                                                r.encryption_certificate, trust, now));
    start.add_wrapped_keys(std::move(wrapped));
  }

  std::error_code ec;
  const std::filesystem::path dir = options.spool_dir.empty()
                                        ? std::filesystem::temp_directory_path(ec)
                                        : std::filesystem::path(options.spool_dir);
  const std::string spool_path =
      (dir / absl::StrCat("liaison-evidence-", NewUuidV7(absl::Now()), ".spool")).string();
  struct Remove {
    std::string path;
    ~Remove() {
      std::error_code ignored;
      std::filesystem::remove(path, ignored);
    }
  } remove{spool_path};
  LIAISON_ASSIGN_OR_RETURN(certs::EncryptedItemSummary summary,
                           EncryptToSpool(path, encryptor, spool_path));
  start.set_ciphertext_sha256(summary.ciphertext_sha256);
  start.set_chunk_count(summary.chunks);
  start.set_ciphertext_size(summary.size + summary.chunks * int64_t{certs::kEvidenceTagBytes});

  std::ifstream spool(spool_path, std::ios::binary);
  if (!spool) return absl::FailedPreconditionError(absl::StrCat(spool_path, ": cannot open"));
  absl::Status last;
  int64_t from = 0;
  // ABORTED: the node still has the broken call's upload open (it waits for
  // Kafka to report the chunks in flight before it lets go, seconds on a
  // loaded cluster). Waiting for that is not a failed attempt.
  const absl::Time patience = absl::Now() + absl::Seconds(30);
  int failed = 0;  // attempts that count against max_attempts
  size_t node = 0;
  for (int attempt = 0; failed < std::max(1, options.max_attempts); ++attempt) {
    if (attempt > 0) {
      // Every later start says so: a node that does not hold the upload
      // (another one, or the same after a restart) reads back what Kafka
      // holds of it instead of starting from chunk 0.
      start.set_resume(true);
      // A broken connection or a node that does not answer: the next node
      // (ABORTED: this node still holds the upload open, it stays).
      if (absl::IsUnavailable(last) || absl::IsCancelled(last) || absl::IsDeadlineExceeded(last)) {
        node = (node + 1) % nodes.size();
      }
      if (absl::IsAborted(last) && absl::Now() < patience) {
        absl::SleepFor(absl::Milliseconds(200));
      } else {
        ++failed;
        if (failed >= std::max(1, options.max_attempts)) break;
        absl::SleepFor(absl::Milliseconds(100) * failed);
      }
      // Where to resume: an Upload with only its start answers.
      absl::StatusOr<UploadResult> progress =
          UploadOnce(*nodes[node], start, spool, start.chunk_count(), -1, nullptr);
      if (!progress.ok()) {
        last = progress.status();
        if (!Retryable(last)) return last;
        continue;
      }
      from = progress->complete() ? start.chunk_count() : progress->durable_chunks();
    }
    absl::StatusOr<UploadResult> result =
        UploadOnce(*nodes[node], start, spool, from,
                   attempt == 0 ? options.break_after_chunks_for_test : -1, options.progress);
    if (result.ok() && result->complete()) {
      EvidenceItem item;
      item.set_item_id(options.item_id);
      item.set_sha256(summary.plaintext_sha256);
      item.set_size(summary.size);
      item.set_ciphertext_sha256(summary.ciphertext_sha256);
      item.set_chunk_count(summary.chunks);
      item.set_ciphertext_size(start.ciphertext_size());
      return item;
    }
    last = result.ok() ? absl::UnavailableError(absl::StrCat(
                             Item(options.item_id), ": the broker holds ", result->durable_chunks(),
                             " of ", start.chunk_count(), " chunks"))
                       : result.status();
    if (!Retryable(last)) return last;
  }
  return last;
}

// Reads a Download stream on a thread of its own, at most `ahead` responses
// ahead of the caller. gRPC's synchronous client reads the socket only while
// a thread waits in Read, and reopens the stream's flow-control window only
// as messages are taken: read on the thread that decrypts and writes, the
// broker's next chunks wait while each chunk is decrypted, and the stages
// run one after the other. Memory: `ahead` chunks of 1 MiB beside the
// window. With `ahead` 0 the caller's thread reads (no thread).
class ResponseReadAhead {
 public:
  ResponseReadAhead(grpc::ClientReaderInterface<DownloadResponse>* reader, size_t ahead)
      : reader_(reader), ahead_(ahead) {
    if (ahead_ > 0) thread_ = std::thread([this] { Run(); });
  }
  ~ResponseReadAhead() { Stop(); }
  ResponseReadAhead(const ResponseReadAhead&) = delete;
  ResponseReadAhead& operator=(const ResponseReadAhead&) = delete;

  // The next response, in order; false once the stream has ended (the
  // caller then calls Stop and the reader's Finish).
  bool Next(DownloadResponse* out) {
    if (ahead_ == 0) return reader_->Read(out);
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](ResponseReadAhead* r)
             ABSL_EXCLUSIVE_LOCKS_REQUIRED(r->mu_) { return !r->ready_.empty() || r->ended_; },
        this));
    if (ready_.empty()) return false;
    *out = std::move(ready_.front());
    ready_.pop_front();
    return true;
  }

  // Waits for the thread. A caller that leaves before the stream ended
  // cancels the call first (ClientContext::TryCancel), which ends a Read
  // under way.
  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    while (true) {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](ResponseReadAhead* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(r->mu_) {
              return r->stop_ || r->ready_.size() < r->ahead_;
            },
            this));
        if (stop_) break;
      }
      DownloadResponse response;
      if (!reader_->Read(&response)) break;
      absl::MutexLock lock(&mu_);
      ready_.push_back(std::move(response));
    }
    absl::MutexLock lock(&mu_);
    ended_ = true;
  }

  grpc::ClientReaderInterface<DownloadResponse>* const reader_;
  const size_t ahead_;
  absl::Mutex mu_;
  std::deque<DownloadResponse> ready_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // started last, in the constructor's body
};

absl::Status DownloadEvidenceItem(liaison::v1::Evidence::StubInterface& stub,
                                  const EvidenceItem& item, const certs::RecipientKey& key,
                                  const std::string& out_path, const DownloadItemOptions& options) {
  const std::string& id = item.item_id();
  const std::string partial = out_path + ".partial";
  struct Cleanup {
    std::string path;
    bool keep = false;
    ~Cleanup() {
      std::error_code ignored;
      if (!keep) std::filesystem::remove(path, ignored);
    }
  } cleanup{partial};
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  if (!out) return absl::FailedPreconditionError(absl::StrCat(partial, ": cannot create"));

  std::optional<certs::EvidenceDecryptor> decryptor;
  absl::Status last;
  for (int attempt = 0; attempt < std::max(1, options.max_attempts); ++attempt) {
    if (attempt > 0) absl::SleepFor(absl::Milliseconds(100) * attempt);
    grpc::ClientContext context;
    DownloadRequest request;
    request.set_item_id(id);
    request.set_from_chunk(decryptor.has_value() ? decryptor->next_index() : 0);
    std::unique_ptr<grpc::ClientReaderInterface<DownloadResponse>> reader =
        stub.Download(&context, request);
    DownloadResponse response;
    int64_t received = 0;
    bool first = true;
    absl::Status content;  // an error in what the broker sent: not retried
    ResponseReadAhead ahead(reader.get(), options.read_ahead);
    while (ahead.Next(&response)) {
      if (first) {
        first = false;
        if (!response.has_header()) {
          content = absl::InvalidArgumentError(absl::StrCat(Item(id), ": no download header"));
          break;
        }
        const liaison::v1::DownloadHeader& h = response.header();
        if (h.item_id() != id || h.ciphertext_sha256() != item.ciphertext_sha256() ||
            h.chunk_count() != item.chunk_count() ||
            h.ciphertext_size() != item.ciphertext_size()) {
          content = absl::FailedPreconditionError(
              absl::StrCat(Item(id), ": the broker's item (", h.chunk_count(), " chunks, ",
                           h.ciphertext_size(), " bytes) is not the manifest's ciphertext"));
          break;
        }
        if (!decryptor.has_value()) {
          absl::StatusOr<certs::DataKey> data_key = key.Unwrap(h.wrapped_key(), id);
          if (!data_key.ok()) {
            content = data_key.status();
            break;
          }
          absl::StatusOr<certs::EvidenceDecryptor> d =
              certs::EvidenceDecryptor::Create(*data_key, id, item.size(), item.sha256());
          if (!d.ok()) {
            content = d.status();
            break;
          }
          decryptor.emplace(*std::move(d));
        }
        continue;
      }
      if (!response.has_chunk() || response.chunk().index() != decryptor->next_index()) {
        content =
            absl::InvalidArgumentError(absl::StrCat(Item(id), " chunk ", response.chunk().index(),
                                                    ": expected chunk ", decryptor->next_index()));
        break;
      }
      absl::StatusOr<std::string> plaintext = decryptor->DecryptChunk(response.chunk().record());
      if (!plaintext.ok()) {
        content = plaintext.status();
        break;
      }
      out.write(plaintext->data(), static_cast<std::streamsize>(plaintext->size()));
      if (!out) {
        content = absl::FailedPreconditionError(absl::StrCat(partial, ": cannot write"));
        break;
      }
      ++received;
      if (attempt == 0 && options.break_after_chunks_for_test >= 0 &&
          received >= options.break_after_chunks_for_test) {
        break;
      }
    }
    if (!content.ok()) {
      context.TryCancel();
      ahead.Stop();
      (void)reader->Finish();
      return content;
    }
    const bool broke_for_test = attempt == 0 && options.break_after_chunks_for_test >= 0 &&
                                received >= options.break_after_chunks_for_test;
    if (broke_for_test) context.TryCancel();
    ahead.Stop();
    last = FromGrpcStatus(reader->Finish());
    if (broke_for_test && decryptor.has_value() &&
        decryptor->next_index() < decryptor->chunk_count()) {
      last = absl::CancelledError("download broken for the test");
    }
    if (last.ok()) {
      if (!decryptor.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(Item(id), ": no download header"));
      }
      LIAISON_RETURN_IF_ERROR(decryptor->Finish());
      out.close();
      if (!out) return absl::FailedPreconditionError(absl::StrCat(partial, ": cannot write"));
      std::error_code ec;
      std::filesystem::rename(partial, out_path, ec);
      if (ec) {
        return absl::FailedPreconditionError(
            absl::StrCat(out_path, ": cannot rename the verified file: ", ec.message()));
      }
      cleanup.keep = true;
      return absl::OkStatus();
    }
    if (!Retryable(last)) return last;
  }
  return last;
}

}  // namespace liaison::endpoint
