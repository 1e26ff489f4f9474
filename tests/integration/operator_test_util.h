// Helpers shared by the operator integration tests: an admin stub with a
// given client certificate, unary calls that expect success, a WatchFlows
// reader, plain-HTTP reads of the dashboard server (embedded mode), and
// blinded case-linkage entries to publish.
#ifndef LIAISON_TESTS_INTEGRATION_OPERATOR_TEST_UTIL_H_
#define LIAISON_TESTS_INTEGRATION_OPERATOR_TEST_UTIL_H_

#include <httplib.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/proto_time.h"
#include "certs/testing/test_pki.h"
#include "connectors/endpoint/linkage/blind.h"
#include "connectors/endpoint/linkage/linkage_key.h"
#include "connectors/endpoint/linkage/normalize.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "liaison/v1/admin.grpc.pb.h"
#include "tests/fixtures/test_broker.h"

namespace liaison::testing {

inline std::unique_ptr<TestBroker> StartOperatorBroker(TestBrokerOptions options = {}) {
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start(options);
  EXPECT_TRUE(broker.ok()) << broker.status();  // NOLINT
  return broker.ok() ? std::move(*broker) : nullptr;
}

inline std::string OperatorPrefix() { return SharedTestPki().dir + "/operators/ops-duty-1/tls"; }

// A channel to the admin listener; `tls_prefix` names <prefix>.{pem,key}
// (empty: no client certificate).
inline std::unique_ptr<liaison::v1::Admin::Stub> AdminStub(const TestBroker& broker,
                                                           const std::string& tls_prefix) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFileOrDie(SharedTestPki().ca());
  if (!tls_prefix.empty()) {
    ssl.pem_cert_chain = ReadFileOrDie(tls_prefix + ".pem");
    ssl.pem_private_key = ReadFileOrDie(tls_prefix + ".key");
  }
  return liaison::v1::Admin::NewStub(
      grpc::CreateChannel(broker.admin_target(), grpc::SslCredentials(ssl)));
}

inline void Deadline(grpc::ClientContext& context) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
}

