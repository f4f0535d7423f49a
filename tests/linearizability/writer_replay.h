// The sequential model (std::map<time, value id>) replayed along the single writer's
// operations, and the queries the checkers ask of it.
//
// Contract
// - Built once from a history's thread 0 (the writer). With one writer, its operations are
//   totally ordered by real time, so the abstract state after its j-th operation, S_j, is known
//   without any search: S_0 is empty, S_j = S_{j-1} with writer op j applied. Every reader
//   result must match some S_j; which j is possible is what the checkers decide.
// - `error()` is set when the writer's own results disagree with the model (put said
//   "inserted" for a present time, remove said "found" for an absent one): that is already a
//   violation, since the writer's operations have no concurrent writer to explain it.
// - `window(inv, resp)` is the range [lo, hi] of states that may be current at some instant
//   of an interval: lo = writer ops answered before `inv`, hi = writer ops invoked before
//   `resp`. Any linearization puts S_lo..S_hi (and only those) somewhere in the interval.
//
// Cost: O(m log m) to build for m writer operations; value_at O(log changes of that key);
// size_at O(1); window O(log m); keys_at O(live + 256). Memory O(m + m/256 * live).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/linearizability/history.h"

namespace tickring::lincheck {

class writer_replay {
 public:
  explicit writer_replay(const thread_history& writer);

  [[nodiscard]] const std::optional<std::string>& error() const { return error_; }
  [[nodiscard]] std::size_t writes() const { return size_after_.size() - 1; }

  // The value of `key` in S_j (kAbsent if not present).
  [[nodiscard]] std::uint64_t value_at(std::int64_t key, std::size_t j) const;
  [[nodiscard]] std::uint64_t size_at(std::size_t j) const { return size_after_[j]; }
  // The committed sequence number of S_j: the last one a writer operation up to j took.
  [[nodiscard]] std::uint64_t committed_at(std::size_t j) const { return committed_after_[j]; }
  // The lowest / highest (time, value) of S_j; value kAbsent when S_j is empty.
  [[nodiscard]] std::pair<std::int64_t, std::uint64_t> lowest_at(std::size_t j) const {
    return lowest_after_[j];
  }
  [[nodiscard]] std::pair<std::int64_t, std::uint64_t> highest_at(std::size_t j) const {
    return highest_after_[j];
  }
  // The sequence number of the put that wrote value id `v` (0 if no put did): a point keeps
  // it until it is overwritten or removed, so a read that returns v must return this seq.
  [[nodiscard]] std::uint64_t seq_of(std::uint64_t v) const;
  // Whether `key` holds `value` (kAbsent: is absent) in some S_j with lo <= j <= hi.
  [[nodiscard]] bool holds_somewhere(std::int64_t key, std::uint64_t value, std::size_t lo,
                                     std::size_t hi) const;
  // Whether `key` is present in every S_j with lo <= j <= hi (overwrites keep it present).
  [[nodiscard]] bool present_throughout(std::int64_t key, std::size_t lo, std::size_t hi) const;
  // Every value `key` holds in S_lo..S_hi, in order; for failure messages.
  [[nodiscard]] std::vector<std::uint64_t> values_between(std::int64_t key, std::size_t lo,
                                                          std::size_t hi) const;

  [[nodiscard]] std::pair<std::size_t, std::size_t> window(ticket inv, ticket resp) const;

  [[nodiscard]] std::size_t times_touched() const { return changes_.size(); }
  // The times present in S_j, ascending.
  [[nodiscard]] std::vector<std::int64_t> keys_at(std::size_t j) const;

 private:
  struct change {
    std::size_t j;        // S_j is the first state with this value
    std::uint64_t value;  // kAbsent after a removal
  };
  // Changes of one key with j in (lo, hi].
  [[nodiscard]] std::pair<const change*, const change*> changes_in(std::int64_t key, std::size_t lo,
                                                                   std::size_t hi) const;

  std::map<std::int64_t, std::vector<change>> changes_;
  std::vector<std::uint64_t> size_after_;  // [j] = |S_j|
  std::vector<std::uint64_t> committed_after_;
  std::vector<std::pair<std::int64_t, std::uint64_t>> lowest_after_;
  std::vector<std::pair<std::int64_t, std::uint64_t>> highest_after_;
  std::map<std::uint64_t, std::uint64_t> seq_of_value_;
  std::vector<ticket> inv_;   // writer op j+1's invocation ticket
  std::vector<ticket> resp_;  // writer op j+1's response ticket
  // keys_at starts from the nearest snapshot at or below j and replays at most
  // kSnapshotEvery - 1 writer operations: O(live + kSnapshotEvery) per call, and the snapshots
  // cost (m / kSnapshotEvery) * live keys of memory.
  static constexpr std::size_t kSnapshotEvery = 256;
  std::vector<std::vector<std::int64_t>> snapshots_;    // [i]: the times of S_{i * kSnapshotEvery}
  std::vector<std::pair<std::int64_t, bool>> effects_;  // op j+1: its time, present after it
  std::optional<std::string> error_;
};

}  // namespace tickring::lincheck
