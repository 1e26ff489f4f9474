#include "connectors/cli/evidence_commands.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "base/proto_time.h"
#include "base/uuid.h"
#include "certs/key_wrap.h"
#include "connectors/cli/exchange_commands.h"
#include "connectors/cli/exit_codes.h"
#include "connectors/cli/link_commands.h"
#include "connectors/endpoint/client.h"

namespace liaison::cli {
namespace {

using liaison::v1::EvidenceItem;
using liaison::v1::Message;
using Json = nlohmann::ordered_json;

absl::Status Usage(absl::string_view what) {
  return AsUsageError(absl::InvalidArgumentError(what));
}

// Resolves the broker, the PKI and --as, then connects.
absl::StatusOr<std::unique_ptr<endpoint::Client>> Connect(Connection& c) {
  if (absl::Status s = c.Resolve(); !s.ok()) return s;
  if (absl::Status s = c.ResolveIdentity(Connection::Role::kEndpoint); !s.ok()) return s;
  absl::StatusOr<endpoint::ClientOptions> options =
      endpoint::ClientOptions::FromPkiDir(c.pki_dir, c.as, c.target);
  if (!options.ok()) return options.status();
  return endpoint::Client::Create(std::move(*options));
}

std::string EndpointFile(const Connection& c, const std::string& id, const std::string& name) {
  return absl::StrCat(c.pki_dir, "/endpoints/", id, "/", name);
}

// The recipient `id`'s endpoint-encryption certificate from the PKI folder.
absl::StatusOr<endpoint::EvidenceRecipient> RecipientOf(const Connection& c,
                                                        const std::string& id) {
  const std::string path = EndpointFile(c, id, "enc.pem");
  if (!std::filesystem::exists(path)) {
    return absl::NotFoundError(absl::StrCat("--to ", id, ": no encryption certificate ", path,
                                            " (not an endpoint of this PKI?)"));
  }
  absl::StatusOr<certs::Certificate> cert = certs::Certificate::FromPemFile(path);
  if (!cert.ok())
    return absl::Status(cert.status().code(), absl::StrCat(path, ": ", cert.status().message()));
  return endpoint::EvidenceRecipient{id, *std::move(cert)};
}

// Whether the policy in force refuses `recipient` JIT membership
// (DP-JIT-01, enforced) in `decision`; its reason in `why`.
bool RefusedMembership(const liaison::v1::PolicyDecision& decision, std::string& why) {
  for (const liaison::v1::PolicyRuleResult& r : decision.rules()) {
    if (r.rule_id() == "DP-JIT-01" && r.verdict() == liaison::v1::RULE_VERDICT_REJECT &&
        r.mode() != liaison::v1::RULE_MODE_SHADOW) {
      // The rule's reason starts with its id.
      why = absl::StartsWith(r.reason(), r.rule_id()) ? r.reason()
                                                      : absl::StrCat(r.rule_id(), ": ", r.reason());
      return true;
    }
  }
  return false;
}

// "RO" for "RO-IGPR".
std::string CountryOf(const std::string& endpoint_id) { return endpoint_id.substr(0, 2); }

std::string Hex(const std::string& bytes) { return absl::BytesToHexString(bytes); }

int RunUpload(EvidenceArgs& args) {
  if (args.files.empty()) return Fail(Usage("FILES: name at least one file to upload"));
  if (args.jit.empty()) return Fail(Usage("--jit: required (the JIT id, e.g. JIT-2025-014)"));
  if (args.recipients.empty())
    return Fail(Usage("--to: name the JIT members to send to (DE-BKA,NL-NP)"));
  if (!args.item_ids.empty() && args.item_ids.size() != args.files.size()) {
    return Fail(Usage(absl::StrCat("--item-id: given ", args.item_ids.size(), " times for ",
                                   args.files.size(), " files (one per file, or none)")));
  }
  for (const std::string& f : args.files) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(f, ec)) {
      return Fail(absl::NotFoundError(absl::StrCat(f, ": not a readable file")));
    }
  }
  absl::StatusOr<absl::Duration> erase_in = ParseSpan(args.erase_in, "--erase-in");
  if (!erase_in.ok()) return Fail(AsUsageError(erase_in.status()));
  Message manifest;
  liaison::v1::Header& h = *manifest.mutable_header();
  for (const std::string& p :
       args.purposes.empty() ? std::vector<std::string>{"investigate"} : args.purposes) {
    absl::StatusOr<liaison::v1::Purpose> purpose = ParsePurpose(p);
    if (!purpose.ok()) return Fail(purpose.status());
    h.add_purposes(*purpose);
  }

