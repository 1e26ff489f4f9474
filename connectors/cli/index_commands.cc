#include "connectors/cli/index_commands.h"

#include <filesystem>
#include <iostream>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "connectors/cli/exit_codes.h"
#include "connectors/cli/index_file.h"
#include "connectors/endpoint/client.h"
#include "connectors/endpoint/linkage/linkage_key.h"
#include "connectors/endpoint/linkage/normalize.h"

namespace liaison::cli {
namespace {

namespace lk = endpoint::linkage;
using liaison::v1::IndexBatch;
using liaison::v1::IndexBatchResult;

absl::StatusOr<std::unique_ptr<endpoint::Client>> Connect(const Connection& c) {
  absl::StatusOr<endpoint::ClientOptions> options =
      endpoint::ClientOptions::FromPkiDir(c.pki_dir, c.as, c.target);
  if (!options.ok()) return options.status();
  return endpoint::Client::Create(std::move(*options));
}

// Resolves the broker, the PKI and --as.
absl::Status Prepare(IndexArgs& args) {
  if (args.batch == 0 || args.batch > 10000) {
    return AsUsageError(absl::InvalidArgumentError("--batch: must be 1 to 10000 entries"));
  }
  if (absl::Status s = args.connection.Resolve(); !s.ok()) return s;
  return args.connection.ResolveIdentity(Connection::Role::kEndpoint);
}

std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// Prints the results (one line per batch, or a JSON array) and returns the
// exit code: 0 when every batch was stored, else that of the first refusal;
// a broken stream (`status`) is reported after the results it gave.
int Report(const IndexArgs& args, const std::vector<IndexBatch>& batches,
           const absl::StatusOr<std::vector<IndexBatchResult>>& results,
           const std::vector<std::vector<int>>& lines, const std::string& source) {
  int exit_code = kExitOk;
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  const std::vector<IndexBatchResult> none;
  const std::vector<IndexBatchResult>& got = results.ok() ? *results : none;
  int64_t stored = 0;
  int64_t withdrawn = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const IndexBatchResult& r = got[i];
    std::string where;
    // "entries[17].value: ..." names an entry of the batch: say its line.
    int entry = -1;
    size_t at = r.error().find("entries[");
    if (at == std::string::npos) at = r.error().find("withdrawals[");
    if (r.code() != 0 && i < lines.size() && at != std::string::npos &&
        sscanf(r.error().c_str() + r.error().find('[', at), "[%d]", &entry) == 1 && entry >= 0 &&
        static_cast<size_t>(entry) < lines[i].size() && lines[i][entry] > 0) {
      where = absl::StrCat(source, ":", lines[i][entry]);
    }
    if (args.json) {
      nlohmann::ordered_json j;
      j["batch_id"] = r.batch_id();
      j["sequence"] = r.sequence();
      j["status"] = r.code() == 0 ? "stored" : CodeName(r.code());
      j["code"] = r.code();
      j["error"] = r.error();
      if (!where.empty()) j["where"] = where;
      j["stored"] = r.stored();
      j["withdrawn"] = r.withdrawn();
      out.push_back(std::move(j));
    } else if (r.code() == 0) {
      std::cout << "batch " << i + 1 << "/" << batches.size() << " " << r.batch_id() << ": ";
      if (batches[i].entries_size() > 0) std::cout << "stored " << r.stored() << " entries";
      if (batches[i].withdrawals_size() > 0) {
        int cases = 0;
        for (const liaison::v1::IndexWithdrawal& w : batches[i].withdrawals()) {
          cases += w.value().empty();
        }
        const int single = batches[i].withdrawals_size() - cases;
        std::cout << "withdrew " << r.withdrawn() << " entries";
        if (cases > 0) std::cout << " of " << cases << " cases";
        if (single > 0) std::cout << (cases > 0 ? " and " : " of ") << single << " identifiers";
      }
      std::cout << " (epoch " << batches[i].epoch() << ")\n";
    } else {
      std::cout << "batch " << i + 1 << "/" << batches.size() << " " << r.batch_id() << ": REFUSED "
                << CodeName(r.code()) << ": " << r.error();
      if (!where.empty()) std::cout << " (" << where << ")";
      std::cout << "; nothing of this batch was stored\n";
    }
    stored += r.stored();
    withdrawn += r.withdrawn();
    if (r.code() != 0 && exit_code == kExitOk) {
      exit_code = ExitCodeFor(absl::Status(static_cast<absl::StatusCode>(r.code()), r.error()));
    }
  }
  if (args.json) std::cout << out.dump(2) << std::endl;
  if (!results.ok()) {
    std::cerr << "error: " << absl::StatusCodeToString(results.status().code()) << ": "
              << results.status().message() << "\n"
              << batches.size() - got.size() << " of " << batches.size()
              << " batches were not answered; running the command again is safe (a batch "
                 "stored twice is stored once)\n";
    return exit_code != kExitOk ? exit_code : ExitCodeFor(results.status());
  }
  if (!args.json && batches.size() > 1) {
    std::cerr << batches.size() << " batches: " << stored << " entries stored, " << withdrawn
              << " withdrawn\n";
  }
  return exit_code;
}

absl::StatusOr<lk::LinkageKey> LoadKey(const IndexArgs& args) {
  return LoadLinkageKey(args.key_path, args.connection.pki_dir);
}

absl::StatusOr<std::unique_ptr<lk::Normalizer>> MakeNormalizer(const IndexArgs& args) {
  return EndpointNormalizer(args.region, args.name_language, args.connection.as);
}

// Reads FILE and blinds its rows (nothing sent): the entries and the file
// line of each.
absl::StatusOr<std::vector<BlindedRow>> BlindFile(const IndexArgs& args, const std::string& file,
                                                  const lk::LinkageKey& key, BlindOptions options) {
  absl::StatusOr<std::unique_ptr<lk::Normalizer>> normalizer = MakeNormalizer(args);
  if (!normalizer.ok()) return normalizer.status();
  absl::StatusOr<std::string> text = ReadFileOrStdin(file);
  if (!text.ok()) return text.status();
  const std::string source = file == "-" ? "stdin" : file;
  absl::StatusOr<std::vector<IndexRow>> rows = ParseIndexFile(*text, source);
  text->assign(text->size(), '\0');  // the cleartext is not needed any more
  if (!rows.ok()) return rows.status();
  return BlindRows(*rows, source, **normalizer, key, options);
}

int RunPublish(IndexArgs& args) {
  if (args.expires_in_days < 0 || args.expires_in_days > 180) {
    return Fail(AsUsageError(absl::InvalidArgumentError(
        "--expires-in: must be 1 to 180 days (the linkage retention limit)")));
  }
  if (absl::Status s = Prepare(args); !s.ok()) return Fail(s);
  absl::StatusOr<lk::LinkageKey> key = LoadKey(args);
  if (!key.ok()) return Fail(key.status());
  // Every row is read, normalised and blinded before anything is sent.
  const std::string source = args.file == "-" ? "stdin" : args.file;
  BlindOptions options{.now = absl::Now()};
  if (args.expires_in_days > 0) options.expires_in = absl::Hours(24 * args.expires_in_days);
  absl::StatusOr<std::vector<BlindedRow>> blinded = BlindFile(args, args.file, *key, options);
  if (!blinded.ok()) return Fail(blinded.status());

  std::vector<IndexBatch> batches;
  std::vector<std::vector<int>> lines;
  for (size_t i = 0; i < blinded->size(); ++i) {
    if (i % args.batch == 0) {
      batches.emplace_back().set_epoch(key->epoch());
      lines.emplace_back();
    }
    *batches.back().add_entries() = std::move((*blinded)[i].entry);
    lines.back().push_back((*blinded)[i].line);
  }
  absl::StatusOr<std::unique_ptr<endpoint::Client>> client = Connect(args.connection);
  if (!client.ok()) return Fail(client.status());
  absl::StatusOr<std::vector<IndexBatchResult>> results = (*client)->PublishIndex(batches);
  return Report(args, batches, results, lines, source);
}

// Case handles of --file: one per line ('#' comments), or the case_handle
// field of a file in the publish format.
absl::StatusOr<std::vector<std::string>> HandlesOf(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileOrStdin(path);
  if (!text.ok()) return text.status();
  const std::string source = path == "-" ? "stdin" : path;
  std::vector<std::string> handles;
  bool list = true;
  int line = 0;
  for (absl::string_view l : absl::StrSplit(*text, '\n')) {
    ++line;
    l = absl::StripAsciiWhitespace(l);
    if (l.empty() || l[0] == '#') continue;
    if (!absl::StartsWith(l, "LNK-") || absl::StrContains(l, ",")) {
      list = false;
      break;
    }
    if (absl::Status s = CheckCaseHandle(l); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ":", line, ": ", s.message()));
    }
    handles.emplace_back(l);
  }
  if (list) return handles;
  absl::StatusOr<std::vector<IndexRow>> rows = ParseIndexFile(*text, source);
  if (!rows.ok()) return rows.status();
  handles.clear();
  for (const IndexRow& row : *rows) {
    if (absl::Status s = CheckCaseHandle(row.case_handle); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ":", row.line, ": ", s.message()));
    }
    handles.push_back(row.case_handle);
  }
  return handles;
}

