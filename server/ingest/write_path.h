// The one write path: every change enters the SeriesStore through this class, on the ingest
// thread — TCP feed lines, /write bodies, DELETE, the demo feed, journal replay (before the
// ingest thread starts, on the thread that will start it), and later a log consumer. It
// validates (through the store), applies, counts, and hands each applied change to its sinks
// in the order they were added (the stream hub, then the journal: server/journal/journal.h).
//
// Threads: ingest thread only, except counters() (any thread). Sinks run inline on the ingest
// thread and must not block: they may allocate once per change, never per subscriber.
// Retention evictions are not changes of their own: they ride on the insert that caused them
// (applied_change::evicted, ring_seq_last, oldest) and take no change sequence number.
// Cost: the store's apply plus one virtual call per sink.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/series_store.h"
#include "server/ingest/ingest_counters.h"

namespace tickring::server {

enum class change_kind : std::uint8_t { insert, overwrite, remove };

// One applied change, valid only during the sink call.
struct applied_change {
  const core::series& series;
  change_kind kind;
  core::time_ns time;
  core::seq_no seq;            // the series' change sequence
  core::seq_no ring_seq;       // the ring's sequence of the change
  core::seq_no ring_seq_last;  // the ring's sequence after its evictions (== ring_seq if none)
  std::size_t evicted;         // points dropped by retention after an insert
  core::time_ns oldest;        // the lowest time left when evicted != 0
  const std::uint64_t* words;  // field values (insert, overwrite); nullptr for remove
  bool created;                // the change created the series
};

class change_sink {
 public:
  virtual ~change_sink() = default;
  virtual void on_change(const applied_change& c) = 0;
};

// A sink that makes changes durable (the journal). The write path asks it before applying a
// line whether it can take changes now (a full disk says no), and ingest hands it the
// completion of each /write and DELETE, to be run once their changes are as durable as the
// sink promises.
// How often the ingest thread ticks the durable sink: bounds how long a quiet feed's last
// changes stay in the sink's buffer before they are handed on to be written.
inline constexpr std::chrono::milliseconds kDurableTick{10};

class durable_sink : public change_sink {
 public:
  // Ingest thread. False: refuse the change; `why` says what is wrong (the line's reason).
  virtual bool accepting(std::string& why) const = 0;
  // Ingest thread. Runs `done` (on the ingest thread or the sink's own thread) once every
  // change handed over so far is durable, or with ok=false and the reason if it cannot be.
  using commit_done = std::function<void(bool ok, const std::string& why)>;
  virtual void commit(commit_done done) = 0;
  // Ingest thread, every few milliseconds: hand buffered changes on (a quiet feed's tail).
  virtual void tick() = 0;
  // Ingest thread. A log consumer (server/cluster/log_consumer.h) applies one message of its
  // log between these two calls: the sink records that `partition` is applied up to the log's
  // `sequence`, in one piece with the message's changes (a crash keeps all of them with the
  // position, or the position before them), so a restart resumes right after it.
  virtual void begin_log_batch() {}
  virtual void end_log_batch(std::uint32_t partition, std::uint64_t sequence) {
    (void)partition;
    (void)sequence;
  }
};

class write_path {
 public:
  write_path(core::series_store& store, ingest_counters& counters);
  write_path(const write_path&) = delete;
  write_path& operator=(const write_path&) = delete;

  void add_sink(change_sink* sink) { sinks_.push_back(sink); }
  // The durable sink is also a sink; at most one.
  void set_durable(durable_sink* sink) {
    durable_ = sink;
    add_sink(sink);
  }
  durable_sink* durable() const { return durable_; }
  // False when the durable sink cannot take changes now (then `why` says so).
  bool accepting(std::string& why) const { return durable_ == nullptr || durable_->accepting(why); }

  // Applies one point. On error nothing is stored and the rejection is counted.
  core::apply_result apply(const core::point_input& p);
  // Removes the point at `t` of `s` (DELETE); nothing if absent.
  std::optional<core::remove_result> remove(const core::series& s, core::time_ns t);
  // Journal replay: applies a change read back from the journal so that the series' change
  // sequence becomes `seq` (continuing where the server stopped). Not counted as a line.
  core::apply_result apply_replayed(const core::point_input& p, core::seq_no seq);
  void remove_replayed(std::string_view measurement, std::string_view symbol, core::time_ns t,
                       core::seq_no seq);
  // A log consumer's message (durable_sink::begin_log_batch): no-ops without a durable sink.
  void begin_log_batch() {
    if (durable_ != nullptr) durable_->begin_log_batch();
  }
  void end_log_batch(std::uint32_t partition, std::uint64_t sequence) {
    if (durable_ != nullptr) durable_->end_log_batch(partition, sequence);
  }
  // Counts a line rejected before it became a point (parse error, too long).
  void count_rejected(reject_reason r);

  core::series_store& store() { return store_; }
  const ingest_counters& counters() const { return counters_; }

 private:
  void publish(const applied_change& c) {
    for (change_sink* s : sinks_)
      s->on_change(c);
  }

  core::apply_result apply_counted(const core::point_input& p, bool count_line);

  core::series_store& store_;
  ingest_counters& counters_;
  std::vector<change_sink*> sinks_;
  durable_sink* durable_ = nullptr;
};

// Nanoseconds since the Unix epoch (the clock that stamps points without a timestamp).
inline core::time_ns wall_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The reason a store error rejects a point, for counting.
reject_reason reason_of(core::apply_error e);

}  // namespace tickring::server
