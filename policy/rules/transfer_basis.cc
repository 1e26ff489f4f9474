#include "policy/rules/transfer_basis.h"
#include "absl/strings/string_view.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/proto_time.h"
#include "policy/internal/message_view.h"
#include "policy/internal/text.h"
#include "policy/rules/rule_util.h"

namespace liaison::policy::rules {
namespace {

bool ListHas(const google::protobuf::RepeatedPtrField<std::string>& list, absl::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// Why `s` does not cover the transfer ("" when it does).
std::string Mismatch(const liaison::v1::Safeguard& s, const Input& in, uint32_t types) {
  std::string why;
  if (s.has_valid_from() && in.now < FromProto(s.valid_from())) {
    absl::StrAppend(&why, "not valid until ", internal::FormatDay(FromProto(s.valid_from())));
  }
  if (s.has_valid_until() && in.now >= FromProto(s.valid_until())) {
    absl::StrAppend(&why, "expired ", internal::FormatDay(FromProto(s.valid_until())));
  }
  for (int t = 1; t < 32; ++t) {
    if ((types & internal::Bit(t)) == 0) continue;
    if (std::find(s.entity_types().begin(), s.entity_types().end(), t) == s.entity_types().end()) {
      absl::StrAppend(&why, why.empty() ? "" : ", ", "entity type ",
                      internal::EntityTypeName(static_cast<liaison::v1::EntityType>(t)));
    }
  }
  for (int p : in.message->header().purposes()) {
    if (std::find(s.purposes().begin(), s.purposes().end(), p) == s.purposes().end()) {
      absl::StrAppend(&why, why.empty() ? "" : ", ", "purpose ",
                      internal::PurposeName(static_cast<liaison::v1::Purpose>(p)));
    }
  }
  return why;
}

}  // namespace

Verdict TransferBasisRule::Check(const Input& in) const {
  const Parties p = PartiesOf(in);
  if (!p.ok()) return UnknownParty(kId, in, p);
  if (!p.recipient->third_country() || p.recipient->country() == p.sender->country()) {
    return Verdict::NotApplicable();
  }
  if (!p.recipient->endpoint->competent_authority()) {
    return Verdict::Reject(absl::StrCat(kId.value(), ": ", p.recipient->id(),
                                        " is not a competent authority (LED art 39 transfers are "
                                        "out of scope); send only to competent authorities"));
  }
  if (const auto* a = in.registry->FindAdequacy(p.recipient->country(), in.now); a != nullptr) {
    Verdict v = Verdict::Pass(absl::StrCat(kId.value(), ": transfer to ", p.recipient->id(),
                                           " under adequacy decision ", a->ref()));
    liaison::v1::TransferBasis t;
    t.set_kind(liaison::v1::TRANSFER_KIND_ADEQUACY);
    t.set_ref(a->ref());
    v.transfer = std::move(t);
    return v;
  }
  const uint32_t types = internal::EntityTypeMask(*in.message);
  std::string not_covering;
  for (const auto& s : in.registry->proto().safeguards()) {
    if (!ListHas(s.senders(), p.sender->id()) || !ListHas(s.recipients(), p.recipient->id()))
      continue;
    const std::string why = Mismatch(s, in, types);
    if (why.empty()) {
      Verdict v = Verdict::Pass(absl::StrCat(kId.value(), ": transfer to ", p.recipient->id(),
                                             " under safeguard ", s.ref()));
      liaison::v1::TransferBasis t;
      t.set_kind(s.kind());
      t.set_ref(s.ref());
      v.transfer = std::move(t);
      v.transfer_documentation_required = true;
      return v;
    }
    absl::StrAppend(&not_covering, not_covering.empty() ? " (" : "; ", s.ref(), " does not cover ",
                    why);
  }
  const liaison::v1::TransferBasis& declared = in.message->header().transfer();
  if (declared.kind() == liaison::v1::TRANSFER_KIND_DEROGATION_38 &&
      declared.derogation() >= liaison::v1::DEROGATION_38A &&
      declared.derogation() <= liaison::v1::DEROGATION_38E) {
    Verdict v = Verdict::Pass(
        absl::StrCat(kId.value(), ": transfer to ", p.recipient->id(), " under derogation ",
                     internal::DerogationName(declared.derogation()), " (limits: DP-XFER-03)"));
    v.transfer = declared;
    v.transfer_documentation_required = true;
    return v;
  }
  if (!not_covering.empty()) not_covering += ")";
  return Verdict::Reject(absl::StrCat(kId.value(), ": no adequacy, safeguard or derogation for ",
                                      Pair(p), not_covering,
                                      "; register a safeguard or declare an art 38 derogation in "
                                      "header.transfer"));
}

}  // namespace liaison::policy::rules
