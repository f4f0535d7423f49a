// Command-line parsing shared by main and every command, on boost::program_options.
//
// - Global options (--host, --ingest-port, --http-port) may come before the command name (main
//   parses those) or among the command's own options; the latter win.
// - Every command gets -h/--help, printed as: usage line, summary, details, its options, then
//   the global options with their current values as defaults.
// - Errors: a bad command line throws usage_error or boost::program_options::error (start-up
//   only, caught by main). Not thread-safe; called on the main thread before any I/O.
#pragma once

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/positional_options.hpp>
#include <boost/program_options/variables_map.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "client-cli/command.h"

namespace tickring::cli {

namespace po = boost::program_options;

// Help text is wrapped to this width: readable in an 80-column terminal.
inline constexpr unsigned kHelpWidth = 100;

// --host, --ingest-port, --http-port, --token, --cluster bound to `globals` (ports checked to
// be 1..65535 when notified). The defaults shown are the values `globals` holds now.
po::options_description global_options_description(global_options& globals);

// What a command accepts: `visible` options are listed by --help; `hidden` ones back the
// positional arguments (program_options needs a named option behind each).
struct command_options {
  command_options() : visible("Options", kHelpWidth) {}
  po::options_description visible;
  po::options_description hidden;
  po::positional_options_description positional;
};

// Parses `args` (what follows the command name) against `options` and the global options.
// Returns false when -h/--help was given: the help has been printed to stdout; return kExitOk.
// `details` is free text printed under the summary (examples, exit status). Adds -h/--help to
// options.visible.
[[nodiscard]] bool parse_command_args(const command_entry& entry, std::string_view details,
                                      command_options& options,
                                      const std::vector<std::string>& args, global_options& globals,
                                      po::variables_map& vm);

}  // namespace tickring::cli
