// tickring: the command-line client of tickring-server.
//
//   tickring [global options] <command> [options] [arguments]
//
// main parses the global options that come before the command, finds the command in kCommands
// (the longest match of one or two words: "bench ingest"), and hands it the rest. Usage errors
// from anywhere become exit status 2 with a pointer to the relevant --help.
#include <algorithm>
#include <array>
#include <boost/program_options/errors.hpp>
#include <boost/program_options/parsers.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "client-cli/cli_args.h"
#include "client-cli/command.h"

namespace {

using namespace tickring::cli;

// Every command, in the order `tickring --help` lists them.
constexpr std::array kCommands = {
    &kFeedCommand,           &kGatewayCommand,     &kSeriesCommand,     &kLatestCommand,
    &kRangeCommand,          &kCandlesCommand,     &kTailCommand,       &kWindowCommand,
    &kHealthCommand,         &kBenchIngestCommand, &kBenchQueryCommand, &kBenchWsCommand,
    &kBenchGenQuotesCommand,
};

// Column where command summaries start in the overview.
constexpr int kSummaryColumn = 24;
constexpr std::string_view kOptionsWord = "[options]";

void print_overview(std::FILE* out, const po::options_description& global) {
  std::fprintf(out,
               "tickring %s — command-line client for tickring-server\n\n"
               "Usage: tickring [global options] <command> [options] [arguments]\n\n"
               "Commands:\n",
               TICKRING_VERSION);
  for (const command_entry* c : kCommands) {
    // "feed FILE|-": the name and its arguments; the options are for the command's --help.
    std::string_view args = c->synopsis;
    if (args.starts_with(kOptionsWord)) args.remove_prefix(kOptionsWord.size());
    while (args.starts_with(' '))
      args.remove_prefix(1);
    std::string head(c->name);
    if (!args.empty()) head += ' ' + std::string(args);
    std::fprintf(out, "  %-*s%.*s\n", kSummaryColumn - 2, head.c_str(),
                 static_cast<int>(c->summary.size()), c->summary.data());
  }
  std::fprintf(out, "  %-*s%s\n", kSummaryColumn - 2, "help [COMMAND]",
               "Show the help of a command (same as COMMAND --help)");
  std::ostringstream global_text;
  global_text << global;
  std::fprintf(out,
               "\n%s\nRun 'tickring help COMMAND' for the options of a command.\n"
               "Exit status: 0 success, 1 failure (connection, server, timeout), 2 usage error.\n",
               global_text.str().c_str());
}

// The command named by the first one or two words of `words`, and how many words it took.
std::pair<const command_entry*, std::size_t> find_command(std::span<const std::string> words) {
  if (words.size() >= 2) {
    const std::string two = words[0] + ' ' + words[1];
    for (const command_entry* c : kCommands) {
      if (c->name == two) return {c, 2};
    }
  }
  if (!words.empty()) {
    for (const command_entry* c : kCommands) {
      if (c->name == words[0]) return {c, 1};
    }
  }
  return {nullptr, 0};
}

// "tickring bench" alone, or "tickring bench nosuch": list what the group holds.
bool print_group(std::FILE* out, const std::string& group) {
  const std::string prefix = group + ' ';
  bool any = false;
  for (const command_entry* c : kCommands) {
    if (!c->name.starts_with(prefix)) continue;
    if (!any) std::fprintf(out, "'%s' commands:\n", group.c_str());
    any = true;
    std::fprintf(out, "  tickring %-*s%.*s\n", kSummaryColumn - 2, std::string(c->name).c_str(),
                 static_cast<int>(c->summary.size()), c->summary.data());
  }
  return any;
}

int usage_failure(const std::string& where, const std::string& what, const std::string& help) {
  std::fprintf(stderr, "%s: %s\n(see '%s')\n", where.c_str(), what.c_str(), help.c_str());
  return kExitUsage;
}

int dispatch(std::vector<std::string> args) {
  global_options globals;
  if (const char* env = std::getenv("TICKRING_TOKEN")) globals.token = env;
  // Global options end at the first word that is not an option or an option's value.
  po::options_description global_parse = global_options_description(globals);
  global_parse.add_options()("help,h", "show this help")("version", "show the version");
  std::size_t i = 0;
  bool end_of_options = false;  // "--": what follows is the command, even if it starts with '-'
  while (i < args.size() && args[i].size() > 1 && args[i][0] == '-') {
    const std::string& a = args[i];
    if (a == "--") {
      end_of_options = true;
      break;
    }
    const std::size_t name_at = a.find_first_not_of('-');
    const std::string name = a.substr(name_at, a.find('=') - name_at);
    const auto* option = global_parse.find_nothrow(name, false);
    const bool takes_value = option != nullptr && option->semantic()->max_tokens() > 0;
    i += (takes_value && a.find('=') == std::string::npos) ? 2 : 1;
  }
  i = std::min(i, args.size());
  po::variables_map vm;
  try {
    const std::vector<std::string> head(args.begin(), args.begin() + static_cast<long>(i));
    po::store(po::command_line_parser(head).options(global_parse).run(), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    return usage_failure("tickring", e.what(), "tickring --help");
  }
  if (vm.count("version") != 0) {
    std::printf("tickring %s\n", TICKRING_VERSION);
    return kExitOk;
  }
  std::vector<std::string> rest(args.begin() + static_cast<long>(i + (end_of_options ? 1 : 0)),
                                args.end());
  if (vm.count("help") != 0 || (!rest.empty() && rest[0] == "help" && rest.size() == 1)) {
    print_overview(stdout, global_parse);
    return kExitOk;
  }
  if (rest.empty()) {
    print_overview(stderr, global_parse);
    return kExitUsage;
  }
  const bool help = rest[0] == "help";
  if (help) rest.erase(rest.begin());
  const auto [command, words] = find_command(rest);
  if (command == nullptr) {
    if (print_group(help ? stdout : stderr, rest[0])) return help ? kExitOk : kExitUsage;
    return usage_failure("tickring", "unknown command '" + rest[0] + "'", "tickring --help");
  }
  const std::string name(command->name);
  std::vector<std::string> command_args(rest.begin() + static_cast<long>(words), rest.end());
  if (help) command_args = {"--help"};
  try {
    return command->run(globals, command_args);
  } catch (const usage_error& e) {
    return usage_failure("tickring " + name, e.what(), "tickring " + name + " --help");
  } catch (const po::error& e) {
    return usage_failure("tickring " + name, e.what(), "tickring " + name + " --help");
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return dispatch(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tickring: %s\n", e.what());
    return kExitFailure;
  }
}
