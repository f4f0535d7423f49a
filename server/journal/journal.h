// The journal (--data-dir): an append-only log of every applied change, in segment files of
// bounded size (journal_format.h), replayed at start through the write path.
//
// Threads:
// - open() and replay() run on the main thread before the ingest thread starts;
// - on_change, accepting, commit and tick run on the ingest thread (the write path's sink).
//   They encode records into a local buffer and hand it to the flusher under a mutex once it
//   holds kHandoverBytes, on commit, and on tick (kDurableTick): never a system call, never a wait;
// - the flusher thread write()s the handed-over buffers (group commit), fdatasync()s per
//   --fsync, rotates segments, and runs the commit completions;
// - counters() from any thread.
// Promise: with `always` a commit completes only after its records are on disk (fdatasync);
// with `everysec` and `no` after they were written to the OS (so a process crash loses no
// acknowledged write), with an fdatasync once a second (`everysec`) or when the OS decides
// (`no`). Feed lines are not acknowledged: a crash can lose the ones in the buffers.
// Failure: a write error (ENOSPC, EIO) keeps the unwritten bytes, fails the commits waiting
// for them, and makes accepting() false until a retry (every kRetryInterval) succeeds.
// Dead segments: the ingest thread remembers, per closed segment, the newest time each series
// touched in it; once every such series holds only newer points (retention evicted all the
// segment's points), the oldest segment is deleted whole (oldest first, so the writer's
// sequence stays contiguous): replaying the rest gives the same store.
// Snapshots (docs/design.md, "Snapshots"): a snapshot thread, every --snapshot-interval or
// once the journal grew by --snapshot-bytes, notes the journal position P (every record before
// P is applied to the rings: on_change publishes its sequence after the store applied the
// change), walks every series with the lock-free readers, writes snap-<P>.tmp, waits until
// the journal holds (per --fsync) every record applied during the walk, syncs and renames it
// to snap-<P>.tsn. It keeps the newest kSnapshotsKept; the ingest thread then deletes the
// closed segments whose records all precede the oldest kept snapshot's P. Replay loads the
// newest valid snapshot and applies the records from its P on.
// Log positions (--nats): end_log_batch appends a log position record after a message's
// changes and holds the buffer (no hand-over, no new segment) from begin_log_batch until then,
// so a process crash keeps a message's records whole or not at all; every new segment starts
// with the positions known so far; a snapshot carries the positions it read before its walk.
// Replay takes, per partition, the highest position of the snapshot and the records.
// Bounds: at most kMaxQueuedBytes handed over and not yet written; past it accepting() is
// false (the disk is slower than the feed) rather than the ingest thread waiting.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/ingest/write_path.h"

