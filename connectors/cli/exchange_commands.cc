#include "connectors/cli/exchange_commands.h"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "base/proto_time.h"
#include "base/uuid.h"
#include "connectors/cli/exit_codes.h"
#include "connectors/endpoint/client.h"

namespace liaison::cli {
namespace {

std::atomic<bool> interrupted{false};

absl::StatusOr<std::unique_ptr<endpoint::Client>> Connect(Connection& c) {
  if (absl::Status s = c.Resolve(); !s.ok()) return s;
  if (absl::Status s = c.ResolveIdentity(Connection::Role::kEndpoint); !s.ok()) return s;
  absl::StatusOr<endpoint::ClientOptions> options =
      endpoint::ClientOptions::FromPkiDir(c.pki_dir, c.as, c.target);
  if (!options.ok()) return options.status();
  return endpoint::Client::Create(std::move(*options));
}

const char* KindName(endpoint::VerifiedItem::Kind kind) {
  switch (kind) {
    case endpoint::VerifiedItem::Kind::kDelivery:
      return "delivery";
    case endpoint::VerifiedItem::Kind::kReceipt:
      return "receipt";
    case endpoint::VerifiedItem::Kind::kNotice:
      return "notice";
  }
  return "unknown";
}

// One item as printed by `subscribe` and `verify`.
nlohmann::ordered_json Describe(const liaison::v1::DeliveryItem& item,
                                const absl::StatusOr<endpoint::VerifiedItem>& verified) {
  nlohmann::ordered_json out;
  out["item_id"] = item.item_id();
  if (!verified.ok()) {
    out["verified"] = false;
    out["error"] = std::string(verified.status().message());
    return out;
  }
  out["kind"] = KindName(verified->kind());
  out["verified"] = true;
  out["broker"] = verified->broker().id;
  switch (verified->statement().kind_case()) {
    case liaison::v1::Statement::kAttestation:
      out["sender_signature"] =
          verified->broker_authored() ? "not applicable: written by the broker (the linkage "
                                        "index's reply; covered by its attestation)"
          : verified->derived()       ? "not applicable: content derived by the broker "
                                        "(covered by the broker's attestation)"
                                      : "verified";
      out["attestation"] = ToJson(verified->statement().attestation());
      out["message"] = ToJson(*verified->message());
      break;
    case liaison::v1::Statement::kReceipt:
      out["receipt"] = ToJson(verified->statement().receipt());
      break;
    case liaison::v1::Statement::kNotice:
      out["notice"] = ToJson(verified->statement().notice());
      break;
    default:
      break;
  }
  return out;
}

// The parsed --review-in / --erase-in; unset spans leave the file's values.
struct Retention {
  std::optional<absl::Duration> review_in;
  std::optional<absl::Duration> erase_in;

