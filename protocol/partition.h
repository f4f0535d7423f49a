// Partitions and the cluster file: how a series finds its tickring instance past one machine.
//
// Partition of a series (docs/scale-out.md documents it for other languages):
//
//   partition = fnv1a_64(measurement + "\n" + symbol) mod partitions
//
// FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3) over the raw bytes of the
// unescaped measurement, one '\n' byte (a byte no measurement or symbol may contain
// unescaped) and the unescaped symbol. It is deliberately not the store's seeded SipHash:
// every feed, server and reader must agree on it, across machines and restarts. Feeds publish
// a series' lines to the subject `<prefix>.<partition>`; the instance owning that partition
// consumes them.
//
// Cluster file: plain text, one directive per line, '#' starts a comment:
//
//   partitions 8                        # P, once, before any instance line
//   instance 0-3 http://10.0.0.1:8080   # partition set, then the instance's HTTP base URL
//   instance 4-7 http://10.0.0.2:8080
//
// A partition set is a comma-separated list of numbers and inclusive ranges ("0-3,6,8-9").
// Every partition in [0, P) must be owned by exactly one instance line; the parser refuses a
// file with a gap or an overlap, naming the line. Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tickring::protocol {

// The JetStream layout both sides use (docs/scale-out.md): either the publishers (`tickring
// feed --nats`, `tickring gateway`) or the servers (`--nats`) create the stream if absent, with
// the subjects `<prefix>.*`, file storage and this duplicate window (a publish retried within
// it with the same Nats-Msg-Id is stored once).
inline constexpr std::string_view kDefaultStream = "TICKRING";
inline constexpr std::string_view kDefaultSubjectPrefix = "tickring";
inline constexpr std::chrono::minutes kDuplicateWindow{2};

// A cluster has at most this many partitions: a partition set is a bitmap of this size in
// places that check ownership per point, and a JetStream subject per partition.
inline constexpr std::uint32_t kMaxPartitions = 4096;

std::uint64_t fnv1a_64(std::string_view bytes, std::uint64_t hash = 0xcbf29ce484222325ULL);

// REQUIRES: partitions >= 1.
std::uint32_t partition_of(std::string_view measurement, std::string_view symbol,
                           std::uint32_t partitions);

// A set of partitions, parsed from "0-3,6". Empty text, a number >= `partitions`, a reversed
// range or a repeated partition is an error (`error` says which).
struct partition_set {
  std::vector<bool> owned;  // size = partitions
  bool contains(std::uint32_t p) const { return p < owned.size() && owned[p]; }
  std::vector<std::uint32_t> list() const;
  std::string to_string() const;  // canonical "0-3,6"
};
std::optional<partition_set> parse_partition_set(std::string_view text, std::uint32_t partitions,
                                                 std::string* error = nullptr);

struct cluster_instance {
  partition_set partitions;
  std::string url;  // HTTP base URL, as written ("http://host:port")
};
struct cluster_map {
  std::uint32_t partitions = 0;
  std::vector<cluster_instance> instances;
  // The instance that owns `p` (every partition has exactly one after a successful parse).
  const cluster_instance& owner(std::uint32_t p) const;
  const cluster_instance& owner_of(std::string_view measurement, std::string_view symbol) const {
    return owner(partition_of(measurement, symbol, partitions));
  }
};
// Parses a cluster file's text; on failure returns nothing and sets `error` to
// "line N: <what>".
std::optional<cluster_map> parse_cluster_file(std::string_view text, std::string* error);

}  // namespace tickring::protocol