int RunWithdraw(IndexArgs& args) {
  std::vector<std::string> handles;
  for (const std::string& h : args.handles) {
    if (absl::Status s = CheckCaseHandle(h); !s.ok()) {
      return Fail(
          AsUsageError(absl::InvalidArgumentError(absl::StrCat("'", h, "': ", s.message()))));
    }
    handles.push_back(h);
  }
  if (!args.handles_file.empty()) {
    absl::StatusOr<std::vector<std::string>> more = HandlesOf(args.handles_file);
    if (!more.ok()) return Fail(more.status());
    handles.insert(handles.end(), more->begin(), more->end());
  }
  if (handles.empty() && args.entries_file.empty()) {
    return Fail(AsUsageError(absl::InvalidArgumentError(
        "nothing to withdraw: give HANDLE..., --file FILE or --entries FILE")));
  }
  if (absl::Status s = Prepare(args); !s.ok()) return Fail(s);
  // A withdrawal of a whole case covers every epoch; the batch names the
  // current one.
  absl::StatusOr<lk::LinkageKey> key = LoadKey(args);
  if (!key.ok()) return Fail(key.status());
  std::vector<IndexBatch> batches;
  std::vector<std::vector<int>> lines;
  auto next = [&](int line) {
    if (batches.empty() || static_cast<size_t>(batches.back().withdrawals_size()) == args.batch) {
      batches.emplace_back().set_epoch(key->epoch());
      lines.emplace_back();
    }
    lines.back().push_back(line);
    return batches.back().add_withdrawals();
  };
  std::set<std::string> seen;
  for (const std::string& h : handles) {
    if (seen.insert(h).second) next(0)->set_case_handle(h);
  }
  // Single identifiers: blinded here like publish does, then named by
  // (case, type, blinded value) under the key's epoch.
  if (!args.entries_file.empty()) {
    absl::StatusOr<std::vector<BlindedRow>> blinded =
        BlindFile(args, args.entries_file, *key, {.now = absl::Now(), .for_withdrawal = true});
    if (!blinded.ok()) return Fail(blinded.status());
    for (BlindedRow& row : *blinded) {
      liaison::v1::IndexWithdrawal* w = next(row.line);
      w->set_case_handle(row.entry.case_handle());
      w->set_type(row.entry.type());
      w->set_value(std::move(*row.entry.mutable_value()));
    }
  }
  absl::StatusOr<std::unique_ptr<endpoint::Client>> client = Connect(args.connection);
  if (!client.ok()) return Fail(client.status());
  absl::StatusOr<std::vector<IndexBatchResult>> results = (*client)->PublishIndex(batches);
  return Report(args, batches, results, lines,
                args.entries_file == "-" ? "stdin" : args.entries_file);
}