template <typename Response>
inline std::string Json(const Response& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

inline liaison::v1::HealthResponse Health(liaison::v1::Admin::Stub& stub) {
  grpc::ClientContext c;
  Deadline(c);
  liaison::v1::HealthResponse out;
  grpc::Status s = stub.GetHealth(&c, {}, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return out;
}

inline liaison::v1::ListEndpointsResponse Endpoints(liaison::v1::Admin::Stub& stub) {
  grpc::ClientContext c;
  Deadline(c);
  liaison::v1::ListEndpointsResponse out;
  grpc::Status s = stub.ListEndpoints(&c, {}, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return out;
}

inline liaison::v1::FlowStatsResponse Flows(liaison::v1::Admin::Stub& stub) {
  grpc::ClientContext c;
  Deadline(c);
  liaison::v1::FlowStatsResponse out;
  grpc::Status s = stub.GetFlowStats(&c, {}, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return out;
}

inline liaison::v1::ListHoldsResponse Holds(liaison::v1::Admin::Stub& stub) {
  grpc::ClientContext c;
  Deadline(c);
  liaison::v1::ListHoldsResponse out;
  grpc::Status s = stub.ListHolds(&c, {}, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return out;
}

inline liaison::v1::LinkageIndexResponse LinkageIndex(liaison::v1::Admin::Stub& stub) {
  grpc::ClientContext c;
  Deadline(c);
  liaison::v1::LinkageIndexResponse out;
  grpc::Status s = stub.GetLinkageIndex(&c, {}, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return out;
}

// Entries of (endpoint, epoch) in a GetLinkageIndex answer; -1 = no row.
inline int64_t LinkageEntries(const liaison::v1::LinkageIndexResponse& index,
                              const std::string& endpoint, uint32_t epoch) {
  for (const auto& c : index.counts()) {
    if (c.endpoint_id() == endpoint && c.epoch() == epoch) return c.entries();
  }
  return -1;
}

// A phone number blinded under the test PKI's epoch-1 linkage key, as an
// index entry of `handle` expiring 30 days after `now` (the broker's clock).
inline liaison::v1::IndexEntry BlindedPhoneEntry(const std::string& phone,
                                                 const std::string& handle, absl::Time now) {
  namespace lk = endpoint::linkage;
  static const lk::LinkageKey* key = [] {
    absl::StatusOr<lk::LinkageKey> k =
        lk::LinkageKey::Load(SharedTestPki().dir + "/linkage/epoch-1.key");
    EXPECT_TRUE(k.ok()) << k.status();  // NOLINT
    return k.ok() ? new lk::LinkageKey(*std::move(k)) : nullptr;
  }();
  static const lk::Normalizer* normalizer = [] {
    absl::StatusOr<std::unique_ptr<lk::Normalizer>> n = lk::Normalizer::Create({"RO", "ro"});
    EXPECT_TRUE(n.ok()) << n.status();  // NOLINT
    return n.ok() ? n->release() : nullptr;
  }();
  liaison::v1::IndexEntry e;
  if (key == nullptr || normalizer == nullptr) return e;
  absl::StatusOr<lk::Canonical> canonical = normalizer->Phone(phone);
  EXPECT_TRUE(canonical.ok()) << canonical.status();  // NOLINT
  if (!canonical.ok()) return e;
  const lk::BlindedValue v = lk::Blind(*key, *canonical);
  e.set_type(static_cast<liaison::v1::IdentifierType>(v.kind));
  e.set_value(v.value_bytes());
  e.set_case_handle(handle);
  *e.mutable_expires_at() = ToProto(now + absl::Hours(24 * 30));
  return e;
}

inline const liaison::v1::EndpointState* FindEndpoint(
    const liaison::v1::ListEndpointsResponse& list, const std::string& id) {
  for (const auto& e : list.endpoints()) {
    if (e.endpoint_id() == id) return &e;
  }
  return nullptr;
}

// A WatchFlows stream read on a thread of its own.
class FlowWatch {
 public:
  FlowWatch(liaison::v1::Admin::Stub& stub, uint32_t replay) {
    liaison::v1::WatchFlowsRequest request;
    request.set_replay(replay);
    reader_ = stub.WatchFlows(&context_, request);
    thread_ = std::thread([this] {
      liaison::v1::FlowEventInfo e;
      while (reader_->Read(&e)) {
        absl::MutexLock lock(&mu_);
        events_.push_back(e);
      }
      grpc::Status s = reader_->Finish();
      absl::MutexLock lock(&mu_);
      status_ = s;
      done_ = true;
    });
  }
  ~FlowWatch() {
    context_.TryCancel();
    thread_.join();
  }
  // Waits until `done(events)` holds; returns the events so far.
  std::vector<liaison::v1::FlowEventInfo> WaitFor(
      const std::function<bool(const std::vector<liaison::v1::FlowEventInfo>&)>& done,
      absl::Duration timeout = absl::Seconds(30)) {
    absl::MutexLock lock(&mu_);
    auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_ || done(events_); };
    mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
    return events_;
  }
  grpc::Status Finished() {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_; };
    mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(10));
    return status_;
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<liaison::v1::FlowEventInfo>> reader_;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<liaison::v1::FlowEventInfo> events_ ABSL_GUARDED_BY(mu_);
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

// The dashboard server over plain HTTP (embedded mode).
struct HttpTarget {
  std::string host;
  int port = 0;
};
inline HttpTarget ParseUrl(const std::string& url) {
  // "http://127.0.0.1:1234/"
  const std::string rest = url.substr(url.find("://") + 3);
  const size_t colon = rest.rfind(':');
  return {rest.substr(0, colon), std::stoi(rest.substr(colon + 1))};
}

struct HttpResult {
  int status = 0;
  std::string body;
  std::string content_type;
};
// A client of the broker's HTTP server: plain in the embedded development
// mode, HTTPS with the operator certificate otherwise (on real Kafka).
inline std::unique_ptr<httplib::Client> HttpClientFor(const TestBroker& broker) {
  const std::string url = broker.http_url();
  const std::string base = url.substr(0, url.find('/', url.find("://") + 3));
  if (url.rfind("https://", 0) != 0) return std::make_unique<httplib::Client>(base);
  auto client =
      std::make_unique<httplib::Client>(base, OperatorPrefix() + ".pem", OperatorPrefix() + ".key");
  client->set_ca_cert_path(SharedTestPki().ca().c_str());
  client->enable_server_certificate_verification(true);
  return client;
}

inline HttpResult HttpGet(const TestBroker& broker, const std::string& path) {
  std::unique_ptr<httplib::Client> client = HttpClientFor(broker);
  client->set_read_timeout(10, 0);
  httplib::Result r = client->Get(path.c_str());
  if (!r) return {};
  return {r->status, r->body, r->get_header_value("Content-Type")};
}

// Reads /api/events until `enough(body)` or `timeout`.
inline std::string ReadEvents(const TestBroker& broker, const std::string& path,
                              const std::function<bool(const std::string&)>& enough,
                              absl::Duration timeout = absl::Seconds(20)) {
  const HttpTarget t = ParseUrl(broker.http_url());
  httplib::Client client(t.host, t.port);
  client.set_read_timeout(2, 0);
  std::string body;
  const absl::Time deadline = absl::Now() + timeout;
  while (!enough(body) && absl::Now() < deadline) {
    body.clear();
    (void)client.Get(path.c_str(), [&](const char* data, size_t n) {
      body.append(data, n);
      return !enough(body) && absl::Now() < deadline;
    });
  }
  return body;
}

inline absl::Status SealAndSend(endpoint::Client& client, liaison::v1::Message m, absl::Time now) {
  absl::StatusOr<liaison::v1::SignedEnvelope> envelope = client.Seal(m, now);
  if (!envelope.ok()) return envelope.status();
  return client.Send(*envelope).status();
}

}  // namespace liaison::testing

#endif  // LIAISON_TESTS_INTEGRATION_OPERATOR_TEST_UTIL_H_
