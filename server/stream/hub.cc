#include "server/stream/hub.h"

#include <algorithm>

#include "protocol/stream_messages.h"

namespace tickring::server::stream {

namespace {
// What one record costs in a log: the record, its body, the shared pointer's control block.
std::size_t record_bytes(const change_record& r) {
  return sizeof(change_record) + r.body.capacity() + 2 * sizeof(void*);
}
}  // namespace

hub::hub(const core::series_store& store, std::size_t replay, std::size_t replay_bytes)
    : store_(store), replay_(replay), replay_bytes_(replay_bytes) {}

std::string hub::key(std::string_view m, std::string_view s) {
  std::string k(m);
  k.push_back('\0');
  k += s;
  return k;
}

void hub::subscribe(const subscription_ptr& sub) {
  const auto& spec = sub->spec;
  if (spec.wildcard()) {
    wildcards_[spec.measurement].push_back(sub);
    const std::size_t n = store_.series_count();
    for (std::size_t i = 0; i < n; ++i) {
      const core::series& s = store_.series_at(i);
      if (s.measurement() == spec.measurement) attach(s, sub, marker_kind::fresh);
    }
    return;
  }
  const core::series* s = store_.find(spec.measurement, spec.symbol);
  if (s == nullptr) {
    waiting_[key(spec.measurement, spec.symbol)].push_back(sub);
    sub->inbox->push(inbox_entry::of_marker(sub, marker_kind::absent));
    return;
  }
  states_[s].keep_log = true;
  attach(*s, sub, marker_kind::fresh);
}

void hub::attach(const core::series& s, const subscription_ptr& sub, marker_kind kind) {
  series_state& st = states_[&s];
  st.slots.push_back({sub});
  // Between two changes on the writer thread: these are exact.
  const core::seq_no ring = s.rows()->committed_seq();
  const core::seq_no seq = s.change_seq();
  inbox_entry m = inbox_entry::of_marker(sub, kind, &s, ring, seq);
  if (kind == marker_kind::fresh && sub->since_seq) {
    const core::seq_no k = *sub->since_seq;
    const bool in_log = !st.log.empty() && st.log.front()->seq <= k + 1 && k <= seq;
    if (k == seq || in_log) {
      m.marker = marker_kind::resumed;
      m.seq = k;
      if (!sub->inbox->push(std::move(m))) return;
      for (const auto& r : st.log) {
        if (r->seq <= k) continue;
        sub->inbox->push(inbox_entry::of_record(sub, r));
        counters_.replayed.fetch_add(1, std::memory_order_relaxed);
      }
      return;
    }
    m.marker = marker_kind::reset;
    m.reason = k > seq ? "since_seq " + std::to_string(k) + " is ahead of the series (at " +
                             std::to_string(seq) + "): the server restarted or the series is new"
                       : "since_seq " + std::to_string(k) +
                             " is older than the changes the server still holds";
    counters_.resets.fetch_add(1, std::memory_order_relaxed);
  }
  sub->inbox->push(std::move(m));
}

void hub::unsubscribe(const subscription_ptr& sub) {
  auto drop = [&](std::vector<subscription_ptr>& v) { std::erase(v, sub); };
  if (sub->spec.wildcard()) {
    if (auto it = wildcards_.find(sub->spec.measurement); it != wildcards_.end()) {
      drop(it->second);
      if (it->second.empty()) wildcards_.erase(it);
    }
  } else if (auto it = waiting_.find(key(sub->spec.measurement, sub->spec.symbol));
             it != waiting_.end()) {
    drop(it->second);
    if (it->second.empty()) waiting_.erase(it);
  }
  for (auto it = states_.begin(); it != states_.end();) {
    std::erase_if(it->second.slots, [&](const slot& s) { return s.sub == sub; });
    if (it->second.slots.empty() && !it->second.keep_log) {
      it = states_.erase(it);
    } else {
      ++it;
    }
  }
}

void hub::resync(const std::shared_ptr<session_inbox>& inbox) {
  for (auto& [s, st] : states_) {
    for (slot& sl : st.slots) {
      if (!sl.overflowed || sl.sub->inbox != inbox ||
          !sl.sub->active.load(std::memory_order_relaxed)) {
        continue;
      }
      // Between two changes on the writer thread: exact. A full inbox refuses the marker and
      // remembers it, and the session asks again after its next drain.
      if (inbox->push(inbox_entry::of_marker(sl.sub, marker_kind::resync, s,
                                             s->rows()->committed_seq(), s->change_seq(),
                                             sl.dropped))) {
        sl.overflowed = false;
        sl.dropped = 0;
      }
    }
  }
}

void hub::on_change(const applied_change& c) {
  if (states_.empty() && waiting_.empty() && wildcards_.empty()) return;
  if (c.created) {
    // A new series: subscriptions that waited for it by name, and wildcards of its
    // measurement, start at sequence 0 with this change as their first record.
    if (auto it = waiting_.find(key(c.series.measurement(), c.series.symbol()));
        it != waiting_.end()) {
      states_[&c.series].keep_log = true;
      for (const auto& sub : it->second) {
        if (sub->active.load(std::memory_order_relaxed)) {
          states_[&c.series].slots.push_back({sub});
          sub->inbox->push(inbox_entry::of_marker(sub, marker_kind::attach, &c.series));
        }
      }
      waiting_.erase(it);
    }
    if (auto it = wildcards_.find(c.series.measurement()); it != wildcards_.end()) {
      for (const auto& sub : it->second) {
        if (!sub->active.load(std::memory_order_relaxed)) continue;
        states_[&c.series].slots.push_back({sub});
        sub->inbox->push(inbox_entry::of_marker(sub, marker_kind::attach, &c.series));
      }
    }
  }
  const auto it = states_.find(&c.series);
  if (it == states_.end()) return;
  series_state& st = it->second;
  auto r = std::make_shared<change_record>();
  r->series = &c.series;
  r->kind = c.kind;
  r->time = c.time;
  r->seq = c.seq;
  r->ring_seq = c.ring_seq;
  r->ring_seq_last = c.ring_seq_last;
  r->evicted = c.evicted;
  r->oldest = c.oldest;
  if (c.words != nullptr) {
    std::copy_n(c.words, c.series.field_count(), r->words.begin());
  }
  r->body.reserve(64 + 24 * c.series.field_count());
  protocol::append_change_body(r->body, c.series, c.seq, c.time, c.words);
  counters_.records.fetch_add(1, std::memory_order_relaxed);
  record_ptr shared = std::move(r);
  if (st.keep_log && replay_ > 0) {
    auto drop_oldest = [&] {
      log_bytes_ -= record_bytes(*st.log.front());
      st.log.pop_front();
    };
    if (st.log.size() == replay_) drop_oldest();
    st.log.push_back(shared);
    log_bytes_ += record_bytes(*shared);
    while (log_bytes_ > replay_bytes_ && st.log.size() > kMinReplay)
      drop_oldest();
    counters_.log_bytes.store(log_bytes_, std::memory_order_relaxed);
  }
  deliver(c.series, st, shared);
}

void hub::deliver(const core::series& s, series_state& st, const record_ptr& r) {
  bool any_inactive = false;
  for (slot& sl : st.slots) {
    if (!sl.sub->active.load(std::memory_order_relaxed)) {
      any_inactive = true;
      continue;
    }
    if (sl.overflowed) {
      // Resync once the session has drained: the marker names the state after this change.
      if (sl.sub->inbox->has_room() &&
          sl.sub->inbox->push(inbox_entry::of_marker(sl.sub, marker_kind::resync, &s,
                                                     r->ring_seq_last, r->seq, sl.dropped + 1))) {
        sl.overflowed = false;
        sl.dropped = 0;
      } else {
        ++sl.dropped;
        counters_.inbox_drops.fetch_add(1, std::memory_order_relaxed);
      }
      continue;
    }
    if (!sl.sub->inbox->push(inbox_entry::of_record(sl.sub, r))) {
      sl.overflowed = true;
      sl.dropped = 1;
      counters_.inbox_drops.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (any_inactive) {
    std::erase_if(st.slots,
                  [](const slot& sl) { return !sl.sub->active.load(std::memory_order_relaxed); });
  }
}

}  // namespace tickring::server::stream