namespace tickring::server::journal {

enum class fsync_policy : std::uint8_t { always, everysec, no };

inline constexpr std::size_t kDefaultSegmentBytes = 64 * 1024 * 1024;
// Below this a segment holds too few records for its header and series records to amortise.
inline constexpr std::size_t kMinSegmentBytes = 64 * 1024;
// The ingest thread hands its buffer over at this size: one lock per ~3,500 quotes.
inline constexpr std::size_t kHandoverBytes = 256 * 1024;
// Written but unflushed bytes the ingest thread may have handed over (a disk slower than the
// feed): past it lines are refused (journal_unavailable) instead of memory growing.
inline constexpr std::size_t kMaxQueuedBytes = 256 * 1024 * 1024;
// After a write error, how often the flusher tries again (the disk may have room again).
inline constexpr std::chrono::milliseconds kRetryInterval{500};
inline constexpr std::chrono::seconds kEverysecInterval{1};
// Written buffers kept for reuse (each kHandoverBytes): no allocation per hand-over.
inline constexpr std::size_t kSpareBuffers = 8;
// The flusher's wake-up when it has nothing to do (it is woken for work anyway).
inline constexpr std::chrono::seconds kIdleWake{1};
// How many ingest ticks between checks for dead segments (about once a second).
inline constexpr unsigned kDeadCheckTicks = 100;
// Snapshots: the default period and journal growth that start one (0 turns either off), how
// many are kept (the previous one is the fallback when the newest cannot be read), how often
// the snapshot thread looks at the journal's growth, and the buffer it writes in.
inline constexpr std::chrono::seconds kDefaultSnapshotInterval{600};
inline constexpr std::uint64_t kDefaultSnapshotBytes = 1ULL << 30;
inline constexpr std::size_t kSnapshotsKept = 2;
inline constexpr std::chrono::milliseconds kSnapshotPoll{200};
inline constexpr std::size_t kSnapshotWriteBytes = 1024 * 1024;

struct journal_options {
  std::string dir;
  fsync_policy fsync = fsync_policy::everysec;
  std::size_t segment_bytes = kDefaultSegmentBytes;
  bool repair = false;
  std::chrono::seconds snapshot_interval = kDefaultSnapshotInterval;  // 0: not by time
  std::uint64_t snapshot_bytes = kDefaultSnapshotBytes;               // 0: not by growth
};

struct journal_counters {
  std::atomic<std::uint64_t> records{0};           // records handed to the OS
  std::atomic<std::uint64_t> bytes_written{0};     // bytes handed to the OS
  std::atomic<std::uint64_t> disk_bytes{0};        // segment files on disk
  std::atomic<std::uint64_t> segments_removed{0};  // dead segments deleted
  std::atomic<std::uint64_t> segments{0};          // segment files on disk
  std::atomic<std::uint64_t> fsyncs{0};
  std::atomic<std::int64_t> last_fsync_unix_ns{0};
  std::atomic<std::uint64_t> write_errors{0};
  std::atomic<std::uint64_t> queued_bytes{0};  // handed over, not yet written
  std::atomic<std::uint64_t> replayed_records{0};
  std::atomic<std::uint64_t> replay_rejected{0};  // replayed points the store refused
  std::atomic<std::uint64_t> replay_ns{0};
  std::atomic<bool> failing{false};  // a write error has not been overcome yet
  // Snapshots.
  std::atomic<std::uint64_t> snapshots{0};        // written since start
  std::atomic<std::uint64_t> snapshot_errors{0};  // attempts that failed
  std::atomic<std::int64_t> last_snapshot_unix_ns{0};
  std::atomic<std::uint64_t> last_snapshot_bytes{0};
  std::atomic<std::uint64_t> last_snapshot_points{0};
  std::atomic<std::uint64_t> last_snapshot_ns{0};        // how long it took
  std::atomic<std::uint64_t> snapshot_disk_bytes{0};     // snapshot files on disk
  std::atomic<std::uint64_t> snapshot_loaded_points{0};  // at start, from the snapshot
  std::atomic<std::uint64_t> snapshot_position{0};       // P of the newest snapshot (0: none)
};

class journal final : public durable_sink {
 public:
  explicit journal(journal_options options);
  ~journal() override;
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  // Main thread, before replay: creates the directory if missing and takes its lock. Throws
  // std::runtime_error naming the directory when it cannot be written or is locked.
  void open();
  // Main thread, before the ingest thread starts: applies every segment through `path`,
  // drops a torn last record (and truncates it away), and throws std::runtime_error naming
  // the file and offset of a corrupt record unless options.repair (then truncates there).
  void replay(write_path& path);
  // Starts the flusher and the snapshot thread. After replay.
  void start();
  // After the ingest thread has stopped (joined): stops the snapshot thread, hands over its last
  // buffer, writes and syncs everything, runs the last completions and stops the flusher.
  void stop();

  // ---- ingest thread (durable_sink) ----
  void on_change(const applied_change& c) override;
  bool accepting(std::string& why) const override;
  void commit(commit_done done) override;
  void tick() override;
  void begin_log_batch() override;
  void end_log_batch(std::uint32_t partition, std::uint64_t sequence) override;

  // Any thread: partition -> the last log sequence applied (after replay: what the journal
  // and snapshot hold; then as the consumer applies messages).
  std::map<std::uint32_t, std::uint64_t> log_positions() const;

  const journal_counters& counters() const { return counters_; }
  const journal_options& options() const { return options_; }
  // Snapshot thread (tests may call it instead): writes one snapshot now if anything changed
  // since the last one. False when it failed (logged and counted).
  bool snapshot_now();
  std::string last_error() const;