  void ApplyTo(absl::Time now, liaison::v1::Message& message) const {
    if (!review_in && !erase_in) return;
    liaison::v1::Retention* r = message.mutable_header()->mutable_retention();
    if (review_in) *r->mutable_review_by() = ToProto(now + *review_in);
    if (erase_in) *r->mutable_erase_by() = ToProto(now + *erase_in);
  }
};

absl::StatusOr<Retention> ParseRetention(const RetentionSpans& spans) {
  Retention out;
  if (!spans.review_in.empty()) {
    absl::StatusOr<absl::Duration> d = ParseSpan(spans.review_in, "--review-in");
    if (!d.ok()) return d.status();
    out.review_in = *d;
  }
  if (!spans.erase_in.empty()) {
    absl::StatusOr<absl::Duration> d = ParseSpan(spans.erase_in, "--erase-in");
    if (!d.ok()) return d.status();
    out.erase_in = *d;
  }
  return out;
}

void AddRetentionFlags(CLI::App* cmd, RetentionSpans& spans, const std::string& from) {
  cmd->add_option("--review-in", spans.review_in,
                  "Set header.retention.review_by to " + from + " + this span (e.g. 14d)");
  cmd->add_option("--erase-in", spans.erase_in,
                  "Set header.retention.erase_by to " + from + " + this span (e.g. 30d)");
}

// Every recipient refuses a message without retention limits (DP-RET-01),
// so `send` refuses it before signing and names the flags that set them.
absl::Status CheckRetention(const liaison::v1::Message& message, const std::string& file) {
  const liaison::v1::Retention& r = message.header().retention();
  std::vector<std::string> missing;
  if (!r.has_review_by()) missing.push_back("--review-in (header.retention.review_by)");
  if (!r.has_erase_by()) missing.push_back("--erase-in (header.retention.erase_by)");
  if (missing.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(file,
                   ": no retention limits, so every recipient would refuse it (DP-RET-01); "
                   "nothing was signed or sent. Add ",
                   absl::StrJoin(missing, " and "),
                   ", e.g. --review-in 14d --erase-in 30d, or set them in the file"));
}

// "ALLOW", "REJECT", ... (the enum name without its prefix).
std::string OutcomeWord(liaison::v1::Outcome o) {
  return liaison::v1::Outcome_Name(o).substr(sizeof("OUTCOME_") - 1);
}

int RunSend(SendArgs& args) {
  absl::StatusOr<Retention> retention = ParseRetention(args.retention);
  if (!retention.ok()) return Fail(retention.status());
  if (!args.message_id.empty() && (args.files.size() != 1 || !IsUuidV7(args.message_id))) {
    return Fail(AsUsageError(absl::InvalidArgumentError(
        args.files.size() != 1
            ? "--message-id: only with one file (each message has its own id)"
            : "--message-id: must be a lower-case UUIDv7 (e.g. the details_message_id of "
              "`link decide`)")));
  }
  // Every file is read and checked before the first is sent.
  std::vector<liaison::v1::Message> messages;
  const absl::Time now = absl::Now();
  for (const std::string& file : args.files) {
    absl::StatusOr<std::string> text = ReadFileOrStdin(file);
    if (!text.ok()) return Fail(text.status());
    liaison::v1::Message& message = messages.emplace_back();
    if (absl::Status s = ParseJson(*text, file, &message); !s.ok()) return Fail(s);
    if (!args.recipients.empty()) {
      message.mutable_header()->clear_recipients();
      for (const std::string& r : args.recipients) message.mutable_header()->add_recipients(r);
    }
    if (!args.message_id.empty()) message.mutable_header()->set_message_id(args.message_id);
    retention->ApplyTo(now, message);
    if (absl::Status s = CheckRetention(message, file); !s.ok()) return Fail(s);
  }
  absl::StatusOr<std::unique_ptr<endpoint::Client>> client = Connect(args.connection);
  if (!client.ok()) return Fail(client.status());
  // --explain: the policy in force decides every message for every recipient
  // (nothing is delivered, recorded or counted) before the first is signed.
  std::vector<nlohmann::ordered_json> explained(messages.size());
  if (args.explain) {
    for (size_t i = 0; i < messages.size(); ++i) {
      absl::StatusOr<liaison::v1::ExplainResponse> r =
          (*client)->Explain(messages[i], {}, std::nullopt);
      if (!r.ok()) return Fail(r.status());
      std::cerr << args.files[i] << ": policy " << r->policy_version() << ", registry "
                << r->registry_version() << "\n";
      bool anyone = false;
      nlohmann::ordered_json list = nlohmann::ordered_json::array();
      size_t width = 0;
      for (const liaison::v1::PolicyDecision& d : r->decisions()) {
        width = std::max(width, d.recipient().size());
      }
      for (const liaison::v1::PolicyDecision& d : r->decisions()) {
        const std::string outcome = OutcomeWord(d.outcome());
        anyone = anyone || d.outcome() != liaison::v1::OUTCOME_REJECT;
        std::cerr << "  " << d.recipient() << std::string(width - d.recipient().size() + 2, ' ')
                  << outcome << std::string(outcome.size() < 8 ? 8 - outcome.size() : 1, ' ')
                  << d.explanation() << "\n";
        nlohmann::ordered_json one;
        one["recipient"] = d.recipient();
        one["outcome"] = outcome;
        one["deciding_rule_ids"] =
            std::vector<std::string>(d.deciding_rule_ids().begin(), d.deciding_rule_ids().end());
        one["explanation"] = d.explanation();
        list.push_back(std::move(one));
      }
      explained[i] = std::move(list);
      if (!anyone) {
        return Fail(absl::InvalidArgumentError(absl::StrCat(
            args.files[i],
            ": every recipient would refuse it (outcomes above); nothing was "
            "signed or sent. Fix what the reasons name, or send without --explain to have the "
            "refusals recorded")));
      }
    }
  }
  int worst = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    liaison::v1::Message& message = messages[i];
    absl::StatusOr<liaison::v1::SignedEnvelope> envelope = (*client)->Seal(message, absl::Now());
    if (!envelope.ok()) return Fail(envelope.status());
    absl::StatusOr<liaison::v1::SendResult> result = (*client)->Send(*envelope);
    nlohmann::ordered_json out;
    out["file"] = args.files[i];
    out["message_id"] = message.header().message_id();
    if (args.explain) out["explain"] = explained[i];
    if (result.ok()) {
      out["status"] =
          result->duplicate() ? "accepted (duplicate: already accepted before)" : "accepted";
      out["accepted_at"] = ToJson(*result)["accepted_at"];
    } else {
      out["status"] = "refused";
      out["code"] = absl::StatusCodeToString(result.status().code());
      out["error"] = std::string(result.status().message());
      worst = std::max(worst, Fail(result.status()));
    }
    std::cout << out.dump() << std::endl;
  }
  return worst;
}

int RunSubscribe(SubscribeArgs& args) {
  absl::StatusOr<std::unique_ptr<endpoint::Client>> client = Connect(args.connection);
  if (!client.ok()) return Fail(client.status());
  absl::StatusOr<std::unique_ptr<endpoint::Subscription>> subscription =
      (*client)->Subscribe(args.window);
  if (!subscription.ok()) return Fail(subscription.status());
  std::cerr << "subscribed as " << args.connection.as << " to " << args.connection.target
            << "; waiting for items (Ctrl-C to stop)" << std::endl;
  std::signal(SIGINT, [](int) { interrupted = true; });
  std::signal(SIGTERM, [](int) { interrupted = true; });
  if (!args.save_dir.empty()) std::filesystem::create_directories(args.save_dir);
  int received = 0;
  absl::Time last_item = absl::Now();
  int exit_code = 0;
  while (!interrupted && (args.count == 0 || received < args.count)) {
    absl::StatusOr<endpoint::Subscription::Received> next =
        (*subscription)->Next(absl::Milliseconds(200));
    if (!next.ok()) {
      if (absl::IsDeadlineExceeded(next.status())) {
        if (args.idle_seconds > 0 && absl::Now() - last_item > absl::Seconds(args.idle_seconds)) {
          break;
        }
        continue;
      }
      exit_code = Fail(next.status());
      break;
    }
    last_item = absl::Now();
    ++received;
    std::cout << Describe(next->item, next->verified).dump() << std::endl;
    if (!args.save_dir.empty()) {
      std::ofstream(args.save_dir + "/" + next->item.item_id() + ".json")
          << ToJson(next->item).dump(2) << "\n";
    }
    if (!next->verified.ok()) {
      // Never acknowledge what did not verify: report it and keep it pending.
      std::cerr << "warning: item " << next->item.item_id()
                << " failed verification and was not acknowledged: "
                << next->verified.status().message() << std::endl;
      exit_code = kExitVerifyFailed;
      continue;
    }
    if (!args.no_ack) {
      if (absl::Status s = (*subscription)->Ack({next->item.item_id()}); !s.ok()) {
        exit_code = Fail(s);
        break;
      }
    }
  }
  (void)(*subscription)->Close();
  return exit_code;
}

int RunVerify(VerifyArgs& args) {
  Connection& c = args.connection;
  if (c.pki_dir.empty()) {
    if (absl::Status s = c.Resolve(); !s.ok()) return Fail(s);
  }
  if (absl::Status s = c.ResolveIdentity(Connection::Role::kEndpoint); !s.ok()) return Fail(s);
  absl::StatusOr<std::shared_ptr<const certs::TrustStore>> trust =
      certs::TrustStore::Load(c.pki_dir + "/ca.pem", c.pki_dir + "/crl.pem");
  if (!trust.ok()) return Fail(trust.status());
  absl::StatusOr<std::string> text = ReadFileOrStdin(args.file);
  if (!text.ok()) return Fail(text.status());
  liaison::v1::DeliveryItem item;
  if (absl::Status s = ParseJson(*text, args.file, &item); !s.ok()) return Fail(s);
  endpoint::ItemVerifier verifier(*trust, c.as);
  absl::StatusOr<endpoint::VerifiedItem> verified = verifier.Verify(item, absl::Now());
  std::cout << Describe(item, verified).dump(2) << std::endl;
  return verified.ok() ? kExitOk : kExitVerifyFailed;
}

}  // namespace