  absl::StatusOr<std::unique_ptr<endpoint::Client>> client = Connect(args.connection);
  if (!client.ok()) return Fail(client.status());
  const Connection& c = args.connection;
  std::map<std::string, endpoint::EvidenceRecipient> certificates;
  for (const std::string& r : args.recipients) {
    absl::StatusOr<endpoint::EvidenceRecipient> rec = RecipientOf(c, r);
    if (!rec.ok()) return Fail(rec.status());
    certificates.emplace(r, *std::move(rec));
  }

  const absl::Time now = absl::Now();
  h.set_kind(liaison::v1::KIND_EVIDENCE_MANIFEST);
  h.set_jit_id(args.jit);
  if (!args.case_ref.empty()) h.set_case_ref(args.case_ref);
  for (const std::string& b : args.legal_basis) h.add_legal_basis(b);
  for (const std::string& r : args.recipients) h.add_recipients(r);
  if (!args.collected_by.empty()) h.set_sender_officer(args.collected_by);
  // Evidence is kept at most 4 weeks; the default 28 d is within the
  // registry's maximum (JIT end + 30 d) whenever the JIT is running.
  *h.mutable_retention()->mutable_erase_by() = ToProto(now + *erase_in);
  *h.mutable_retention()->mutable_review_by() = ToProto(now + *erase_in);
  h.set_urgency(liaison::v1::URGENCY_ROUTINE);
  h.mutable_handling()->set_code(liaison::v1::HANDLING_CODE_H0);
  const std::string obtained_in =
      args.obtained_in.empty() ? CountryOf(args.connection.as) : args.obtained_in;
  h.mutable_provenance()->set_obtained_in(obtained_in);
  liaison::v1::EvidenceManifest& m = *manifest.mutable_evidence_manifest();
  m.set_jit_id(args.jit);
  const std::string batch = NewUuidV7(now).substr(0, 23);
  for (size_t i = 0; i < args.files.size(); ++i) {
    EvidenceItem& item = *m.add_items();
    item.set_item_id(args.item_ids.empty() ? absl::StrCat("EV-", batch, "-", i + 1)
                                           : args.item_ids[i]);
    item.set_sha256(std::string(32, '\0'));  // replaced after the upload
    item.set_size(static_cast<int64_t>(std::filesystem::file_size(args.files[i])));
    item.set_media_type(args.media_type);
    if (!args.description.empty()) item.set_description_code(args.description);
    if (!args.collected_by.empty()) item.set_collected_by(args.collected_by);
    *item.mutable_collected_at() = ToProto(now);
    item.set_obtained_in(obtained_in);
    item.set_child_interview(args.child_interview);
  }

  // A recipient the policy refuses as a non-member of the JIT is given no
  // wrapped key (the broker would refuse the upload); it still gets the
  // manifest, which the policy refuses and the sender is told of.
  absl::StatusOr<liaison::v1::ExplainResponse> explained =
      (*client)->Explain(manifest, args.recipients);
  if (!explained.ok()) return Fail(explained.status());
  std::map<std::string, std::string> no_key;  // recipient -> why
  for (const liaison::v1::PolicyDecision& d : explained->decisions()) {
    std::string why;
    if (RefusedMembership(d, why)) no_key[d.recipient()] = why;
  }
  endpoint::UploadItemOptions up;
  up.jit_id = args.jit;
  up.spool_dir = args.spool_dir;
  for (const std::string& r : args.recipients) {
    if (!no_key.contains(r)) up.recipients.push_back(certificates.at(r));
  }
  if (up.recipients.empty()) {
    return Fail(absl::PermissionDeniedError(
        absl::StrCat("no recipient may receive evidence of ", args.jit, ": ",
                     absl::StrJoin(no_key, "; ", absl::PairFormatter(": ")))));
  }

