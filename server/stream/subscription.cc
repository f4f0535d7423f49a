#include "server/stream/subscription.h"

#include <algorithm>
#include <limits>

#include "protocol/json_text.h"
#include "protocol/point_format.h"

namespace tickring::server::stream {
namespace {

using protocol::append_json_number;
using protocol::append_json_string;

constexpr core::time_ns kMinTime = std::numeric_limits<core::time_ns>::min();

}  // namespace

series_view::series_view(const protocol::subscribe_request& req, const core::series* s)
    : req_(req) {
  set_series(s);
}

void series_view::set_series(const core::series* s) {
  series_ = s;
  name_ = s != nullptr ? protocol::series_name(*s) : req_.series.name();
  if (s == nullptr) return;
  fields_.clear();
  all_fields_ = req_.fields.empty();
  if (all_fields_) {
    for (std::size_t i = 0; i < s->field_count(); ++i)
      fields_.push_back(i);
  } else {
    // A wildcard's series may lack some of the requested fields: send those it has.
    for (const auto& f : req_.fields) {
      const int i = s->field_index(f);
      if (i >= 0) fields_.push_back(static_cast<std::size_t>(i));
    }
  }
  if (req_.candle_interval != 0) candle_fields_ = protocol::choose_candle_fields(*s, {});
}

std::string series_view::head(std::string_view type) const {
  std::string out;
  protocol::append_message_head(out, type, req_.id);
  out += "\"series\":";
  append_json_string(out, name_);
  return out;
}

void series_view::announce(core::seq_no seq, outbox_port& out) {
  std::string m = head("subscribed");
  m += ",\"seq\":";
  append_json_number(m, static_cast<std::uint64_t>(seq));
  m += '}';
  out.push_control(std::move(m));
  announced_ = true;
}

void series_view::on_marker(const inbox_entry& e, outbox_port& out) {
  switch (e.marker) {
    case marker_kind::absent: {
      // Nothing to read: the series starts at 0 and its first change will be seq 1.
      last_seq_ = 0;
      last_ring_ = 0;
      finish_snapshot(0, out);
      return;
    }
    case marker_kind::attach:
      set_series(e.series);
      if (announced_) {
        // An awaited series appeared: it starts at 0, as announced.
        last_seq_ = 0;
        last_ring_ = 0;
        phase_ = phase::live;
        return;
      }
      start_snapshot(0, 0, out);
      return;
    case marker_kind::resumed: {
      set_series(e.series);
      last_seq_ = e.seq;
      last_ring_ = e.ring_seq;
      announce(e.seq, out);
      phase_ = phase::live;
      return;
    }
    case marker_kind::reset: {
      set_series(e.series);
      if (!announced_ && !req_.series.wildcard()) announce(e.seq, out);
      std::string m = head("reset");
      m += ",\"seq\":";
      append_json_number(m, static_cast<std::uint64_t>(e.seq));
      m += ",\"reason\":";
      append_json_string(m, e.reason);
      m += '}';
      out.push_control(std::move(m));
      start_snapshot(e.ring_seq, e.seq, out);
      return;
    }
    case marker_kind::resync:
      set_series(e.series);
      lag(e.dropped);
      last_seq_ = e.seq;
      last_ring_ = e.ring_seq;
      on_room(out);
      return;
    case marker_kind::fresh:
      set_series(e.series);
      start_snapshot(e.ring_seq, e.seq, out);
      return;
  }
}

void series_view::on_room(outbox_port& out) {
  if (phase_ != phase::lagged) return;
  std::string m = head("lagged");
  m += ",\"dropped\":";
  append_json_number(m, static_cast<std::uint64_t>(dropped_));
  m += ",\"seq\":";
  append_json_number(m, static_cast<std::uint64_t>(last_seq_));
  m += '}';
  out.push_control(std::move(m));
  dropped_ = 0;
  start_snapshot(last_ring_, last_seq_, out);
}

void series_view::start_snapshot(core::seq_no ring, core::seq_no seq, outbox_port& out) {
  last_ring_ = ring;
  last_seq_ = seq;
  points_.clear();
  floor_ = kMinTime;
  const bool candles = req_.candle_interval != 0;
  const std::size_t want = candles ? std::max<std::size_t>(req_.snapshot, 1) : req_.snapshot;
  if (want == 0 || series_ == nullptr) return finish_snapshot(seq, out);
  const auto rows = series_->rows();
  const core::seq_no c1 = rows->committed_seq();
  (void)c1;
  core::seq_no seen = 0;
  core::time_ns window = kMinTime;  // candles: the oldest bar start wanted
  std::size_t n = 0;
  bool stopped_by_count = false;
  struct ctx_t {
    series_view* self;
    std::size_t want;
    bool candles;
    core::seq_no* seen;
    core::time_ns* window;
    std::size_t* n;
    bool* stopped;
  } ctx{this, want, candles, &seen, &window, &n, &stopped_by_count};
  rows->scan_backward(
      std::numeric_limits<core::time_ns>::max(),
      [](void* c, const core::stored_point& p) {
        auto& x = *static_cast<ctx_t*>(c);
        if (x.candles) {
          const core::time_ns interval = x.self->req_.candle_interval;
          if (*x.n == 0) {
            const core::time_ns newest = core::backward_candle_builder::bar_start(p.time, interval);
            const auto back = static_cast<core::time_ns>(x.want - 1);
            core::time_ns span = 0;
            if (__builtin_mul_overflow(back, interval, &span) ||
                __builtin_sub_overflow(newest, span, x.window)) {
              *x.window = kMinTime;
            }
          }
          if (p.time < *x.window) return false;
          if (*x.n >= kMaxCandleSnapshotPoints) {
            *x.stopped = true;
            return false;
          }
        }
        *x.seen = std::max(*x.seen, p.seq);
        words_t w;
        std::copy_n(p.words.begin(), w.size(), w.begin());
        x.self->points_.emplace(p.time, w);
        ++*x.n;
        if (!x.candles && *x.n >= x.want) {
          *x.stopped = true;
          return false;
        }
        return true;
      },
      &ctx);
  const core::seq_no c2 = rows->committed_seq();
  if (stopped_by_count && !points_.empty()) floor_ = points_.begin()->first;
  if (candles) floor_ = std::max(floor_, window);
  cut_ = std::max(c2, seen);
  if (cut_ <= ring) return finish_snapshot(seq, out);
  phase_ = phase::snapshotting;
}

void series_view::merge(const change_record& r) {
  if (r.evicted != 0) points_.erase(points_.begin(), points_.lower_bound(r.oldest));
  if (r.time < floor_) return;
  if (r.kind == change_kind::remove) {
    points_.erase(r.time);
  } else {
    points_[r.time] = r.words;
  }
}

void series_view::finish_snapshot(core::seq_no seq, outbox_port& out) {
  last_seq_ = seq;
  if (!announced_ && !req_.series.wildcard()) announce(seq, out);
  std::string m = head("snapshot");
  m += ",\"seq\":";
  append_json_number(m, static_cast<std::uint64_t>(seq));
  points_.erase(points_.begin(), points_.lower_bound(floor_));
  if (req_.candle_interval == 0) {
    m += ",\"points\":[";
    // A delete or an eviction during the read can leave fewer than asked; an insert more.
    auto it = points_.begin();
    if (points_.size() > req_.snapshot) std::advance(it, points_.size() - req_.snapshot);
    bool first = true;
    for (; it != points_.end(); ++it) {
      if (!first) m += ',';
      first = false;
      protocol::append_point_object(m, *series_, it->first, it->second.data(), fields_);
    }
    m += "]}";
  } else {
    const core::time_ns interval = req_.candle_interval;
    m += ",\"interval\":";
    append_json_string(m, req_.candle_text);
    m += ",\"bars\":[";
    std::vector<core::candle> bars;
    open_ticks_.clear();
    have_open_ = false;
    for (const auto& [t, w] : points_) {
      const double px = candle_fields_->price_of(*series_, w.data());
      const double vol = candle_fields_->volume_of(*series_, w.data());
      const core::time_ns start = core::backward_candle_builder::bar_start(t, interval);
      if (bars.empty() || bars.back().start != start) {
        bars.push_back({start, px, px, px, px, vol, 1});
        open_ticks_.clear();
      } else {
        auto& b = bars.back();
        b.high = std::max(b.high, px);
        b.low = std::min(b.low, px);
        b.close = px;
        b.volume += vol;
        ++b.ticks;
      }
      open_ticks_.push_back({t, px, vol});
    }
    if (!bars.empty()) {
      have_open_ = true;
      open_start_ = bars.back().start;
    }
    const std::size_t skip = bars.size() > req_.snapshot ? bars.size() - req_.snapshot : 0;
    for (std::size_t i = skip; i < bars.size(); ++i) {
      if (i != skip) m += ',';
      protocol::append_bar_object(m, bars[i]);
    }
    m += "]}";
  }
  points_.clear();
  out.push_control(std::move(m));
  phase_ = phase::live;
}

void series_view::on_record(const change_record& r, const record_ptr& shared, outbox_port& out) {
  switch (phase_) {
    case phase::waiting:
      return;  // before the marker: cannot happen (the hub pushes the marker first)
    case phase::snapshotting:
      merge(r);
      last_ring_ = r.ring_seq_last;
      if (r.ring_seq_last >= cut_) finish_snapshot(r.seq, out);
      return;
    case phase::lagged:
      // Keep counting where the series is; a fresh snapshot follows once there is room.
      last_ring_ = r.ring_seq_last;
      last_seq_ = r.seq;
      ++dropped_;
      return;
    case phase::live:
      break;
  }
  if (r.seq <= last_seq_) return;  // replayed twice (cannot happen; never send a duplicate)
  last_ring_ = r.ring_seq_last;
  last_seq_ = r.seq;
  if (req_.candle_interval != 0) return candle_live(r, out);
  emit_live(r, shared, out);
}

void series_view::emit_live(const change_record& r, const record_ptr& shared, outbox_port& out) {
  const bool point = r.kind != change_kind::remove;
  std::string h;
  protocol::append_message_head(h, point ? "point" : "delete", req_.id);
  if (all_fields_ || !point) {
    out.push_live(this, std::move(h), shared, point);
    return;
  }
  protocol::append_change_body(h, *series_, r.seq, r.time, r.words.data(), fields_);
  out.push_live(this, std::move(h), nullptr, false);
}

core::candle series_view::bar_from_ring(core::time_ns start) const {
  const core::time_ns end = start + req_.candle_interval;
  core::backward_candle_builder b(req_.candle_interval, 1);
  struct ctx_t {
    const series_view* self;
    core::time_ns start;
    core::backward_candle_builder* b;
  } ctx{this, start, &b};
  series_->rows()->scan_backward(
      end - 1,
      [](void* c, const core::stored_point& p) {
        auto& x = *static_cast<ctx_t*>(c);
        if (p.time < x.start) return false;
        const auto& f = *x.self->candle_fields_;
        return x.b->add(p.time, f.price_of(*x.self->series_, p.words.data()),
                        f.volume_of(*x.self->series_, p.words.data()));
      },
      &ctx);
  auto bars = b.take_ascending();
  if (bars.empty()) return core::candle{start, 0, 0, 0, 0, 0, 0};
  return bars.front();
}

void series_view::candle_live(const change_record& r, outbox_port& out) {
  const core::time_ns interval = req_.candle_interval;
  const core::time_ns start = core::backward_candle_builder::bar_start(r.time, interval);
  const bool remove = r.kind == change_kind::remove;
  if (have_open_ && start < open_start_) {
    // A late, overwritten or deleted tick of a closed bar: send the bar again, final.
    emit_bar(bar_from_ring(start), true, r.seq, out);
    return;
  }
  const double px = remove ? 0 : candle_fields_->price_of(*series_, r.words.data());
  const double vol = remove ? 0 : candle_fields_->volume_of(*series_, r.words.data());
  if (!have_open_ || start > open_start_) {
    if (remove) return;  // nothing of a bar not begun
    // The open bar is closed by a tick of a later bar.
    if (have_open_ && !open_ticks_.empty()) emit_bar(open_bar(), true, r.seq - 1, out);
    have_open_ = true;
    open_start_ = start;
    open_ticks_.clear();
  }
  // Into the open bar: keep its ticks by time (appends are the rule).
  auto it = std::lower_bound(open_ticks_.begin(), open_ticks_.end(), r.time,
                             [](const tick& t, core::time_ns v) { return t.time < v; });
  if (remove) {
    if (it != open_ticks_.end() && it->time == r.time) open_ticks_.erase(it);
  } else if (it != open_ticks_.end() && it->time == r.time) {
    *it = {r.time, px, vol};
  } else {
    open_ticks_.insert(it, {r.time, px, vol});
  }
  if (open_ticks_.empty()) return;
  emit_bar(open_bar(), false, r.seq, out);
}

core::candle series_view::open_bar() const {
  core::candle c{open_start_, open_ticks_.front().price, 0, 0, 0, 0, 0};
  c.high = c.low = c.open;
  for (const auto& t : open_ticks_) {
    c.high = std::max(c.high, t.price);
    c.low = std::min(c.low, t.price);
    c.close = t.price;
    c.volume += t.volume;
    ++c.ticks;
  }
  return c;
}

void series_view::emit_bar(const core::candle& c, bool final, core::seq_no seq, outbox_port& out) {
  std::string m = head("bar");
  m += ",\"seq\":";
  append_json_number(m, static_cast<std::uint64_t>(seq));
  m += ",\"bar\":";
  protocol::append_bar_object(m, c);
  m += final ? ",\"final\":true}" : ",\"final\":false}";
  out.push_live(this, std::move(m), nullptr, false);
}

subscription::subscription(protocol::subscribe_request req, subscription_ptr ref)
    : req_(std::move(req)), ref_(std::move(ref)) {}

series_view& subscription::view_for(const core::series* s) {
  // One series: one view, whether or not the series existed at subscribe time.
  const core::series* key = req_.series.wildcard() ? s : nullptr;
  auto& v = views_[key];
  if (!v) v = std::make_unique<series_view>(req_, s);
  return *v;
}

void subscription::on_entry(const inbox_entry& e, outbox_port& out) {
  if (e.record) {
    view_for(e.record->series).on_record(*e.record, e.record, out);
  } else {
    view_for(e.series).on_marker(e, out);
  }
}

void subscription::on_room(outbox_port& out) {
  for (auto& [s, v] : views_)
    v->on_room(out);
}

bool subscription::has_lagged() const {
  return std::any_of(views_.begin(), views_.end(), [](const auto& kv) {
    return kv.second->state() == series_view::phase::lagged;
  });
}

}  // namespace tickring::server::stream