absl::StatusOr<absl::Duration> ParseSpan(const std::string& text, const std::string& flag) {
  int64_t n = 0;
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    n = n * 10 + (text[i] - '0');
    ++i;
  }
  if (i == 0 || i + 1 != text.size() || n > 100000) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " '", text, "': expected a number and a unit, e.g. 30d, 12h, 90m"));
  }
  switch (text[i]) {
    case 'd':
      return absl::Hours(24 * n);
    case 'h':
      return absl::Hours(n);
    case 'm':
      return absl::Minutes(n);
    case 's':
      return absl::Seconds(n);
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " '", text, "': unit must be d, h, m or s"));
  }
}

namespace {

const char* VerdictName(liaison::v1::RuleVerdict v) {
  switch (v) {
    case liaison::v1::RULE_VERDICT_NOT_APPLICABLE:
      return "n/a";
    case liaison::v1::RULE_VERDICT_PASS:
      return "pass";
    case liaison::v1::RULE_VERDICT_REDACT:
      return "REDACT";
    case liaison::v1::RULE_VERDICT_DELAY:
      return "DELAY";
    case liaison::v1::RULE_VERDICT_HOLD:
      return "HOLD";
    case liaison::v1::RULE_VERDICT_REJECT:
      return "REJECT";
    default:
      return "?";
  }
}

int RunExplain(ExplainArgs& args) {
  std::optional<absl::Time> at;
  if (!args.at.empty()) {
    absl::Time t;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, args.at, &t, &error)) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("--at '", args.at, "': not an RFC 3339 time (", error, ")")));
    }
    at = t;
  }
  absl::StatusOr<Retention> retention = ParseRetention(args.retention);
  if (!retention.ok()) return Fail(retention.status());
  absl::StatusOr<std::unique_ptr<endpoint::Client>> client = Connect(args.connection);
  if (!client.ok()) return Fail(client.status());
  absl::StatusOr<std::string> text = ReadFileOrStdin(args.file);
  if (!text.ok()) return Fail(text.status());
  liaison::v1::Message message;
  if (absl::Status s = ParseJson(*text, args.file, &message); !s.ok()) return Fail(s);
  retention->ApplyTo(at.value_or(absl::Now()), message);
  absl::StatusOr<liaison::v1::ExplainResponse> r = (*client)->Explain(message, args.recipients, at);
  if (!r.ok()) return Fail(r.status());
  if (args.json) {
    std::cout << ToJson(*r).dump(2) << std::endl;
    return 0;
  }
  std::cout << "policy " << r->policy_version() << ", registry " << r->registry_version() << "\n";
  for (const liaison::v1::PolicyDecision& d : r->decisions()) {
    std::cout << "\n"
              << d.recipient() << ": "
              << liaison::v1::Outcome_Name(d.outcome()).substr(sizeof("OUTCOME_") - 1) << "\n  "
              << d.explanation() << "\n";
    for (const liaison::v1::PolicyRuleResult& rule : d.rules()) {
      if (rule.verdict() == liaison::v1::RULE_VERDICT_NOT_APPLICABLE) continue;
      std::cout << "    " << rule.rule_id() << "  " << VerdictName(rule.verdict());
      if (rule.mode() == liaison::v1::RULE_MODE_SHADOW) std::cout << " (shadow)";
      if (rule.mode() == liaison::v1::RULE_MODE_EXEMPTED) {
        std::cout << " (exempted by " << rule.exempted_by() << ")";
      }
      if (!rule.reason().empty()) std::cout << "  " << rule.reason();
      std::cout << "\n";
    }
    for (const liaison::v1::Obligation& o : d.obligations()) {
      std::cout << "    obligation " << o.code() << " (" << o.rule_id() << "): " << o.text()
                << "\n";
    }
    for (const liaison::v1::PolicyHold& h : d.holds()) {
      std::cout << "    waits for " << liaison::v1::ConsentKind_Name(h.consent_kind()) << " from "
                << h.awaiting() << " (" << h.rule_id() << ")\n";
    }
  }
  return 0;
}