  const bool tty = isatty(STDOUT_FILENO) != 0;
  Json out;
  out["jit_id"] = args.jit;
  out["items"] = Json::array();
  for (size_t i = 0; i < args.files.size(); ++i) {
    EvidenceItem& item = *m.mutable_items(static_cast<int>(i));
    up.item_id = item.item_id();
    const std::string& file = args.files[i];
    if (tty && !args.json) {
      up.progress = [&](int64_t done, int64_t total) {
        std::printf("\r%s: chunk %lld of %lld (%lld%%)", file.c_str(), static_cast<long long>(done),
                    static_cast<long long>(total),
                    static_cast<long long>(total > 0 ? done * 100 / total : 100));
        std::fflush(stdout);
      };
    }
    absl::StatusOr<EvidenceItem> uploaded = (*client)->UploadItem(file, up);
    if (tty && !args.json) std::printf("\n");
    if (!uploaded.ok()) {
      return Fail(absl::Status(uploaded.status().code(),
                               absl::StrCat(file, ": ", uploaded.status().message())));
    }
    item.set_sha256(uploaded->sha256());
    item.set_size(uploaded->size());
    item.set_ciphertext_sha256(uploaded->ciphertext_sha256());
    item.set_chunk_count(uploaded->chunk_count());
    item.set_ciphertext_size(uploaded->ciphertext_size());
    Json j;
    j["file"] = file;
    j["item_id"] = item.item_id();
    j["size"] = item.size();
    j["sha256"] = Hex(item.sha256());
    j["chunks"] = item.chunk_count();
    out["items"].push_back(j);
    if (!args.json) {
      std::cout << "uploaded " << file << " as " << item.item_id() << " (" << item.size()
                << " bytes, " << item.chunk_count()
                << (item.chunk_count() == 1 ? " chunk" : " chunks") << ", SHA-256 "
                << Hex(item.sha256()) << ")\n";
    }
  }

