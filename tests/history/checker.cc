#include "tests/history/checker.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace liaison::history {
namespace {

using Pair = std::pair<std::string, std::string>;  // (message id, recipient)

struct MessageInfo {
  std::string sender;
  std::set<std::string> recipients;
  std::vector<const Event*> sent;
  std::vector<const Event*> accepted;
  std::vector<const Event*> rejected;
};

struct PairInfo {
  // The recipient's own deliveries and acknowledgements, in order.
  std::vector<const Event*> recipient_side;
  std::vector<const Event*> deliveries;
  std::vector<const Event*> acks;
  std::vector<const Event*> receipts;
  // Notices about this pair: to the sender (NON_DELIVERY, LOST, EXPIRED,
  // HELD, DELAYED, RELEASED...) or to the recipient (GAP).
  std::vector<const Event*> notices;
  std::vector<const Event*> audit;
};

std::string At(const Event& e) { return absl::StrCat(HistoryTime(e.at), " (", e.source, ")"); }

bool Allows(const Event& a) {
  return a.audit_event != "acknowledged" && (a.decision == "ALLOW" || a.decision == "REDACT");
}
bool Refuses(const Event& a) { return a.operation == "REFUSAL"; }
bool Holds(const Event& a) { return a.operation == "RETENTION"; }
bool AuditAck(const Event& a) { return a.audit_event == "acknowledged"; }

const Event* FirstNotice(const PairInfo& p, std::initializer_list<const char*> kinds) {
  for (const Event* n : p.notices) {
    for (const char* k : kinds) {
      if (n->notice_kind == k) return n;
    }
  }
  return nullptr;
}

// What the audit trail says about a pair, for messages.
std::string AuditSays(const PairInfo& p, bool have_audit) {
  if (!have_audit) return "no audit trail in the history";
  if (p.audit.empty()) return "no audit entry for the pair";
  std::vector<std::string> parts;
  for (const Event* a : p.audit) {
    parts.push_back(absl::StrCat(
        a->operation, " ", a->audit_event, a->decision.empty() ? "" : " " + a->decision,
        a->rule_ids.empty() ? "" : " [" + absl::StrJoin(a->rule_ids, ",") + "]", " at ",
        HistoryTime(a->at)));
  }
  return absl::StrCat("audit: ", absl::StrJoin(parts, "; "));
}

}  // namespace

std::string Violation::ToString() const {
  return absl::StrCat(rule, ": message ", message_id.empty() ? "-" : message_id, " recipient ",
                      recipient.empty() ? "-" : recipient, ": ", what);
}

