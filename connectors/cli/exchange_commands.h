// `liaison send | subscribe | verify`: the endpoint's side of the exchange.
#ifndef LIAISON_CONNECTORS_CLI_EXCHANGE_COMMANDS_H_
#define LIAISON_CONNECTORS_CLI_EXCHANGE_COMMANDS_H_

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/cli/context.h"

namespace liaison::cli {

// --review-in / --erase-in of send and explain.
struct RetentionSpans {
  std::string review_in;  // "14d": header.retention.review_by = now + 14 days
  std::string erase_in;   // "30d": header.retention.erase_by = now + 30 days
};

struct SendArgs {
  Connection connection;
  std::vector<std::string> files;       // one message per file ("-" = stdin)
  std::vector<std::string> recipients;  // overrides header.recipients
  RetentionSpans retention;
  // header.message_id of the (one) message: an id announced before, e.g.
  // the details_message_id of an approved follow-up (`link decide`).
  std::string message_id;
  // Ask the broker's Explain first and show the outcome per recipient; a
  // message every recipient would refuse is then not sent.
  bool explain = false;
};

// "30d", "12h", "90m", "45s" -> duration; InvalidArgument naming the flag.
absl::StatusOr<absl::Duration> ParseSpan(const std::string& text, const std::string& flag);

struct SubscribeArgs {
  Connection connection;
  int count = 0;            // stop after this many items (0 = run until interrupted)
  double idle_seconds = 0;  // stop after this long without an item (0 = never)
  unsigned window = 256;
  bool no_ack = false;
  std::string save_dir;  // also write each item as <item_id>.json
};

struct ExplainArgs {
  Connection connection;
  std::string file;
  std::vector<std::string> recipients;
  std::string at;            // RFC 3339; empty = now
  RetentionSpans retention;  // relative to --at (or now)
  bool json = false;
};

struct VerifyArgs {
  Connection connection;
  std::string file;
};

struct ExchangeArgs {
  SendArgs send;
  SubscribeArgs subscribe;
  VerifyArgs verify;
  ExplainArgs explain;
};

void AddExchangeCommands(CLI::App& app, ExchangeArgs& args, int& exit_code);

}  // namespace liaison::cli

#endif  // LIAISON_CONNECTORS_CLI_EXCHANGE_COMMANDS_H_