  absl::StatusOr<liaison::v1::SignedEnvelope> envelope = (*client)->Seal(manifest, now);
  if (!envelope.ok()) return Fail(envelope.status());
  absl::StatusOr<liaison::v1::SendResult> sent = (*client)->Send(*envelope);
  if (!sent.ok()) return Fail(sent.status());
  out["manifest_message_id"] = sent->message_id();
  out["recipients"] = Json::array();
  for (const std::string& r : args.recipients) {
    Json j;
    j["recipient"] = r;
    j["broker"] = sent->duplicate() ? "accepted (duplicate)" : "accepted";
    j["key_wrapped"] = !no_key.contains(r);
    if (no_key.contains(r)) j["refused"] = no_key.at(r);
    out["recipients"].push_back(j);
  }
  if (args.json) {
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "manifest " << sent->message_id() << " (" << args.files.size() << " items of "
            << args.jit << ")\n";
  for (const std::string& r : args.recipients) {
    std::cout << "  " << r << ": accepted";
    if (no_key.contains(r)) {
      std::cout << "; no key wrapped, the policy refuses it (" << no_key.at(r) << ")";
    } else {
      std::cout << "; key wrapped";
    }
    std::cout << "\n";
  }
  std::cout << "The policy decides per recipient; refusals come as notices on "
               "`liaison subscribe`.\n";
  return kExitOk;
}

int RunList(EvidenceArgs& args) {
  absl::StatusOr<std::unique_ptr<endpoint::Client>> client = Connect(args.connection);
  if (!client.ok()) return Fail(client.status());
  absl::StatusOr<liaison::v1::ListResponse> listed = (*client)->ListItems();
  if (!listed.ok()) return Fail(listed.status());
  Json items = Json::array();
  for (const liaison::v1::GrantedItem& g : listed->items()) {
    Json j;
    j["item_id"] = g.grant().item_id();
    j["jit_id"] = g.grant().jit_id();
    j["size"] = g.grant().item().size();
    j["media_type"] = g.grant().item().media_type();
    j["complete"] = g.complete();
    j["manifest_message_id"] = g.grant().manifest_message_id();
    j["sha256"] = Hex(g.grant().item().sha256());
    items.push_back(j);
  }
  if (args.json) {
    Json out;
    out["items"] = items;
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (items.empty()) {
    std::cout << "no evidence items granted to " << args.connection.as << "\n";
    return kExitOk;
  }
  for (const Json& j : items) {
    std::cout << j["item_id"].get<std::string>() << "  " << j["jit_id"].get<std::string>() << "  "
              << j["size"].get<int64_t>() << " bytes  " << j["media_type"].get<std::string>()
              << "  " << (j["complete"].get<bool>() ? "complete" : "incomplete") << "  manifest "
              << j["manifest_message_id"].get<std::string>() << "\n";
  }
  return kExitOk;
}

int RunDownload(EvidenceArgs& args) {
  if (args.download_ids.empty()) return Fail(Usage("ITEM_ID: name at least one item"));
  if (args.out_dir.empty()) return Fail(Usage("--out: required (the folder to write to)"));
  absl::StatusOr<std::unique_ptr<endpoint::Client>> client = Connect(args.connection);
  if (!client.ok()) return Fail(client.status());
  const Connection& c = args.connection;
  absl::StatusOr<certs::RecipientKey> key = certs::RecipientKey::FromPemFiles(
      EndpointFile(c, c.as, "enc.key"), EndpointFile(c, c.as, "enc.pem"));
  if (!key.ok()) return Fail(key.status());
  absl::StatusOr<liaison::v1::ListResponse> listed = (*client)->ListItems();
  if (!listed.ok()) return Fail(listed.status());
  std::error_code ec;
  std::filesystem::create_directories(args.out_dir, ec);
  if (ec)
    return Fail(
        absl::FailedPreconditionError(absl::StrCat("--out ", args.out_dir, ": ", ec.message())));
  Json out = Json::array();
  for (const std::string& id : args.download_ids) {
    const liaison::v1::GrantedItem* found = nullptr;
    for (const liaison::v1::GrantedItem& g : listed->items()) {
      if (g.grant().item_id() == id) found = &g;
    }
    if (found == nullptr) {
      // No grant listed: the broker says why (an erased item: since when and
      // why; otherwise no grant). Nothing is written: the broker refuses
      // before sending anything.
      EvidenceItem probe;
      probe.set_item_id(id);
      const std::string nowhere =
          (std::filesystem::path(args.out_dir) / (id + ".refused")).string();
      if (absl::Status s = (*client)->DownloadItem(probe, *key, nowhere);
          !s.ok() && !absl::IsPermissionDenied(s)) {
        return Fail(s);
      }
      return Fail(absl::PermissionDeniedError(
          absl::StrCat("evidence item '", id, "': no grant for ", c.as,
                       " (the policy has not delivered a manifest naming the item to it)")));
    }
    const std::string path = (std::filesystem::path(args.out_dir) / id).string();
    if (absl::Status s = (*client)->DownloadItem(found->grant().item(), *key, path); !s.ok()) {
      return Fail(s);
    }
    Json j;
    j["item_id"] = id;
    j["file"] = path;
    j["size"] = found->grant().item().size();
    j["sha256"] = Hex(found->grant().item().sha256());
    if (!args.json) {
      std::cout << "downloaded " << id << " to " << path << " (" << found->grant().item().size()
                << " bytes, SHA-256 verified)\n";
    }
    // The file is written and verified: tell the broker (chain of custody;
    // the item is erased once every member it was wrapped for acknowledged).
    if (!args.no_ack) {
      absl::StatusOr<absl::Time> acked =
          (*client)->AcknowledgeItem(id, found->grant().item().sha256());
      if (!acked.ok()) {
        return Fail(absl::Status(
            acked.status().code(),
            absl::StrCat(acked.status().message(), " (the file ", path,
                         " is written and verified; run the download again to acknowledge)")));
      }
      j["acknowledged_at"] = absl::FormatTime(absl::RFC3339_sec, *acked, absl::UTCTimeZone());
      if (!args.json) {
        std::cout << "acknowledged " << id
                  << " (the broker erases it once every member it was sent to acknowledged)\n";
      }
    }
    out.push_back(j);
  }
  if (args.json) std::cout << Json{{"items", out}}.dump(2) << "\n";
  return kExitOk;
}

void AddConnectionFlags(CLI::App* cmd, EvidenceArgs& args) {
  Connection& c = args.connection;
  cmd->add_option("--as", c.as,
                  "Endpoint id to act as: a folder of <pki>/endpoints/ (e.g. RO-IGPR)")
      ->required();
  cmd->add_option("--state-dir", c.state_dir, "State folder of the broker (reads broker.json)")
      ->capture_default_str();
  cmd->add_option("--target", c.target, "Broker address host:port (default: from broker.json)");
  cmd->add_option("--pki", c.pki_dir, "PKI folder (default: from broker.json)");
  cmd->add_flag("--json", args.json, "Print the result as JSON");
}

}  // namespace

void AddEvidenceCommands(CLI::App& app, EvidenceArgs& args, int& exit_code) {
  CLI::App* evidence = app.add_subcommand(
      "evidence",
      "JIT evidence: upload encrypted files with a manifest, list and download them, check "
      "their chain of custody");
  evidence->require_subcommand(1);

  CLI::App* upload = evidence->add_subcommand(
      "upload", "Encrypt FILES for the recipients, upload them, send the EVIDENCE_MANIFEST");
  AddConnectionFlags(upload, args);
  upload->add_option("files", args.files, "Files to upload (one item each)")->required();
  upload->add_option("--jit", args.jit, "JIT id (e.g. JIT-2025-014)")->required();
  upload->add_option("--to", args.recipients, "JIT members to send to (DE-BKA,NL-NP)")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->required();
  upload
      ->add_option("--item-id", args.item_ids,
                   "Item id per file, in order (1..128 of A-Z a-z 0-9 . _ : -; default "
                   "EV-<uuid>-N)")
      ->delimiter(',')
      ->allow_extra_args(false);
  upload->add_option("--case-ref", args.case_ref, "Your case reference (a case of the JIT)");
  upload->add_option("--purpose", args.purposes, "Purposes (default investigate)")
      ->delimiter(',')
      ->allow_extra_args(false);
  upload->add_option("--legal-basis", args.legal_basis, "Legal-basis codes (DP-BASIS-01)")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->capture_default_str();
  upload
      ->add_option("--erase-in", args.erase_in,
                   "header.retention.erase_by = now + this span (at most the JIT end + 30 d)")
      ->capture_default_str();
  upload->add_option("--media-type", args.media_type, "Media type of every file")
      ->capture_default_str();
  upload->add_option("--description", args.description, "Description code (e.g. PREMISES_PHOTO)");
  upload->add_option("--collected-by", args.collected_by,
                     "Pseudonymous id of the collecting officer");
  upload->add_option("--obtained-in", args.obtained_in,
                     "ISO 3166-1 country where obtained (default: the country of --as)");
  upload->add_flag("--child-interview", args.child_interview,
                   "The items are a child's recorded interview (DP-CHILD-01)");
  upload->add_option("--spool-dir", args.spool_dir,
                     "Where ciphertext is kept during the upload (default: the temporary folder)");
  upload->footer(
      "Each file is encrypted here (AES-256-GCM, a fresh key per item) and its key wrapped for\n"
      "each recipient's encryption certificate (<pki>/endpoints/ID/enc.pem); the broker never\n"
      "sees plaintext. A recipient the policy refuses as a non-member of the JIT (DP-JIT-01)\n"
      "gets no wrapped key. Then one signed EVIDENCE_MANIFEST names the items; members can\n"
      "download once the policy delivered it to them.");
  upload->callback([&] { exit_code = RunUpload(args); });

  CLI::App* list = evidence->add_subcommand("list", "The evidence items the policy granted you");
  AddConnectionFlags(list, args);
  list->callback([&] { exit_code = RunList(args); });

  CLI::App* download = evidence->add_subcommand(
      "download", "Download, decrypt and verify granted items to DIR/ITEM_ID");
  AddConnectionFlags(download, args);
  download->add_option("items", args.download_ids, "Item ids (see `liaison evidence list`)")
      ->required();
  download->add_option("--out", args.out_dir, "Folder to write the files to")->required();
  download->add_flag("--no-ack", args.no_ack,
                     "Do not acknowledge the items (the broker keeps them until the other "
                     "members acknowledged or their retention ends)");
  download->footer(
      "Every chunk is authenticated and the whole file's SHA-256 compared with the manifest's\n"
      "before DIR/ITEM_ID is written; nothing partial is left behind. Then each item is\n"
      "acknowledged (Evidence.Acknowledge, unless --no-ack): once every member it was wrapped\n"
      "for acknowledged it, the broker erases it (its keys destroyed) and tells the members.");
  download->callback([&] { exit_code = RunDownload(args); });

  AddCustodyCommand(evidence, args.custody, exit_code);
}

}  // namespace liaison::cli
