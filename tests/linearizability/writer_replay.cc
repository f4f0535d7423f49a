#include "tests/linearizability/writer_replay.h"

#include <algorithm>
#include <set>
#include <sstream>

namespace tickring::lincheck {

writer_replay::writer_replay(const thread_history& writer) {
  std::map<std::int64_t, std::uint64_t> state;
  size_after_.reserve(writer.ops.size() + 1);
  size_after_.push_back(0);
  committed_after_.push_back(0);
  lowest_after_.emplace_back(0, kAbsent);
  highest_after_.emplace_back(0, kAbsent);
  for (std::size_t i = 0; i < writer.ops.size(); ++i) {
    if (i % kSnapshotEvery == 0) {
      auto& snap = snapshots_.emplace_back();
      snap.reserve(state.size());
      for (const auto& [key, unused] : state)
        snap.push_back(key);
    }
    const op& o = writer.ops[i];
    const std::size_t j = i + 1;
    const auto it = state.find(o.key);
    const bool present = it != state.end();
    bool expected_ok = false;
    if (o.kind == op_kind::put) {
      expected_ok = !present;
      state[o.key] = o.value;
      changes_[o.key].push_back({j, o.value});
      seq_of_value_[o.value] = o.seq;
    } else if (o.kind == op_kind::remove) {
      expected_ok = present;
      if (present) {
        state.erase(it);
        changes_[o.key].push_back({j, kAbsent});
      }
    } else {
      if (!error_) error_ = "the writer thread recorded a read: " + describe({{writer}}, 0, i);
      expected_ok = o.ok;
    }
    if (o.ok != expected_ok && !error_) {
      std::ostringstream s;
      s << "the writer's own result disagrees with std::map: " << describe({{writer}}, 0, i)
        << (present ? " (the time was present)" : " (the time was absent)");
      error_ = s.str();
    }
    size_after_.push_back(state.size());
    committed_after_.push_back(o.seq != 0 ? o.seq : committed_after_.back());
    if (state.empty()) {
      lowest_after_.emplace_back(0, kAbsent);
      highest_after_.emplace_back(0, kAbsent);
    } else {
      lowest_after_.emplace_back(*state.begin());
      highest_after_.emplace_back(*state.rbegin());
    }
    effects_.emplace_back(o.key, state.count(o.key) != 0);
    inv_.push_back(o.inv);
    resp_.push_back(o.resp);
  }
}

std::uint64_t writer_replay::seq_of(std::uint64_t v) const {
  const auto it = seq_of_value_.find(v);
  return it == seq_of_value_.end() ? 0 : it->second;
}

std::vector<std::int64_t> writer_replay::keys_at(std::size_t j) const {
  if (snapshots_.empty()) return {};
  const std::size_t base = std::min(j / kSnapshotEvery, snapshots_.size() - 1);
  const auto& snap = snapshots_[base];
  std::set<std::int64_t> keys(snap.begin(), snap.end());
  for (std::size_t op = base * kSnapshotEvery; op < j; ++op) {
    if (effects_[op].second) {
      keys.insert(effects_[op].first);
    } else {
      keys.erase(effects_[op].first);
    }
  }
  return {keys.begin(), keys.end()};
}

std::uint64_t writer_replay::value_at(std::int64_t key, std::size_t j) const {
  const auto it = changes_.find(key);
  if (it == changes_.end()) return kAbsent;
  const auto& c = it->second;
  // Last change with c.j <= j.
  const auto after = std::upper_bound(c.begin(), c.end(), j,
                                      [](std::size_t x, const change& ch) { return x < ch.j; });
  return after == c.begin() ? kAbsent : std::prev(after)->value;
}

auto writer_replay::changes_in(std::int64_t key, std::size_t lo, std::size_t hi) const
    -> std::pair<const change*, const change*> {
  const auto it = changes_.find(key);
  if (it == changes_.end()) return {nullptr, nullptr};
  const auto& c = it->second;
  const auto first = std::upper_bound(c.begin(), c.end(), lo,
                                      [](std::size_t x, const change& ch) { return x < ch.j; });
  const auto last = std::upper_bound(first, c.end(), hi,
                                     [](std::size_t x, const change& ch) { return x < ch.j; });
  return {c.data() + (first - c.begin()), c.data() + (last - c.begin())};
}

bool writer_replay::holds_somewhere(std::int64_t key, std::uint64_t value, std::size_t lo,
                                    std::size_t hi) const {
  if (value_at(key, lo) == value) return true;
  const auto [first, last] = changes_in(key, lo, hi);
  for (const change* c = first; c != last; ++c) {
    if (c->value == value) return true;
  }
  return false;
}

bool writer_replay::present_throughout(std::int64_t key, std::size_t lo, std::size_t hi) const {
  if (value_at(key, lo) == kAbsent) return false;
  const auto [first, last] = changes_in(key, lo, hi);
  for (const change* c = first; c != last; ++c) {
    if (c->value == kAbsent) return false;
  }
  return true;
}

std::vector<std::uint64_t> writer_replay::values_between(std::int64_t key, std::size_t lo,
                                                         std::size_t hi) const {
  std::vector<std::uint64_t> out{value_at(key, lo)};
  const auto [first, last] = changes_in(key, lo, hi);
  for (const change* c = first; c != last; ++c)
    out.push_back(c->value);
  return out;
}

std::pair<std::size_t, std::size_t> writer_replay::window(ticket inv, ticket resp) const {
  // resp_ and inv_ are increasing: the writer is sequential.
  const auto lo = std::lower_bound(resp_.begin(), resp_.end(), inv) - resp_.begin();
  const auto hi = std::lower_bound(inv_.begin(), inv_.end(), resp) - inv_.begin();
  return {static_cast<std::size_t>(lo), static_cast<std::size_t>(hi)};
}

}  // namespace tickring::lincheck