CheckResult Check(const std::vector<Event>& history, const CheckOptions& options) {
  CheckResult result;
  Summary& s = result.summary;
  auto violate = [&result](std::string rule, const std::string& m, const std::string& r,
                           std::string what) {
    result.violations.push_back({std::move(rule), m, r, std::move(what)});
  };

  // In time order; events recorded at the same instant keep their order.
  std::vector<const Event*> events;
  for (const Event& e : history) events.push_back(&e);
  std::stable_sort(events.begin(), events.end(),
                   [](const Event* a, const Event* b) { return a->at < b->at; });
  const absl::Time end = events.empty() ? absl::InfinitePast() : events.back()->at;

  std::map<std::string, MessageInfo> messages;
  std::map<Pair, PairInfo> pairs;
  std::map<std::string, std::vector<const Event*>> notices_for_all;  // ingress losses: no recipient
  std::set<std::string> subscribed;
  bool have_audit = false;
  for (const Event* e : events) {
    switch (e->type) {
      case EventType::kSubscribed:
        subscribed.insert(e->by);
        break;
      case EventType::kSent: {
        MessageInfo& m = messages[e->message_id];
        m.sender = e->sender;
        m.recipients.insert(e->recipients.begin(), e->recipients.end());
        m.sent.push_back(e);
        break;
      }
      case EventType::kAccepted:
        messages[e->message_id].accepted.push_back(e);
        if (messages[e->message_id].sender.empty()) messages[e->message_id].sender = e->sender;
        break;
      case EventType::kRejected:
        messages[e->message_id].rejected.push_back(e);
        if (messages[e->message_id].sender.empty()) messages[e->message_id].sender = e->sender;
        ++s.rejected_by_code[e->code];
        break;
      case EventType::kDelivered: {
        PairInfo& p = pairs[{e->message_id, e->recipient}];
        p.deliveries.push_back(e);
        p.recipient_side.push_back(e);
        ++s.deliveries;
        break;
      }
      case EventType::kAcknowledged: {
        PairInfo& p = pairs[{e->message_id, e->recipient}];
        p.acks.push_back(e);
        p.recipient_side.push_back(e);
        break;
      }
      case EventType::kReceipt:
        pairs[{e->message_id, e->recipient}].receipts.push_back(e);
        break;
      case EventType::kNotice:
        if (e->notice_kind == "GAP") {
          pairs[{e->message_id, e->by}].notices.push_back(e);
        } else if (e->recipient.empty()) {
          notices_for_all[e->message_id].push_back(e);
        } else {
          pairs[{e->message_id, e->recipient}].notices.push_back(e);
        }
        break;
      case EventType::kAudit:
        have_audit = true;
        ++s.audit_entries;
        if (!e->recipient.empty()) pairs[{e->message_id, e->recipient}].audit.push_back(e);
        break;
    }
  }
  if (!have_audit) {
    result.notes.push_back(
        "no audit entries in the history: deliveries were not checked against the audit trail");
  }
  // Ingress losses name no recipient: they concern every recipient.
  for (auto& [id, list] : notices_for_all) {
    auto m = messages.find(id);
    if (m == messages.end()) continue;
    for (const std::string& r : m->second.recipients) {
      for (const Event* n : list) pairs[{id, r}].notices.push_back(n);
    }
  }
  // Recipients known from the audit trail too (a sent event may be missing).
  for (const auto& [key, p] : pairs) {
    if (p.audit.empty()) continue;
    auto m = messages.find(key.first);
    if (m != messages.end()) m->second.recipients.insert(key.second);
  }

  for (const auto& [id, m] : messages) {
    if (!m.sent.empty()) ++s.sent;
    if (!m.accepted.empty()) {
      ++s.accepted;
    } else if (!m.rejected.empty()) {
      ++s.rejected;
    }
  }

  // Rule 2: every delivery has an accepted send and an audit entry allowing it.
  for (const auto& [key, p] : pairs) {
    if (p.deliveries.empty()) continue;
    const auto& [id, recipient] = key;
    const Event& first = *p.deliveries.front();
    auto m = messages.find(id);
    if (m == messages.end() ||
        (m->second.sent.empty() && m->second.accepted.empty() && m->second.rejected.empty())) {
      violate("delivered-unsent", id, recipient,
              absl::StrCat("delivered at ", At(first), " (item ", first.item_id,
                           "), but no send of this message is in the history"));
    } else if (m->second.accepted.empty()) {
      const Event& r = *m->second.rejected.back();
      // A client that gave up waiting does not know what happened.
      if (r.code == "DEADLINE_EXCEEDED" || r.code == "CANCELLED") {
        result.notes.push_back(absl::StrCat("message ", id, " delivered to ", recipient,
                                            " after a send that ended ", r.code,
                                            " (indeterminate, not a violation)"));
      } else {
        violate("delivered-unaccepted", id, recipient,
                absl::StrCat("delivered at ", At(first), " (item ", first.item_id,
                             "), but its send was never accepted (last answer ", r.code, ": ",
                             r.error, " at ", At(r), ")"));
      }
    }
    if (have_audit) {
      const Event* allow = nullptr;
      for (const Event* a : p.audit) {
        if (Allows(*a) && allow == nullptr) allow = a;
      }
      if (allow == nullptr) {
        bool refused = false;
        for (const Event* a : p.audit) refused = refused || Refuses(*a);
        violate(
            refused ? "delivered-refused" : "delivered-unaudited", id, recipient,
            absl::StrCat("delivered at ", At(first), " (item ", first.item_id, "), but ",
                         refused ? "the policy refused this recipient" : "no audit entry allows it",
                         " (", AuditSays(p, have_audit), ")"));
      } else {
        const Content expected =
            allow->decision == "REDACT" ? Content::kRedacted : Content::kOriginal;
        for (const Event* d : p.deliveries) {
          if (d->content != expected) {
            violate("content-mismatch", id, recipient,
                    absl::StrCat("delivered ",
                                 d->content == Content::kRedacted ? "redacted" : "original", " at ",
                                 At(*d), ", but the audit entry says ", allow->decision, " (",
                                 At(*allow), ")"));
            break;
          }
        }
      }
    }
  }

  // Rule 3: no new delivery after an acknowledgement the broker took. The
  // broker took an acknowledgement at the receipt's acknowledged_at (or the
  // audit trail's "acknowledged" entry): from then on its registry drops the
  // item. A delivery again before that (the item was not acknowledged, or
  // the acknowledgement was lost with a broken stream) is a redelivery.
  for (const auto& [key, p] : pairs) {
    const auto& [id, recipient] = key;
    std::optional<absl::Time> taken;  // earliest time the broker took an ack
    for (const Event* r : p.receipts) {
      if (!taken || r->acknowledged_at < *taken) taken = r->acknowledged_at;
    }
    for (const Event* a : p.audit) {
      if (AuditAck(*a) && (!taken || a->at < *taken)) taken = a->at;
    }
    const Event* last_delivery = nullptr;
    const Event* last_ack = nullptr;
    for (const Event* e : p.recipient_side) {
      if (e->type == EventType::kAcknowledged) {
        last_ack = e;
        continue;
      }
      if (last_delivery != nullptr) {
        if (last_ack != nullptr && taken && *taken + options.clock_skew < e->at) {
          ++s.duplicates;
          violate(
              "duplicate-delivery", id, recipient,
              absl::StrCat("delivered again at ", At(*e), " (item ", e->item_id,
                           ") after the recipient acknowledged it at ", At(*last_ack),
                           " and the broker took that acknowledgement at ", HistoryTime(*taken)));
        } else {
          ++s.redelivered;
        }
      }
      last_delivery = e;
    }
  }

  // Rule 1: every accepted message reaches each recipient, or its sender is
  // told why not.
  for (const auto& [id, m] : messages) {
    if (m.accepted.empty()) continue;
    for (const std::string& recipient : m.recipients) {
      ++s.pairs;
      const PairInfo& p = pairs[{id, recipient}];
      bool refused = false, held = false, allowed = false;
      for (const Event* a : p.audit) {
        refused = refused || Refuses(*a);
        held = held || Holds(*a);
        allowed = allowed || Allows(*a);
      }
      const Event* non_delivery = FirstNotice(p, {"NON_DELIVERY"});
      const Event* lost = FirstNotice(p, {"LOST", "GAP"});
      const Event* expired = FirstNotice(p, {"EXPIRED"});
      const bool sender_listens = subscribed.contains(m.sender);
      if (!p.deliveries.empty()) {
        ++s.delivered;
        if (!p.acks.empty()) ++s.acknowledged;
        continue;
      }
      if ((refused && !allowed) || non_delivery != nullptr) {
        if (non_delivery != nullptr) {
          ++s.refused_with_notice;
        } else if (sender_listens) {
          violate("refused-without-notice", id, recipient,
                  absl::StrCat("the policy refused this recipient (", AuditSays(p, have_audit),
                               "), but the sender ", m.sender, " got no NON_DELIVERY notice"));
        } else {
          ++s.unobserved;
        }
        continue;
      }
      if (lost != nullptr) {
        ++s.lost_with_notice;
        continue;
      }
      if (expired != nullptr) {
        ++s.expired_with_notice;
        continue;
      }
      if (held || FirstNotice(p, {"HELD", "DELAYED"}) != nullptr) {
        ++s.held;
        continue;
      }
      if (!subscribed.contains(recipient)) {
        ++s.unobserved;
        continue;
      }
      violate("never-delivered", id, recipient,
              absl::StrCat("accepted at ", At(*m.accepted.front()), ", never delivered to ",
                           recipient, " and the sender ", m.sender,
                           " got no LOST, EXPIRED or NON_DELIVERY notice (",
                           AuditSays(p, have_audit), ")"));
    }
  }

  // Rule 4: receipts match acknowledgements.
  for (const auto& [key, p] : pairs) {
    const auto& [id, recipient] = key;
    if (!p.receipts.empty()) ++s.receipts;
    if (!p.receipts.empty() && p.acks.empty() && subscribed.contains(recipient)) {
      const Event& r = *p.receipts.front();
      violate("receipt-without-ack", id, recipient,
              absl::StrCat("receipt received by ", r.by, " at ", At(r), ", acknowledged_at ",
                           HistoryTime(r.acknowledged_at), ", but ", recipient,
                           " never acknowledged the message"));
    }
    if (p.acks.empty() || !p.receipts.empty()) continue;
    auto m = messages.find(id);
    if (m == messages.end() || !subscribed.contains(m->second.sender)) continue;
    const Event& ack = *p.acks.back();
    if (end - ack.at < options.receipt_grace) {
      ++s.pending_receipts;
    } else {
      violate("ack-without-receipt", id, recipient,
              absl::StrCat("acknowledged at ", At(ack), ", but the sender ", m->second.sender,
                           " got no receipt by the end of the history (", HistoryTime(end), ", ",
                           absl::FormatDuration(end - ack.at), " later; grace ",
                           absl::FormatDuration(options.receipt_grace), ")"));
    }
  }

  std::stable_sort(result.violations.begin(), result.violations.end(),
                   [](const Violation& a, const Violation& b) {
                     return std::tie(a.message_id, a.recipient) <
                            std::tie(b.message_id, b.recipient);
                   });
  s.violations = static_cast<int64_t>(result.violations.size());
  return result;
}

std::string FormatSummary(const Summary& s) {
  std::string out;
  auto line = [&out](const char* name, int64_t value) {
    absl::StrAppend(&out, name, ": ", value, "\n");
  };
  line("sent", s.sent);
  line("accepted", s.accepted);
  line("rejected", s.rejected);
  for (const auto& [code, n] : s.rejected_by_code) {
    absl::StrAppend(&out, "  rejections ", code, ": ", n, "\n");
  }
  line("recipient pairs", s.pairs);
  line("delivered", s.delivered);
  line("deliveries", s.deliveries);
  line("redelivered", s.redelivered);
  line("duplicates", s.duplicates);
  line("acknowledged", s.acknowledged);
  line("refused with notice", s.refused_with_notice);
  line("lost with notice", s.lost_with_notice);
  line("expired with notice", s.expired_with_notice);
  line("held", s.held);
  line("unobserved", s.unobserved);
  line("receipts", s.receipts);
  line("pending receipts", s.pending_receipts);
  line("audit entries", s.audit_entries);
  line("violations", s.violations);
  return out;
}

}  // namespace liaison::history