void AddCommonFlags(CLI::App* cmd, IndexArgs& args) {
  Connection& c = args.connection;
  cmd->add_option("--as", c.as,
                  "Endpoint id to publish as: a folder of <pki>/endpoints/ (e.g. RO-IGPR)")
      ->required();
  cmd->add_option("--state-dir", c.state_dir, "State folder of the broker (reads broker.json)")
      ->capture_default_str();
  cmd->add_option("--target", c.target, "Broker address host:port (default: from broker.json)");
  cmd->add_option("--pki", c.pki_dir, "PKI folder (default: from broker.json)");
  cmd->add_option("--key", args.key_path,
                  "Linkage key file (default: the newest <pki>/linkage/epoch-N.key)");
  cmd->add_option("--batch", args.batch, "Entries per signed batch (1..10000)")
      ->capture_default_str();
  cmd->add_flag("--json", args.json, "Print the broker's results as a JSON array");
}

}  // namespace

absl::StatusOr<lk::LinkageKey> LoadLinkageKey(const std::string& key_path,
                                              const std::string& pki_dir) {
  if (!key_path.empty()) return lk::LinkageKey::Load(key_path);
  const std::string folder = pki_dir + "/linkage";
  std::error_code error;
  uint32_t newest = 0;
  std::string path;
  for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
    const std::string file = entry.path().filename().string();
    absl::string_view name = file;
    uint32_t epoch = 0;
    if (absl::ConsumePrefix(&name, "epoch-") && absl::ConsumeSuffix(&name, ".key") &&
        absl::SimpleAtoi(name, &epoch) && epoch > newest) {
      newest = epoch;
      path = entry.path().string();
    }
  }
  if (error || path.empty()) {
    return absl::NotFoundError(absl::StrCat(
        folder, ": no linkage key (epoch-N.key) found; pass --key FILE, the network linkage key"));
  }
  return lk::LinkageKey::Load(path);
}

