// The `tickring` command table: every subcommand is one `command_entry`, defined in its own .cc
// and listed once in main.cc. Adding a command = one .cc defining `kXxxCommand` + one line in
// the table + its declaration below.
//
// Contract for a command's `run`:
// - Called once, on the main thread, with the global options already parsed and the arguments
//   that follow the command name (options may still include the global ones, see cli_args.h).
// - Returns the process exit status: kExitOk, kExitFailure (connection, server or timeout
//   failure, said on stderr) or kExitUsage (bad command line).
// - May throw usage_error (or boost::program_options::error) for a bad command line; main turns
//   it into a message with a pointer to --help and kExitUsage. Nothing else should escape.
// - `tickring help <command>` calls run with the single argument "--help".
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace tickring::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

inline constexpr std::string_view kDefaultHost = "127.0.0.1";
inline constexpr std::uint16_t kDefaultIngestPort = 9009;
inline constexpr std::uint16_t kDefaultHttpPort = 8080;

// Options every command understands; given before the command name or among its own options.
struct global_options {
  std::string host{kDefaultHost};
  std::uint16_t ingest_port = kDefaultIngestPort;
  std::uint16_t http_port = kDefaultHttpPort;
  // --token, else the TICKRING_TOKEN environment variable: sent with every request, feed
  // connection and WebSocket upgrade (docs/auth.md). Empty: none.
  std::string token;
  // --cluster FILE: reads go to the instance owning their series (cluster_route.h). Empty:
  // --host and --http-port.
  std::string cluster_file;
};

// A bad command line; main prints "tickring <command>: <what>" and a pointer to --help.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// " — is tickring-server running?" when a connection error means nobody listens there, else "".
inline std::string_view no_server_hint(const std::error_code& ec) {
  const bool nobody_there = ec == std::errc::connection_refused ||
                            ec == std::errc::host_unreachable || ec == std::errc::timed_out;
  return nobody_there ? " — is tickring-server running?" : "";
}

using command_fn = int (*)(const global_options& globals, const std::vector<std::string>& args);

struct command_entry {
  std::string_view name;      // one or two words: "feed", "bench ingest"
  std::string_view synopsis;  // what follows the name in a usage line: "[options] FILE|-"
  std::string_view summary;   // one line for `tickring --help`
  command_fn run;
};

// Defined in the command's own translation unit (constant-initialised, so usable from main's
// table regardless of static initialisation order).
extern const command_entry kFeedCommand;
extern const command_entry kGatewayCommand;
extern const command_entry kBenchIngestCommand;
extern const command_entry kBenchQueryCommand;
extern const command_entry kBenchGenQuotesCommand;
extern const command_entry kLatestCommand;
extern const command_entry kRangeCommand;
extern const command_entry kCandlesCommand;
extern const command_entry kSeriesCommand;
extern const command_entry kHealthCommand;
extern const command_entry kWindowCommand;
extern const command_entry kTailCommand;
extern const command_entry kBenchWsCommand;

}  // namespace tickring::cli