 private:
  struct chunk {
    std::uint64_t segment;
    std::string bytes;
    std::uint64_t last_jseq;  // 0: no record in it
    std::uint64_t records;
    std::size_t written = 0;  // bytes already written (after a partial write)
    bool remove = false;      // not bytes: delete segment `segment` (dead)
  };
  // A closed segment: the newest time each series touched in it.
  struct segment_summary {
    std::uint64_t segment;
    std::uint64_t last_jseq;  // its last record's writer sequence
    std::vector<std::pair<const core::series*, core::time_ns>> newest;
  };
  struct waiter {
    std::uint64_t jseq;
    commit_done done;
  };

  void hand_over();                      // ingest thread
  void rotate();                         // ingest thread
  void drop_dead_segments();             // ingest thread
  bool remove_segment(std::uint64_t n);  // flusher
  void run_flusher();
  bool write_chunk(chunk& c, std::string& error);  // flusher
  bool sync(std::string& error);                   // flusher
  std::string segment_path(std::uint64_t n) const;
  void run_snapshots();
  std::uint64_t load_snapshot(write_path& path);  // replay: the position loaded (0: none)
  bool write_snapshot(std::uint64_t next_jseq, std::string& error);  // snapshot thread
  bool wait_journal(std::uint64_t jseq, std::string& error);         // snapshot thread
  void prune_snapshots();                                            // snapshot thread

  journal_options options_;
  journal_counters counters_;
  int lock_fd_ = -1;

  // Ingest thread.
  std::string local_;
  std::uint64_t local_last_jseq_ = 0;
  std::uint64_t local_records_ = 0;
  std::uint64_t next_jseq_ = 1;
  std::uint64_t segment_ = 0;  // segment being encoded into (0: none yet)
  std::size_t segment_bytes_ = 0;
  std::unordered_map<const core::series*, std::uint32_t> ids_;
  std::vector<bool> defined_;  // by id: a series record is in the current segment
  std::vector<const core::series*> by_id_;
  std::vector<core::time_ns> newest_;   // by id: newest time touched in the current segment
  std::vector<std::uint32_t> touched_;  // ids with a series record in the current segment
  std::deque<segment_summary> closed_;  // oldest first
  unsigned ticks_ = 0;
  std::uint64_t next_segment_ = 1;  // set by replay past every segment found
  std::uint64_t cut_done_ = 0;      // segments before this position were queued for deletion

  // Log positions: written by the ingest thread (and replay), read by the snapshot thread.
  mutable std::mutex positions_mu_;
  std::map<std::uint32_t, std::uint64_t> positions_;
  bool holding_ = false;  // ingest thread: inside a log batch

  // Published by the ingest thread after each on_change: the last record applied.
  std::atomic<std::uint64_t> applied_jseq_{0};
  // Published by the snapshot thread: segments whose records all precede it may go.
  std::atomic<std::uint64_t> segments_cut_{0};

  // Snapshot thread.
  const core::series_store* store_ = nullptr;  // set by replay
  std::thread snapshotter_;
  std::mutex snap_mu_;
  std::condition_variable snap_cv_;
  bool snap_stop_ = false;                // guarded by snap_mu_
  std::uint64_t last_snapshot_jseq_ = 0;  // P of the newest snapshot (0: none)

  // Shared with the flusher.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<chunk> queue_;
  std::vector<std::string> spare_;  // written buffers, reused by the ingest thread
  std::vector<waiter> waiters_;
  std::uint64_t handed_jseq_ = 0;  // last jseq handed over
  bool stop_ = false;
  std::string error_;  // the last write error (while failing)

  // Flusher.
  int fd_ = -1;
  std::uint64_t open_segment_ = 0;
  std::uint64_t written_jseq_ = 0;
  std::uint64_t synced_jseq_ = 0;
  bool dirty_ = false;
  std::uint64_t done_jseq_ = 0;  // guarded by mu_: what commits may count as durable
  std::thread flusher_;
  bool started_ = false;
};

}  // namespace tickring::server::journal