void AddConnectionFlags(CLI::App* cmd, Connection& c, bool need_as = true) {
  auto* as = cmd->add_option(
      "--as", c.as, "Endpoint id to act as: a folder of <pki>/endpoints/ (e.g. RO-IGPR; any case)");
  if (need_as) as->required();
  cmd->add_option("--state-dir", c.state_dir,
                  "State folder of the broker (reads broker.json there)")
      ->capture_default_str();
  cmd->add_option("--target", c.target,
                  "Broker address host:port, or several nodes host:port,host:port to fail over "
                  "between (default: from broker.json)");
  cmd->add_option("--pki", c.pki_dir, "PKI folder (default: from broker.json)");
}

}  // namespace

void AddExchangeCommands(CLI::App& app, ExchangeArgs& args, int& exit_code) {
  SendArgs& send = args.send;
  SubscribeArgs& subscribe = args.subscribe;
  VerifyArgs& verify = args.verify;
  ExplainArgs& explain = args.explain;
  CLI::App* s = app.add_subcommand(
      "send", "Sign messages written as protobuf JSON (liaison.v1.Message) and send them");
  AddConnectionFlags(s, send.connection);
  s->add_option("files", send.files, "Message files ('-' = stdin)")->required();
  s->add_option("--to", send.recipients, "Recipients (replace header.recipients)")->delimiter(',');
  AddRetentionFlags(s, send.retention, "now");
  s->add_option("--message-id", send.message_id,
                "header.message_id of the one message (an id announced before, e.g. the "
                "details_message_id of `link decide`)");
  s->add_flag("--explain", send.explain,
              "First ask the broker how the policy would decide each message for each "
              "recipient and print the outcomes (stderr; \"explain\" in the JSON); a message "
              "every recipient would refuse is not sent");
  s->footer(
      "A message needs retention limits (header.retention.review_by and erase_by): from\n"
      "--review-in/--erase-in or from the file. Without them send refuses before signing.");
  s->callback([&] { exit_code = RunSend(send); });

  CLI::App* sub = app.add_subcommand(
      "subscribe",
      "Receive deliveries, receipts and notices; verify each, print it as JSON, acknowledge it");
  AddConnectionFlags(sub, subscribe.connection);
  sub->add_option("--count", subscribe.count, "Stop after this many items");
  sub->add_option("--idle", subscribe.idle_seconds, "Stop after this many seconds without an item");
  sub->add_option("--window", subscribe.window, "Unacknowledged items in flight")
      ->capture_default_str();
  sub->add_flag("--no-ack", subscribe.no_ack,
                "Do not acknowledge (the items come again on the next subscribe)");
  sub->add_option("--save-dir", subscribe.save_dir,
                  "Also save each item as <dir>/<item_id>.json (for `liaison verify`)");
  sub->callback([&] { exit_code = RunSubscribe(subscribe); });

  CLI::App* v =
      app.add_subcommand("verify", "Verify a saved item (from subscribe --save-dir) offline");
  AddConnectionFlags(v, verify.connection);
  v->add_option("file", verify.file, "Saved item (liaison.v1.DeliveryItem JSON)")->required();
  v->callback([&] { exit_code = RunVerify(verify); });

  CLI::App* e = app.add_subcommand(
      "explain",
      "Show how the policy in force would decide a message for each recipient, without sending");
  AddConnectionFlags(e, explain.connection);
  e->add_option("file", explain.file, "Message file (liaison.v1.Message JSON, '-' = stdin)")
      ->required();
  e->add_option("--to", explain.recipients, "Recipients (default: header.recipients)")
      ->delimiter(',');
  e->add_option("--at", explain.at, "Decision time, RFC 3339 (default: now)");
  AddRetentionFlags(e, explain.retention, "--at (or now)");
  e->add_flag("--json", explain.json, "Print the full decisions as JSON");
  e->callback([&] { exit_code = RunExplain(explain); });
}

}  // namespace liaison::cli
