#include "server/ingest/write_path.h"

namespace tickring::server {

reject_reason reason_of(core::apply_error e) {
  switch (e) {
    case core::apply_error::too_many_series:
      return reject_reason::too_many_series;
    case core::apply_error::too_many_fields:
      return reject_reason::too_many_fields;
    case core::apply_error::unknown_field:
      return reject_reason::unknown_field;
    case core::apply_error::missing_field:
      return reject_reason::missing_field;
    case core::apply_error::field_type_conflict:
    case core::apply_error::none:
      break;
  }
  return reject_reason::field_type_conflict;
}

write_path::write_path(core::series_store& store, ingest_counters& counters)
    : store_(store), counters_(counters) {}

void write_path::count_rejected(reject_reason r) {
  bump(counters_.lines_rejected);
  bump(counters_.by_reason[static_cast<std::size_t>(r)]);
}

core::apply_result write_path::apply(const core::point_input& p) {
  return apply_counted(p, true);
}

core::apply_result write_path::apply_counted(const core::point_input& p, bool count_line) {
  core::apply_result r = store_.apply(p);
  if (r.error != core::apply_error::none) {
    if (count_line) count_rejected(reason_of(r.error));
    return r;
  }
  if (count_line) bump(counters_.lines_accepted);
  bump(r.inserted ? counters_.points_inserted : counters_.points_overwritten);
  if (r.evicted != 0) bump(counters_.points_evicted, r.evicted);
  if (!sinks_.empty()) {
    publish({*r.target, r.inserted ? change_kind::insert : change_kind::overwrite, p.time, r.seq,
             r.ring_seq, r.ring_seq_last, r.evicted, r.oldest, r.words.data(), r.created});
  }
  return r;
}

// The series is the store's own (only handed out as const to readers); the writer may set
// its sequence. Replaying what the journal recorded gives the recorded sequences by itself;
// they differ only when the journal's older segments were deleted (retention), and then the
// first replayed change of a series sets it. No sink watches during replay, so the one change
// published with the other number is seen by none.
core::apply_result write_path::apply_replayed(const core::point_input& p, core::seq_no seq) {
  core::apply_result r = apply_counted(p, false);
  if (r.error == core::apply_error::none && r.seq != seq) {
    const_cast<core::series*>(r.target)->restore_change_seq(seq);
    r.seq = seq;
  }
  return r;
}

void write_path::remove_replayed(std::string_view measurement, std::string_view symbol,
                                 core::time_ns t, core::seq_no seq) {
  const core::series* s = store_.find(measurement, symbol);
  if (s == nullptr) return;
  remove(*s, t);
  if (s->change_seq() != seq) const_cast<core::series*>(s)->restore_change_seq(seq);
}

std::optional<core::remove_result> write_path::remove(const core::series& s, core::time_ns t) {
  const auto r = store_.remove(s, t);
  if (!r) return r;
  bump(counters_.points_removed);
  if (!sinks_.empty()) {
    publish({s, change_kind::remove, t, r->seq, r->ring_seq, r->ring_seq, 0, 0, nullptr, false});
  }
  return r;
}

}  // namespace tickring::server
