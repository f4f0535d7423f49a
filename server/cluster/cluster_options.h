// Flags of tickring past one machine (docs/scale-out.md): the NATS JetStream log this server
// consumes, the partitions it owns, and the cluster file that names the other instances.
// Parsed once at start-up by server/config.cc; read-only afterwards (any thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "protocol/partition.h"

namespace tickring::server::cluster {

// The contract with the publishers (`tickring feed --nats`, `tickring gateway`): stream name,
// subject prefix, partition count, replicas; either side creates the stream if absent, with the
// layout of protocol/partition.h.
using protocol::kDefaultStream;
using protocol::kDefaultSubjectPrefix;
using protocol::kDuplicateWindow;
// JetStream allows 1 to 5 replicas of a stream.
inline constexpr unsigned kMaxReplicas = 5;

struct cluster_options {
  std::string nats_url;  // empty: no log consumer
  std::string stream{kDefaultStream};
  std::string subject_prefix{kDefaultSubjectPrefix};
  std::uint32_t partition_count = 1;  // P
  protocol::partition_set owned;      // this instance's partitions (size P)
  unsigned replicas = 1;
  std::optional<std::int64_t> start_time_ns;  // without a journal position: replay from here
  std::string cluster_file;                   // --cluster (empty: none)
  std::optional<protocol::cluster_map> map;   // its contents
  std::string self_url;                       // the cluster file's instance with our partitions

  bool consuming() const { return !nats_url.empty(); }
  // Ownership is known (--nats or --cluster): reads of other partitions' series are refused.
  bool partitioned() const { return consuming() || map.has_value(); }
  std::string subject(std::uint32_t partition) const {
    return subject_prefix + "." + std::to_string(partition);
  }
};

}  // namespace tickring::server::cluster
