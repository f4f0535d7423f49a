// `tickring --cluster FILE <read command>`: which tickring instance to ask, past one machine.
//
// The cluster file (protocol/partition.h has its grammar) lists the instances and the
// partitions each owns; a series belongs to partition_of(measurement, symbol, P). A read of
// one series goes to its owner; a command over every series (`series`, `health`) asks every
// instance in the file's order.
//
// - Instance URLs are http://HOST:PORT (a trailing '/' allowed, IPv6 as [addr]); anything else
//   is an error naming the file's line.
// - Errors: a file that cannot be read or parsed throws cluster_error with
//   "cluster file FILE: line N: <what>" (the parser's message); main prints it and exits 1.
// Threads: main only; the file is read once per command.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "client-cli/command.h"

namespace tickring::cli {

class cluster_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Without a cluster file (g.cluster_file empty) returns g unchanged; else g with host and
// http_port of the instance owning (measurement, symbol).
global_options route_to_owner(const global_options& g, std::string_view measurement,
                              std::string_view symbol);

// One global_options per instance of the cluster file (with its URL for messages), or g
// alone without a cluster file.
struct cluster_target {
  global_options globals;
  std::string url;
};
std::vector<cluster_target> every_instance(const global_options& g);

}  // namespace tickring::cli
