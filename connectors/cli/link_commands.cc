#include "connectors/cli/link_commands.h"

#include <functional>
#include <iostream>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "base/proto_time.h"
#include "base/uuid.h"
#include "connectors/cli/exchange_commands.h"
#include "connectors/cli/exit_codes.h"
#include "connectors/cli/index_commands.h"
#include "connectors/cli/index_file.h"
#include "connectors/cli/suggest.h"
#include "connectors/endpoint/client.h"
#include "connectors/endpoint/linkage_messages.h"

namespace liaison::cli {
namespace {

using endpoint::VerifiedItem;
using liaison::v1::Message;
using Json = nlohmann::ordered_json;

// Resolves the broker, the PKI and --as, then connects.
absl::StatusOr<std::unique_ptr<endpoint::Client>> Connect(Connection& c) {
  if (absl::Status s = c.Resolve(); !s.ok()) return s;
  if (absl::Status s = c.ResolveIdentity(Connection::Role::kEndpoint); !s.ok()) return s;
  absl::StatusOr<endpoint::ClientOptions> options =
      endpoint::ClientOptions::FromPkiDir(c.pki_dir, c.as, c.target);
  if (!options.ok()) return options.status();
  return endpoint::Client::Create(std::move(*options));
}

absl::Status Usage(absl::string_view what) {
  return AsUsageError(absl::InvalidArgumentError(what));
}

// The header fields every linkage command takes from its flags.
absl::StatusOr<endpoint::LinkageHeader> HeaderOf(const LinkArgs& args, absl::Time now) {
  endpoint::LinkageHeader h;
  h.case_ref = args.case_ref;
  h.legal_basis = args.legal_basis;
  h.sender_officer = args.officer;
  for (const std::string& p :
       args.purposes.empty() ? std::vector<std::string>{"investigate"} : args.purposes) {
    absl::StatusOr<liaison::v1::Purpose> purpose = ParsePurpose(p);
    if (!purpose.ok()) return purpose.status();
    h.purposes.push_back(*purpose);
  }
  absl::StatusOr<absl::Duration> review = ParseSpan(args.review_in, "--review-in");
  if (!review.ok()) return AsUsageError(review.status());
  absl::StatusOr<absl::Duration> erase = ParseSpan(args.erase_in, "--erase-in");
  if (!erase.ok()) return AsUsageError(erase.status());
  if (*erase < *review) return Usage("--erase-in: shorter than --review-in");
  h.review_by = now + *review;
  h.erase_by = now + *erase;
  h.urgency = args.urgent ? liaison::v1::URGENCY_URGENT : liaison::v1::URGENCY_ROUTINE;
  const std::string access = absl::AsciiStrToLower(args.access);
  if (access == "direct") {
    h.access_kind = liaison::v1::ACCESS_KIND_DIRECT;
  } else if (access == "indirect") {
    h.access_kind = liaison::v1::ACCESS_KIND_INDIRECT;
  } else if (!access.empty()) {
    return Usage(absl::StrCat("--access '", args.access, "': direct or indirect"));
  }
  const std::string handling = absl::AsciiStrToUpper(args.handling);
  if (handling == "H0") {
    h.handling = liaison::v1::HANDLING_CODE_H0;
  } else if (handling == "H1") {
    h.handling = liaison::v1::HANDLING_CODE_H1;
  } else if (handling == "H2") {
    h.handling = liaison::v1::HANDLING_CODE_H2;
  } else {
    return Usage(absl::StrCat("--handling '", args.handling,
                              "': H0, H1 or H2 (H3 needs restriction codes: write the message in "
                              "full and use liaison send)"));
  }
  return h;
}

// A builder's refusal of a value given by a flag, named as that flag (a
// usage error, exit 2).
absl::Status AsFlagError(const absl::Status& status) {
  static const std::pair<absl::string_view, absl::string_view> kFlags[] = {
      {"linkage_query.case_ref", "--case-ref"},
      {"linkage_query.offence_code", "--offence"},
      {"followup_request.owner_ref", "--owner-ref"},
      {"followup_request.query_id", "--query-id"},
      {"followup_request.justification_id", "--justification"},
      {"followup_request.owner", "--owner"},
      {"followup_decision.followup_id", "--followup-id"},
      {"followup_decision.details_message_id", "--details-message-id"},
      {"followup_decision.reason_code", "--reason"},
      {"header.recipients", "--to"},
  };
  const absl::string_view message = status.message();
  for (const auto& [field, flag] : kFlags) {
    if (absl::StartsWith(message, absl::StrCat(field, ":"))) {
      return Usage(absl::StrCat(flag, " (", field, ")", message.substr(field.size())));
    }
  }
  return status;
}

// Whether `item` is a notice about message `id`.
bool IsNoticeAbout(const VerifiedItem& item, const std::string& id) {
  if (item.kind() != VerifiedItem::Kind::kNotice) return false;
  const liaison::v1::Notice& n = item.statement().notice();
  if (n.message_id() == id) return true;
  for (const std::string& m : n.message_ids()) {
    if (m == id) return true;
  }
  return false;
}

// "NON_DELIVERY" for NOTICE_KIND_NON_DELIVERY.
std::string NoticeWord(liaison::v1::NoticeKind kind) {
  return liaison::v1::NoticeKind_Name(kind).substr(sizeof("NOTICE_KIND_") - 1);
}

Json NoticeJson(const liaison::v1::Notice& n) {
  Json j;
  j["notice"] = NoticeWord(n.kind());
  if (!n.recipient().empty()) j["recipient"] = n.recipient();
  j["rule_ids"] = std::vector<std::string>(n.rule_ids().begin(), n.rule_ids().end());
  j["reasons"] = std::vector<std::string>(n.reasons().begin(), n.reasons().end());
  if (!n.hold_id().empty()) j["hold_id"] = n.hold_id();
  if (!n.awaiting().empty()) j["awaiting"] = n.awaiting();
  if (n.has_due())
    j["due"] = absl::FormatTime(absl::RFC3339_sec, FromProto(n.due()), absl::UTCTimeZone());
  return j;
}

// What to do with an item read while waiting.
enum class Take {
  kLeave,       // not acknowledged: it comes again on the next subscribe
  kAck,         // acknowledged
  kAckAndStop,  // acknowledged, and the wait is over
  kStop,        // left, and the wait is over
};

// Reads `subscription` for up to `wait`, handing each verified item to
// `handle`; acknowledges only what `handle` says to. Items that fail
// verification are reported on stderr, never acknowledged, and counted in
// `unverified`. Returns when `handle` stops, the wait is over
// (DeadlineExceeded) or the stream breaks (its status).
absl::Status Await(endpoint::Subscription& subscription, absl::Duration wait,
                   const std::function<Take(const VerifiedItem&)>& handle, int& unverified) {
  const absl::Time until = absl::Now() + wait;
  for (;;) {
    const absl::Duration left = until - absl::Now();
    if (left <= absl::ZeroDuration()) return absl::DeadlineExceededError("no answer in time");
    absl::StatusOr<endpoint::Subscription::Received> next =
        subscription.Next(std::min(left, absl::Milliseconds(200)));
    if (!next.ok()) {
      if (absl::IsDeadlineExceeded(next.status())) continue;
      return next.status();
    }
    if (!next->verified.ok()) {
      std::cerr << "warning: item " << next->item.item_id()
                << " failed verification and was not acknowledged: "
                << next->verified.status().message() << std::endl;
      ++unverified;
      continue;
    }
    const Take take = handle(*next->verified);
    if (take == Take::kAck || take == Take::kAckAndStop) {
      if (absl::Status s = subscription.Ack({next->item.item_id()}); !s.ok()) return s;
    }
    if (take == Take::kAckAndStop || take == Take::kStop) return absl::OkStatus();
  }
}

// --- query ----------------------------------------------------------------------

struct QueryResult {
  std::optional<liaison::v1::LinkageReply> reply;
  std::string broker;   // the node that wrote and signed the reply
  std::string item_id;  // the reply's item (acknowledged)
  // Recipients the policy refused, with the notice.
  std::map<std::string, liaison::v1::Notice> refused;
};

// The hits of identifier `index` (those with hit = true).
std::vector<const liaison::v1::LinkageHit*> HitsOf(const liaison::v1::LinkageReply& reply,
                                                   int index) {
  std::vector<const liaison::v1::LinkageHit*> out;
  for (const liaison::v1::LinkageHit& h : reply.hits()) {
    if (h.identifier_index() == index && h.hit()) out.push_back(&h);
  }
  return out;
}

bool Answered(const liaison::v1::LinkageReply& reply, int index) {
  for (const liaison::v1::LinkageHit& h : reply.hits()) {
    if (h.identifier_index() == index) return true;
  }
  return false;
}

int PrintQuery(const LinkArgs& args, const std::string& source, const std::vector<QueryRow>& rows,
               const Message& query, uint32_t epoch, const QueryResult& result,
               const absl::Status& waited, int unverified) {
  const std::string& id = query.header().message_id();
  const std::string& as = args.connection.as;
  std::set<std::pair<std::string, std::string>> cases;  // (owner, owner_ref)
  int hit_rows = 0;
  Json identifiers = Json::array();
  for (size_t i = 0; i < rows.size(); ++i) {
    Json one;
    one["line"] = rows[i].line;
    one["type"] = rows[i].type;
    one["typed"] = rows[i].typed;
    if (result.reply) {
      const std::vector<const liaison::v1::LinkageHit*> hits =
          HitsOf(*result.reply, static_cast<int>(i));
      one["hit"] = !hits.empty();
      if (!Answered(*result.reply, static_cast<int>(i))) one["answered"] = false;
      Json list = Json::array();
      for (const liaison::v1::LinkageHit* h : hits) {
        list.push_back({{"owner", h->owner()}, {"owner_ref", h->owner_ref()}});
        cases.emplace(h->owner(), h->owner_ref());
      }
      one["hits"] = std::move(list);
      hit_rows += hits.empty() ? 0 : 1;
    }
    identifiers.push_back(std::move(one));
  }
  Json refused = Json::array();
  for (const auto& [recipient, notice] : result.refused) refused.push_back(NoticeJson(notice));

  int exit_code = kExitOk;
  std::string status = "answered";
  std::string problem;
  if (!result.reply) {
    if (!result.refused.empty() &&
        static_cast<int>(result.refused.size()) == query.header().recipients_size()) {
      status = "refused";
      problem = "the policy refused the query for every recipient (reasons above); no reply";
      exit_code = kExitNoPerm;
    } else if (args.no_wait) {
      status = "sent";
    } else if (absl::IsDeadlineExceeded(waited)) {
      status = "no reply yet";
      problem = absl::StrCat("no reply within ", args.wait_seconds,
                             " s; it will come on the Subscribe stream (liaison subscribe --as ",
                             as, "), answering query ", id);
      exit_code = unverified > 0 ? kExitVerifyFailed : kExitTempFail;
    } else {
      status = "no reply";
      problem = absl::StrCat(absl::StatusCodeToString(waited.code()), ": ", waited.message(),
                             "; the query was sent (", id, ")");
      exit_code = ExitCodeFor(waited);
    }
  }

  if (args.json) {
    Json out;
    out["query_id"] = id;
    out["status"] = status;
    out["case_ref"] = query.linkage_query().case_ref();
    out["offence"] = query.linkage_query().offence_code();
    out["sent_to"] = std::vector<std::string>(query.header().recipients().begin(),
                                              query.header().recipients().end());
    out["epoch"] = epoch;
    if (result.reply) {
      out["broker"] = result.broker;
      out["item_id"] = result.item_id;
    }
    out["identifiers"] = std::move(identifiers);
    out["refused"] = std::move(refused);
    if (!problem.empty()) out["error"] = problem;
    std::cout << out.dump(2) << std::endl;
    return exit_code;
  }
  for (const auto& [recipient, notice] : result.refused) {
    std::cout << "refused for " << recipient << ": " << absl::StrJoin(notice.reasons(), "; ")
              << "\n";
  }
  if (result.reply) {
    std::cout << "reply from the index (written and signed by broker " << result.broker
              << ", verified):\n";
    size_t type_width = 4;
    size_t typed_width = 5;
    for (const QueryRow& r : rows) {
      type_width = std::max(type_width, r.type.size());
      typed_width = std::max(typed_width, r.typed.size());
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      const std::string where = absl::StrCat(source, ":", rows[i].line);
      const std::string head = absl::StrCat(
          "  ", where, "  ", rows[i].type, std::string(type_width - rows[i].type.size() + 2, ' '),
          rows[i].typed, std::string(typed_width - rows[i].typed.size() + 2, ' '));
      const std::vector<const liaison::v1::LinkageHit*> hits =
          HitsOf(*result.reply, static_cast<int>(i));
      if (hits.empty()) {
        std::cout << head << (Answered(*result.reply, static_cast<int>(i)) ? "no hit" : "no answer")
                  << "\n";
      }
      for (const liaison::v1::LinkageHit* h : hits) {
        std::cout << head << "HIT  " << h->owner() << "  " << h->owner_ref() << "\n";
      }
    }
    std::cout << hit_rows << " of " << rows.size() << " identifiers hit";
    if (cases.empty()) {
      std::cout << ".\n";
    } else {
      std::vector<std::string> names;
      for (const auto& [owner, ref] : cases) names.push_back(absl::StrCat(owner, " ", ref));
      std::cout << ", in " << cases.size() << (cases.size() == 1 ? " case: " : " cases: ")
                << absl::StrJoin(names, ", ")
                << (cases.size() == 1 ? ".\nTo ask the owner for the details:\n"
                                      : ".\nTo ask an owner for the details:\n");
      for (const auto& [owner, ref] : cases) {
        std::cout << "  liaison link follow-up --as " << as << " --owner " << owner
                  << " --owner-ref " << ref << " --query-id " << id << " --case-ref "
                  << query.linkage_query().case_ref()
                  << " --purpose investigate --justification YOUR-REF\n";
      }
    }
  } else if (args.no_wait) {
    std::cout << "the reply will come on the Subscribe stream (liaison subscribe --as " << as
              << "), answering query " << id << "\n";
  }
  if (!problem.empty()) std::cerr << "error: " << problem << "\n";
  return exit_code;
}

int RunQuery(LinkArgs& args) {
  if (args.recipients.empty())
    return Fail(Usage("--to: name the endpoints to search (RO-IGPR,DE-BKA)"));
  if (args.case_ref.empty()) return Fail(Usage("--case-ref: required (your case reference)"));
  if (args.offence.empty()) return Fail(Usage("--offence: required (an offence code, e.g. THB)"));
  if (!args.no_wait && (args.wait_seconds <= 0 || args.wait_seconds > 3600)) {
    return Fail(Usage("--wait: 1 to 3600 seconds (or --no-wait)"));
  }
  const absl::Time now = absl::Now();
  absl::StatusOr<endpoint::LinkageHeader> header = HeaderOf(args, now);
  if (!header.ok()) return Fail(header.status());
  header->recipients = args.recipients;
  if (absl::Status s = args.connection.Resolve(); !s.ok()) return Fail(s);
  if (absl::Status s = args.connection.ResolveIdentity(Connection::Role::kEndpoint); !s.ok()) {
    return Fail(s);
  }
  absl::StatusOr<endpoint::linkage::LinkageKey> key =
      LoadLinkageKey(args.key_path, args.connection.pki_dir);
  if (!key.ok()) return Fail(key.status());
  absl::StatusOr<std::unique_ptr<endpoint::linkage::Normalizer>> normalizer =
      EndpointNormalizer(args.region, args.name_language, args.connection.as);
  if (!normalizer.ok()) return Fail(normalizer.status());

  // Every row is read, normalised and blinded before anything is sent.
  const std::string source = args.file == "-" ? "stdin" : args.file;
  absl::StatusOr<std::string> text = ReadFileOrStdin(args.file);
  if (!text.ok()) return Fail(text.status());
  absl::StatusOr<std::vector<IndexRow>> parsed =
      ParseIndexFile(*text, source, IdentifierFileUse::kQuery);
  text->assign(text->size(), '\0');
  if (!parsed.ok()) return Fail(parsed.status());
  absl::StatusOr<std::vector<QueryRow>> rows = BlindQueryRows(*parsed, source, **normalizer, *key);
  if (!rows.ok()) return Fail(rows.status());
  std::vector<liaison::v1::BlindedIdentifier> identifiers;
  for (const QueryRow& r : *rows) identifiers.push_back(r.identifier);
  absl::StatusOr<Message> query =
      endpoint::MakeLinkageQuery(*header, args.offence, std::move(identifiers));
  if (!query.ok()) return Fail(AsFlagError(query.status()));

  absl::StatusOr<std::unique_ptr<endpoint::Client>> client = Connect(args.connection);
  if (!client.ok()) return Fail(client.status());
  // Subscribed before sending, so that a stream the broker refuses (too many
  // open) is known before anything is sent. The window is the broker's
  // largest: items of other business are read and left for `subscribe`.
  std::unique_ptr<endpoint::Subscription> subscription;
  if (!args.no_wait) {
    absl::StatusOr<std::unique_ptr<endpoint::Subscription>> s = (*client)->Subscribe(10000);
    if (!s.ok()) return Fail(s.status());
    subscription = std::move(*s);
  }
  absl::StatusOr<liaison::v1::SignedEnvelope> envelope = (*client)->Seal(*query, absl::Now());
  if (!envelope.ok()) return Fail(envelope.status());
  absl::StatusOr<liaison::v1::SendResult> sent = (*client)->Send(*envelope);
  if (!sent.ok()) return Fail(sent.status());
  const std::string& id = query->header().message_id();
  if (!args.json) {
    std::cout << "query " << id << ": " << rows->size() << " identifiers (epoch " << key->epoch()
              << ") for case " << args.case_ref << " (" << args.offence << ") sent to "
              << absl::StrJoin(args.recipients, ", ") << std::endl;
  }

  QueryResult result;
  absl::Status waited = absl::OkStatus();
  int unverified = 0;
  if (subscription != nullptr) {
    if (!args.json) {
      std::cerr << "waiting up to " << args.wait_seconds << " s for the reply" << std::endl;
    }
    const size_t recipients = args.recipients.size();
    auto handle = [&](const VerifiedItem& item) {
      if (IsNoticeAbout(item, id) &&
          item.statement().notice().kind() == liaison::v1::NOTICE_KIND_NON_DELIVERY) {
        const liaison::v1::Notice& n = item.statement().notice();
        result.refused[n.recipient()] = n;
        return result.refused.size() >= recipients && !result.reply ? Take::kStop : Take::kLeave;
      }
      absl::StatusOr<std::optional<liaison::v1::LinkageReply>> reply =
          endpoint::LinkageReplyTo(item, *envelope);
      if (!reply.ok()) {
        std::cerr << "warning: " << reply.status().message() << "; left unacknowledged"
                  << std::endl;
        return Take::kLeave;
      }
      if (!reply->has_value() || result.reply) return Take::kLeave;
      result.reply = std::move(**reply);
      result.broker = item.broker().id;
      result.item_id = item.item_id();
      return Take::kAckAndStop;
    };
    waited = Await(*subscription, absl::Seconds(args.wait_seconds), handle, unverified);
    if (result.reply) {
      // Refusals for other recipients come at about the same time: read on
      // while items come (500 ms apart at most, 3 s in all).
      const absl::Time until = absl::Now() + absl::Seconds(3);
      bool more = true;
      while (more && absl::Now() < until) {
        more = false;
        (void)Await(
            *subscription, absl::Milliseconds(500),
            [&](const VerifiedItem& item) {
              more = true;
              (void)handle(item);
              return Take::kStop;
            },
            unverified);
      }
    }
    (void)subscription->Close();
  }
  return PrintQuery(args, source, *rows, *query, key->epoch(), result, waited, unverified);
}

// --- follow-up ------------------------------------------------------------------

int RunFollowUp(LinkArgs& args) {
  if (args.owner.empty()) return Fail(Usage("--owner: required (the owner endpoint of the hit)"));
  if (args.purposes.empty()) {
    return Fail(Usage("--purpose: required (what the details are needed for, e.g. investigate)"));
  }
  if (args.notice_wait_seconds < 0 || args.notice_wait_seconds > 3600) {
    return Fail(Usage("--wait: 0 to 3600 seconds"));
  }
  const absl::Time now = absl::Now();
  absl::StatusOr<endpoint::LinkageHeader> header = HeaderOf(args, now);
  if (!header.ok()) return Fail(header.status());
  liaison::v1::FollowUpRequest body;
  body.set_owner(args.owner);
  body.set_owner_ref(args.owner_ref);
  body.set_query_id(absl::AsciiStrToLower(args.query_id));
  for (liaison::v1::Purpose p : header->purposes) body.add_purposes(p);
  body.set_justification_id(args.justification);
  absl::StatusOr<Message> followup = endpoint::MakeFollowUpRequest(*header, std::move(body));
  if (!followup.ok()) return Fail(AsFlagError(followup.status()));

  absl::StatusOr<std::unique_ptr<endpoint::Client>> client = Connect(args.connection);
  if (!client.ok()) return Fail(client.status());
  std::unique_ptr<endpoint::Subscription> subscription;
  const bool wait = args.notice_wait_seconds > 0;
  if (wait) {
    absl::StatusOr<std::unique_ptr<endpoint::Subscription>> s = (*client)->Subscribe(10000);
    if (!s.ok()) return Fail(s.status());
    subscription = std::move(*s);
  }
  absl::StatusOr<liaison::v1::SignedEnvelope> envelope = (*client)->Seal(*followup, absl::Now());
  if (!envelope.ok()) return Fail(envelope.status());
  absl::StatusOr<liaison::v1::SendResult> sent = (*client)->Send(*envelope);
  if (!sent.ok()) return Fail(sent.status());
  const std::string& id = followup->header().message_id();
  if (!args.json) {
    std::cout << "follow-up " << id << " for " << args.owner_ref << " sent to " << args.owner
              << std::endl;
  }
  // The broker's first word on it: HELD for the owner's decision
  // (DP-LINK-02), or a refusal.
  std::optional<liaison::v1::Notice> notice;
  int unverified = 0;
  if (subscription != nullptr) {
    (void)Await(
        *subscription, absl::Seconds(args.notice_wait_seconds),
        [&](const VerifiedItem& item) {
          if (!IsNoticeAbout(item, id)) return Take::kLeave;
          notice = item.statement().notice();
          return Take::kAckAndStop;
        },
        unverified);
    (void)subscription->Close();
  }
  const bool refused = notice && notice->kind() == liaison::v1::NOTICE_KIND_NON_DELIVERY;
  if (args.json) {
    Json out;
    out["followup_id"] = id;
    out["owner"] = args.owner;
    out["owner_ref"] = args.owner_ref;
    out["query_id"] = followup->followup_request().query_id();
    out["status"] = notice ? absl::AsciiStrToLower(NoticeWord(notice->kind())) : "accepted";
    if (notice) out["broker"] = NoticeJson(*notice);
    std::cout << out.dump(2) << std::endl;
  } else if (notice) {
    std::cout << NoticeWord(notice->kind()) << ": " << absl::StrJoin(notice->reasons(), "; ")
              << "\n";
    if (notice->kind() == liaison::v1::NOTICE_KIND_HELD) {
      std::cout << args.owner << " decides; its decision comes to you (liaison subscribe --as "
                << args.connection.as << ")\n";
    }
  } else {
    std::cout << "accepted; the broker holds it for " << args.owner
              << "'s decision (DP-LINK-02), which comes to you (liaison subscribe --as "
              << args.connection.as << ")\n";
  }
  if (refused) return kExitNoPerm;
  return unverified > 0 ? kExitVerifyFailed : kExitOk;
}

// --- decide ---------------------------------------------------------------------

int RunDecide(LinkArgs& args) {
  if (args.approve == args.refuse) {
    return Fail(Usage("give --approve or --refuse (one of them)"));
  }
  if (args.to.empty()) return Fail(Usage("--to: required (the requester of the follow-up)"));
  if (args.refuse && args.reason.empty()) {
    return Fail(Usage("--reason: required with --refuse (a reason code, e.g. ONGOING_OPERATION)"));
  }
  if (args.approve && !args.reason.empty()) return Fail(Usage("--reason: only with --refuse"));
  if (args.refuse && !args.details_message_id.empty()) {
    return Fail(Usage("--details-message-id: only with --approve"));
  }
  const absl::Time now = absl::Now();
  absl::StatusOr<endpoint::LinkageHeader> header = HeaderOf(args, now);
  if (!header.ok()) return Fail(header.status());
  header->recipients = {args.to};
  liaison::v1::FollowUpDecision body;
  body.set_followup_id(absl::AsciiStrToLower(args.followup_id));
  body.set_approve(args.approve);
  body.set_reason_code(args.reason);
  if (args.approve) {
    // The details travel later as their own message under this id; minted
    // here when not given, and printed.
    body.set_details_message_id(args.details_message_id.empty()
                                    ? NewUuidV7(now)
                                    : absl::AsciiStrToLower(args.details_message_id));
  }
  absl::StatusOr<Message> decision = endpoint::MakeFollowUpDecision(*header, std::move(body));
  if (!decision.ok()) return Fail(AsFlagError(decision.status()));
  absl::StatusOr<std::unique_ptr<endpoint::Client>> client = Connect(args.connection);
  if (!client.ok()) return Fail(client.status());
  absl::StatusOr<liaison::v1::SignedEnvelope> envelope = (*client)->Seal(*decision, absl::Now());
  if (!envelope.ok()) return Fail(envelope.status());
  absl::StatusOr<liaison::v1::SendResult> sent = (*client)->Send(*envelope);
  if (!sent.ok()) return Fail(sent.status());
  const liaison::v1::FollowUpDecision& d = decision->followup_decision();
  if (args.json) {
    Json out;
    out["decision_id"] = decision->header().message_id();
    out["followup_id"] = d.followup_id();
    out["to"] = args.to;
    out["decision"] = d.approve() ? "approve" : "refuse";
    if (d.approve()) out["details_message_id"] = d.details_message_id();
    if (!d.approve()) out["reason"] = d.reason_code();
    out["status"] = "accepted";
    std::cout << out.dump(2) << std::endl;
    return kExitOk;
  }
  std::cout << "decision " << decision->header().message_id() << " ("
            << (d.approve() ? "approved" : absl::StrCat("refused: ", d.reason_code()))
            << ") on follow-up " << d.followup_id() << " sent to " << args.to << "\n";
  if (d.approve()) {
    std::cout << "send the details to " << args.to << " as an INFO_EXCHANGE under the id "
              << d.details_message_id() << "; they go through every rule:\n  liaison send --as "
              << args.connection.as << " --to " << args.to << " --message-id "
              << d.details_message_id() << " --review-in 30d --erase-in 90d DETAILS.json\n";
  }
  return kExitOk;
}

void AddConnectionFlags(CLI::App* cmd, LinkArgs& args) {
  Connection& c = args.connection;
  cmd->add_option("--as", c.as, "Endpoint id to act as: a folder of <pki>/endpoints/ (e.g. ES-PN)")
      ->required();
  cmd->add_option("--state-dir", c.state_dir, "State folder of the broker (reads broker.json)")
      ->capture_default_str();
  cmd->add_option("--target", c.target, "Broker address host:port (default: from broker.json)");
  cmd->add_option("--pki", c.pki_dir, "PKI folder (default: from broker.json)");
  cmd->add_flag("--json", args.json, "Print the result as JSON");
}

void AddHeaderFlags(CLI::App* cmd, LinkArgs& args, bool purpose_required) {
  cmd->add_option("--purpose", args.purposes,
                  purpose_required
                      ? "Purposes (investigate, prosecute, prevent, detect, ...; repeatable)"
                      : "Purposes (investigate, prosecute, ...; repeatable; default investigate)")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd->add_option("--legal-basis", args.legal_basis, "Registered legal-basis codes (DP-BASIS-01)")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->capture_default_str();
  cmd->add_option("--review-in", args.review_in, "header.retention.review_by = now + this span")
      ->capture_default_str();
  cmd->add_option("--erase-in", args.erase_in,
                  "header.retention.erase_by = now + this span (DP-RET-01: within the "
                  "registry's maximum for the kind, 180 d in development)")
      ->capture_default_str();
  cmd->add_option("--officer", args.officer, "Pseudonymous staff id of the officer");
  cmd->add_option("--handling", args.handling, "Handling code: H0, H1 or H2 (DP-HC-01)")
      ->capture_default_str();
}

}  // namespace

absl::StatusOr<liaison::v1::Purpose> ParsePurpose(const std::string& text) {
  std::string name = absl::AsciiStrToUpper(text);
  if (!absl::StartsWith(name, "PURPOSE_")) name = "PURPOSE_" + name;
  liaison::v1::Purpose p;
  if (name != "PURPOSE_UNSPECIFIED" && liaison::v1::Purpose_Parse(name, &p)) return p;
  std::vector<std::string> names;
  const google::protobuf::EnumDescriptor* d = liaison::v1::Purpose_descriptor();
  for (int i = 1; i < d->value_count(); ++i) {
    names.push_back(absl::AsciiStrToLower(d->value(i)->name().substr(sizeof("PURPOSE_") - 1)));
  }
  std::string why = absl::StrCat("--purpose '", text, "': unknown");
  if (std::optional<std::string> near = Nearest(absl::AsciiStrToLower(text), names)) {
    absl::StrAppend(&why, "; did you mean '", *near, "'?");
  }
  absl::StrAppend(&why, " (one of ", absl::StrJoin(names, ", "), ")");
  return Usage(why);
}

void AddLinkCommands(CLI::App& app, LinkArgs& args, int& exit_code) {
  CLI::App* link = app.add_subcommand(
      "link", "Case linkage: query the index (hit / no hit), follow up a hit, decide a follow-up");
  link->require_subcommand(1);

  CLI::App* query = link->add_subcommand(
      "query",
      "Normalise and blind the identifiers of FILE locally, ask the index, print hit / no hit");
  AddConnectionFlags(query, args);
  query->add_option("file", args.file, "CSV or JSON file of identifiers ('-' = stdin)")->required();
  query
      ->add_option("--to", args.recipients,
                   "Endpoints whose index entries to search (RO-IGPR,DE-BKA)")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->required();
  query->add_option("--case-ref", args.case_ref, "Your case reference (e.g. ES-2026-0091)")
      ->required();
  query->add_option("--offence", args.offence, "Offence code (e.g. THB)")->required();
  AddHeaderFlags(query, args, /*purpose_required=*/false);
  query->add_flag("--urgent", args.urgent, "header.urgency = URGENT");
  query->add_option("--key", args.key_path,
                    "Linkage key file (default: the newest <pki>/linkage/epoch-N.key)");
  query->add_option("--region", args.region,
                    "Region of phone numbers without a country code (default: the country of "
                    "--as)");
  query->add_option("--name-language", args.name_language,
                    "ISO 639-1 language of Cyrillic names without a language column");
  query->add_option("--wait", args.wait_seconds, "Seconds to wait for the reply (1..3600)")
      ->capture_default_str();
  query->add_flag("--no-wait", args.no_wait,
                  "Send and print the query id; the reply comes on `liaison subscribe`");
  query->footer(
      "Cleartext never leaves this process: each row is normalised and blinded here with the\n"
      "network linkage key; the query carries the 32-byte values, the case reference and the\n"
      "offence code. Every row is checked before anything is sent (FILE:LINE: field: reason).\n"
      "Columns: type,value[,country,document_type,date_of_birth,language], at most 20 rows;\n"
      "types: phone iban vin plate document email name_dob (docs/cli.md). The reply is the\n"
      "broker's, from the index: per identifier hit or no hit, the owner endpoint and its case\n"
      "handle (LNK-...). Only the reply is acknowledged; other items are left for subscribe.");
  query->callback([&] { exit_code = RunQuery(args); });

  CLI::App* followup = link->add_subcommand(
      "follow-up", "Ask the owner of a hit for the details; held until the owner decides");
  AddConnectionFlags(followup, args);
  followup->add_option("--owner", args.owner, "Owner endpoint of the hit (e.g. RO-IGPR)")
      ->required();
  followup->add_option("--owner-ref", args.owner_ref, "The owner's case handle from the reply")
      ->required();
  followup->add_option("--query-id", args.query_id, "Message id of your query")->required();
  followup
      ->add_option("--justification", args.justification,
                   "Reference of the necessity justification kept on your side")
      ->required();
  followup->add_option("--case-ref", args.case_ref, "Your case reference");
  AddHeaderFlags(followup, args, /*purpose_required=*/true);
  followup->add_flag("--urgent", args.urgent, "header.urgency = URGENT (DP-TIME-01 deadlines)");
  followup->add_option("--access", args.access,
                       "direct or indirect: how the owner holds the information (DP-TIME-01)");
  followup
      ->add_option("--wait", args.notice_wait_seconds,
                   "Seconds to wait for the broker's notice on it (HELD; 0: do not wait)")
      ->capture_default_str();
  followup->footer(
      "The follow-up goes to the owner only and is HELD (DP-LINK-02) until the owner's signed\n"
      "decision (liaison link decide). On approval the owner sends the details as a normal\n"
      "message, which goes through every rule.");
  followup->callback([&] { exit_code = RunFollowUp(args); });

  CLI::App* decide = link->add_subcommand(
      "decide", "The owner's signed decision on a follow-up: approve (details follow) or refuse");
  AddConnectionFlags(decide, args);
  decide->add_option("--followup-id", args.followup_id, "Message id of the follow-up request")
      ->required();
  decide->add_option("--to", args.to, "The requester (who sent the follow-up)")->required();
  decide->add_flag("--approve", args.approve, "Approve: the details follow as their own message");
  decide->add_flag("--refuse", args.refuse, "Refuse (with --reason)");
  decide->add_option("--details-message-id", args.details_message_id,
                     "With --approve: the message id the details will be sent under (default: "
                     "a new one, printed)");
  decide->add_option("--reason", args.reason,
                     "With --refuse: a reason code, A-Z 0-9 _ - (e.g. ONGOING_OPERATION)");
  decide->add_option("--case-ref", args.case_ref, "Your case reference (optional)");
  AddHeaderFlags(decide, args, /*purpose_required=*/false);
  decide->footer(
      "Approval releases the held follow-up to you and tells the requester; then send the\n"
      "details as an INFO_EXCHANGE with the details message id. Refusal tells the requester.");
  decide->callback([&] { exit_code = RunDecide(args); });
}

}  // namespace liaison::cli