absl::StatusOr<std::unique_ptr<lk::Normalizer>> EndpointNormalizer(const std::string& region_flag,
                                                                   const std::string& language_flag,
                                                                   const std::string& as) {
  // The region of phone numbers written without a country code.
  const std::string region = !region_flag.empty()
                                 ? absl::AsciiStrToUpper(region_flag)
                                 : absl::AsciiStrToUpper(as.substr(0, as.find('-')));
  std::string language = absl::AsciiStrToLower(language_flag);
  if (language.empty()) {
    if (region == "BG") language = "bg";
    if (region == "UA") language = "uk";
    if (region == "RU") language = "ru";
  }
  absl::StatusOr<std::unique_ptr<lk::Normalizer>> normalizer =
      lk::Normalizer::Create({.default_region = region, .name_language = language});
  if (!normalizer.ok()) {
    return AsUsageError(absl::InvalidArgumentError(
        absl::StrCat("--region: ", normalizer.status().message(),
                     " (the region of phone numbers without a country code)")));
  }
  return normalizer;
}

void AddIndexCommands(CLI::App& app, IndexArgs& args, int& exit_code) {
  CLI::App* index = app.add_subcommand(
      "index", "Case linkage: publish the blinded identifiers of open cases, withdraw cases");
  index->require_subcommand(1);

  CLI::App* publish = index->add_subcommand(
      "publish",
      "Normalise and blind the identifiers of FILE locally, then publish them to the index");
  AddCommonFlags(publish, args);
  publish->add_option("file", args.file, "CSV or JSON file of identifiers ('-' = stdin)")
      ->required();
  publish->add_option("--region", args.region,
                      "Region of phone numbers without a country code (default: the country "
                      "of --as, RO-IGPR -> RO)");
  publish->add_option("--name-language", args.name_language,
                      "ISO 639-1 language of Cyrillic names without a language column "
                      "(default: bg, uk, ru for BG, UA, RU endpoints; else ICU's Any-Latin)");
  publish->add_option("--expires-in", args.expires_in_days,
                      "Days until entries without an expires_at column expire (1..180)");
  publish->footer(
      "Cleartext never leaves this process: every row is normalised and blinded here with the\n"
      "network linkage key (HMAC-SHA256); the broker receives only the type, the 32-byte\n"
      "blinded value, the case handle and the expiry, in batches signed by the endpoint.\n"
      "Every row is checked before anything is sent: a row that cannot be normalised is\n"
      "refused as FILE:LINE: field: reason (never quoting the value) and nothing is published.\n"
      "Columns: case_handle,type,value[,country,document_type,date_of_birth,language,\n"
      "expires_at]; types: phone iban vin plate document email name_dob (docs/cli.md).");
  publish->callback([&] { exit_code = RunPublish(args); });

  CLI::App* withdraw = index->add_subcommand(
      "withdraw",
      "Withdraw whole cases from the index (every entry, every epoch), or single identifiers");
  AddCommonFlags(withdraw, args);
  withdraw->add_option("handles", args.handles, "Case handles (LNK-...)");
  withdraw->add_option("--file", args.handles_file,
                       "File of case handles: one per line, or a file in the publish format");
  withdraw->add_option("--entries", args.entries_file,
                       "Withdraw only the identifiers of FILE (publish format; blinded here, "
                       "cleartext never leaves this process), not whole cases");
  withdraw->add_option("--region", args.region,
                       "With --entries: region of phone numbers without a country code");
  withdraw->add_option("--name-language", args.name_language,
                       "With --entries: language of Cyrillic names without a language column");
  withdraw->callback([&] { exit_code = RunWithdraw(args); });
}

}  // namespace liaison::cli
