#include "client-cli/cli_args.h"

#include <fmt/format.h>

#include <boost/program_options/errors.hpp>
#include <boost/program_options/parsers.hpp>
#include <iostream>

namespace tickring::cli {
namespace {

constexpr int kMinPort = 1;
constexpr int kMaxPort = 65535;

// Parsed as int, not uint16_t: program_options would wrap "-1" or "70000" silently.
po::typed_value<int>* port_value(std::uint16_t& target, std::string flag) {
  return po::value<int>()->value_name("PORT")->default_value(target)->notifier(
      [&target, flag = std::move(flag)](int port) {
        if (port < kMinPort || port > kMaxPort) {
          throw usage_error(
              fmt::format("--{} must be {}..{}, not {}", flag, kMinPort, kMaxPort, port));
        }
        target = static_cast<std::uint16_t>(port);
      });
}

}  // namespace

po::options_description global_options_description(global_options& globals) {
  po::options_description d("Global options", kHelpWidth);
  // clang-format off
  d.add_options()
    ("host", po::value(&globals.host)->value_name("HOST")->default_value(globals.host),
       "tickring-server address (name or IP)")
    ("ingest-port", port_value(globals.ingest_port, "ingest-port"), "line-protocol TCP port")
    ("http-port", port_value(globals.http_port, "http-port"), "HTTP port")
    // No default shown: --help must not print a secret taken from the environment.
    ("token", po::value(&globals.token)->value_name("TOKEN"),
       "token for a server with --auth-token-file (default: $TICKRING_TOKEN)")
    ("cluster", po::value(&globals.cluster_file)->value_name("FILE"),
       "cluster file: send each read to the instance that owns its series (instead of --host "
       "and --http-port)");
  // clang-format on
  return d;
}

bool parse_command_args(const command_entry& entry, std::string_view details,
                        command_options& options, const std::vector<std::string>& args,
                        global_options& globals, po::variables_map& vm) {
  options.visible.add_options()("help,h", "show this help");
  const po::options_description globals_description = global_options_description(globals);
  po::options_description all;
  all.add(options.visible).add(options.hidden).add(globals_description);
  try {
    po::store(po::command_line_parser(args).options(all).positional(options.positional).run(), vm);
  } catch (const po::too_many_positional_options_error&) {
    throw usage_error("too many arguments");
  }
  if (vm.count("help") != 0) {
    std::cout << "Usage: tickring " << entry.name << ' ' << entry.synopsis << "\n\n"
              << entry.summary << ".\n";
    if (!details.empty()) std::cout << '\n' << details;
    std::cout << '\n' << options.visible << '\n' << globals_description;
    return false;
  }
  po::notify(vm);
  return true;
}

}  // namespace tickring::cli
