#include "server/journal/journal.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "server/journal/journal_format.h"
#include "server/thread_name.h"

namespace tickring::server::journal {
namespace {

std::string errno_text(int e) {
  return std::strerror(e);
}

constexpr std::string_view kLockName = "LOCK";

}  // namespace

journal::journal(journal_options options) : options_(std::move(options)) {}

journal::~journal() {
  stop();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::string journal::segment_path(std::uint64_t n) const {
  return fmt::format("{}/seg-{:016x}.tjl", options_.dir, n);
}

std::string journal::last_error() const {
  std::lock_guard lk(mu_);
  return error_;
}

void journal::open() {
  const std::string& dir = options_.dir;
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    throw std::runtime_error(
        fmt::format("cannot create --data-dir {}: {}", dir, errno_text(errno)));
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw std::runtime_error(fmt::format("--data-dir {} is not a directory", dir));
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw std::runtime_error(fmt::format("cannot write --data-dir {}: {}", dir, errno_text(errno)));
  }
  const std::string lock_path = fmt::format("{}/{}", dir, kLockName);
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) {
    throw std::runtime_error(
        fmt::format("cannot write --data-dir {}: {}: {}", dir, lock_path, errno_text(errno)));
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    char pid[32] = {};
    const auto n = ::pread(lock_fd_, pid, sizeof pid - 1, 0);
    std::string holder = n > 0 ? std::string(pid, static_cast<std::size_t>(n)) : "unknown";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' '))
      holder.pop_back();
    if (e == EWOULDBLOCK) {
      throw std::runtime_error(
          fmt::format("--data-dir {} is locked by another tickring-server (pid {}, lock file {})",
                      dir, holder, lock_path));
    }
    throw std::runtime_error(fmt::format("cannot lock {}: {}", lock_path, errno_text(e)));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) != 0 ||
      ::pwrite(lock_fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    throw std::runtime_error(
        fmt::format("cannot write --data-dir {}: {}: {}", dir, lock_path, errno_text(errno)));
  }
}

void journal::start() {
  if (started_) return;
  started_ = true;
  // What replay read is on disk already: a commit with nothing new completes at once.
  written_jseq_ = synced_jseq_ = done_jseq_ = next_jseq_ - 1;
  flusher_ = std::thread([this] {
    name_this_thread("journal");
    run_flusher();
  });
  if (store_ != nullptr &&
      (options_.snapshot_interval.count() > 0 || options_.snapshot_bytes > 0)) {
    snapshotter_ = std::thread([this] {
      name_this_thread("snapshot");
      run_snapshots();
    });
  }
}

void journal::stop() {
  if (!started_) return;
  started_ = false;
  if (snapshotter_.joinable()) {
    {
      std::lock_guard lk(snap_mu_);
      snap_stop_ = true;
    }
    snap_cv_.notify_one();
    snapshotter_.join();
  }
  hand_over();  // the ingest thread has stopped: its last buffer is ours now
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  flusher_.join();
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

// ---------------------------------------------------------------- ingest thread

void journal::on_change(const applied_change& c) {
  const auto [it, fresh] = ids_.try_emplace(&c.series, static_cast<std::uint32_t>(ids_.size()));
  const std::uint32_t id = it->second;
  if (fresh) {
    defined_.push_back(false);
    by_id_.push_back(&c.series);
    newest_.push_back(c.time);
  }
  const std::size_t fields = c.series.field_count();
  // A point record's size; a series record is small next to a segment.
  const std::size_t need = kFrameBytes + 29 + 8 * fields;
  // Inside a log batch the segment may grow past its size by one message's records: a batch
  // is never split across segments (or hand-overs).
  if (segment_ == 0 || (!holding_ && segment_bytes_ + need > options_.segment_bytes &&
                        segment_bytes_ > kSegmentHeaderBytes)) {
    rotate();
  }
  const std::size_t before = local_.size();
  if (!defined_[id]) {
    field_def defs[kMaxFields];
    for (std::size_t i = 0; i < fields; ++i) {
      defs[i] = {static_cast<std::uint8_t>(c.series.fields()[i].kind), c.series.fields()[i].name};
    }
    append_series(local_, next_jseq_++, id, c.series.measurement(), c.series.symbol(),
                  {defs, fields});
    ++local_records_;
    defined_[id] = true;
    touched_.push_back(id);
    newest_[id] = c.time;
  }
  newest_[id] = std::max(newest_[id], c.time);
  if (c.kind == change_kind::remove) {
    append_remove(local_, next_jseq_++, id, c.time, c.seq);
  } else {
    append_point(local_,
                 c.kind == change_kind::insert ? record_type::insert : record_type::overwrite,
                 next_jseq_++, id, c.time, c.seq, c.words, fields);
  }
  ++local_records_;
  local_last_jseq_ = next_jseq_ - 1;
  segment_bytes_ += local_.size() - before;
  // The store applied this change before the write path called us: a snapshot that reads
  // this number finds every record up to it in the rings.
  applied_jseq_.store(local_last_jseq_, std::memory_order_release);
  if (local_.size() >= kHandoverBytes && !holding_) hand_over();
}

void journal::begin_log_batch() {
  // A batch never starts a segment on its own changes (holding_), so a full segment is closed
  // here, between batches; a segment exceeds its size by at most one message's records.
  if (segment_ == 0 || segment_bytes_ >= options_.segment_bytes) rotate();
  holding_ = true;
  // Marks where the message's changes start: replay applies them only once the position
  // record that ends them is read (journal_format.h, log batch).
  segment_bytes_ += append_log_batch(local_, next_jseq_++);
  ++local_records_;
  local_last_jseq_ = next_jseq_ - 1;
  applied_jseq_.store(local_last_jseq_, std::memory_order_release);
}

void journal::end_log_batch(std::uint32_t partition, std::uint64_t sequence) {
  holding_ = false;
  if (segment_ == 0) rotate();
  {
    std::lock_guard lk(positions_mu_);
    positions_[partition] = sequence;
  }
  segment_bytes_ += append_log_position(local_, next_jseq_++, partition, sequence);
  ++local_records_;
  local_last_jseq_ = next_jseq_ - 1;
  applied_jseq_.store(local_last_jseq_, std::memory_order_release);
  if (local_.size() >= kHandoverBytes) hand_over();
}

std::map<std::uint32_t, std::uint64_t> journal::log_positions() const {
  std::lock_guard lk(positions_mu_);
  return positions_;
}

void journal::rotate() {
  if (segment_ != 0) {
    segment_summary done{segment_, next_jseq_ - 1, {}};
    done.newest.reserve(touched_.size());
    for (const std::uint32_t id : touched_)
      done.newest.emplace_back(by_id_[id], newest_[id]);
    closed_.push_back(std::move(done));
  }
  touched_.clear();
  hand_over();
  segment_ = next_segment_++;
  segment_bytes_ = kSegmentHeaderBytes;
  std::fill(defined_.begin(), defined_.end(), false);
  append_segment_header(local_);
  // The positions so far, so that deleting older (dead) segments never loses them.
  std::lock_guard lk(positions_mu_);
  for (const auto& [partition, sequence] : positions_) {
    segment_bytes_ += append_log_position(local_, next_jseq_++, partition, sequence);
    ++local_records_;
    local_last_jseq_ = next_jseq_ - 1;
  }
}

void journal::hand_over() {
  if (local_.empty()) return;
  chunk c{segment_, std::move(local_), local_last_jseq_, local_records_};
  local_records_ = 0;
  const std::size_t n = c.bytes.size();
  {
    std::lock_guard lk(mu_);
    queue_.push_back(std::move(c));
    if (!spare_.empty()) {
      local_ = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  counters_.queued_bytes.fetch_add(n, std::memory_order_relaxed);
  local_.clear();
  local_.reserve(kHandoverBytes + 4096);
  cv_.notify_one();
}

bool journal::accepting(std::string& why) const {
  if (!counters_.failing.load(std::memory_order_relaxed) &&
      counters_.queued_bytes.load(std::memory_order_relaxed) < kMaxQueuedBytes) {
    return true;
  }
  std::lock_guard lk(mu_);
  why = counters_.failing.load(std::memory_order_relaxed)
            ? fmt::format(
                  "journal write failed ({}); writes are refused until it can write "
                  "again (--data-dir {})",
                  error_, options_.dir)
            : fmt::format(
                  "journal is {} bytes behind the disk; writes are refused until it "
                  "catches up (--data-dir {})",
                  kMaxQueuedBytes, options_.dir);
  return false;
}

void journal::commit(commit_done done) {
  hand_over();
  const std::uint64_t target = next_jseq_ - 1;
  {
    std::unique_lock lk(mu_);
    if (target > done_jseq_) {
      if (!counters_.failing.load(std::memory_order_relaxed)) {
        waiters_.push_back({target, std::move(done)});
        return;
      }
      const std::string why = error_;
      lk.unlock();
      done(false, why);
      return;
    }
  }
  done(true, {});
}

void journal::tick() {
  hand_over();
  if (++ticks_ >= kDeadCheckTicks || segments_cut_.load(std::memory_order_relaxed) != cut_done_) {
    cut_done_ = segments_cut_.load(std::memory_order_relaxed);
    ticks_ = 0;
    drop_dead_segments();
  }
}

void journal::drop_dead_segments() {
  auto dead = [](const segment_summary& s) {
    for (const auto& [series, newest] : s.newest) {
      // The writer's view: the ingest thread is the rings' writer. An empty series keeps its
      // segment (its name and sequence would be lost with it).
      const auto oldest = series->rows()->oldest_time();
      if (!oldest || *oldest <= newest) return false;
    }
    return true;
  };
  // Segments whose every record precedes the oldest kept snapshot's position.
  const std::uint64_t cut = segments_cut_.load(std::memory_order_acquire);
  auto covered = [&](const segment_summary& s) { return s.last_jseq < cut; };
  bool any = false;
  while (!closed_.empty() && (covered(closed_.front()) || dead(closed_.front()))) {
    hand_over();  // in order: the segments written before this request
    {
      std::lock_guard lk(mu_);
      chunk c{closed_.front().segment, {}, 0, 0};
      c.remove = true;
      queue_.push_back(std::move(c));
    }
    closed_.pop_front();
    any = true;
  }
  if (any) cv_.notify_one();
}

// ---------------------------------------------------------------- flusher thread

bool journal::remove_segment(std::uint64_t n) {
  if (n == open_segment_) return true;  // never: closed segments precede the open one
  const std::string path = segment_path(n);
  struct stat st {};
  const bool sized = ::stat(path.c_str(), &st) == 0;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    // Only disk space is at stake (the segment replays to the same store): not a write error.
    spdlog::warn("journal: cannot remove dead segment {}: {}", path, errno_text(errno));
    return true;
  }
  if (sized) counters_.disk_bytes.fetch_sub(static_cast<std::uint64_t>(st.st_size));
  counters_.segments.fetch_sub(1);
  counters_.segments_removed.fetch_add(1);
  spdlog::debug("journal: removed {}: a snapshot holds it, or retention evicted its points", path);
  return true;
}

bool journal::write_chunk(chunk& c, std::string& error) {
  if (c.remove) return remove_segment(c.segment);
  if (c.segment != open_segment_) {
    // The previous segment is complete: it reaches the disk before any record after it, so
    // that only the last segment can ever end torn.
    if (fd_ >= 0) {
      if (!sync(error)) return false;
      ::close(fd_);
      fd_ = -1;
    }
    const std::string path = segment_path(c.segment);
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      error = fmt::format("cannot create {}: {}", path, errno_text(errno));
      return false;
    }
    open_segment_ = c.segment;
    counters_.segments.fetch_add(1, std::memory_order_relaxed);
    // The new file's name must survive a power loss too.
    if (const int dfd = ::open(options_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }
  while (c.written < c.bytes.size()) {
    const ssize_t n = ::write(fd_, c.bytes.data() + c.written, c.bytes.size() - c.written);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = fmt::format("write {}: {}", segment_path(c.segment), errno_text(errno));
      return false;
    }
    c.written += static_cast<std::size_t>(n);
    dirty_ = true;
    counters_.disk_bytes.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
    counters_.bytes_written.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
  }
  if (c.last_jseq != 0) written_jseq_ = c.last_jseq;
  counters_.records.fetch_add(c.records, std::memory_order_relaxed);
  return true;
}

bool journal::sync(std::string& error) {
  if (fd_ < 0 || !dirty_) {
    synced_jseq_ = written_jseq_;
    return true;
  }
  if (::fdatasync(fd_) != 0) {
    error = fmt::format("fdatasync {}: {}", segment_path(open_segment_), errno_text(errno));
    return false;
  }
  dirty_ = false;
  synced_jseq_ = written_jseq_;
  counters_.fsyncs.fetch_add(1, std::memory_order_relaxed);
  counters_.last_fsync_unix_ns.store(wall_clock_ns(), std::memory_order_relaxed);
  return true;
}

void journal::run_flusher() {
  using clock = std::chrono::steady_clock;
  auto last_sync = clock::now();
  std::deque<chunk> work;  // taken from queue_, written in order
  clock::time_point deadline = clock::now() + kEverysecInterval;
  for (;;) {
    bool stopping = false;
    {
      std::unique_lock lk(mu_);
      cv_.wait_until(lk, deadline, [&] {
        return stop_ || (!queue_.empty() && !counters_.failing.load(std::memory_order_relaxed));
      });
      while (!queue_.empty()) {
        work.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      stopping = stop_;
    }
    std::string error;
    bool ok = true;
    while (!work.empty()) {
      if (!write_chunk(work.front(), error)) {
        ok = false;
        break;
      }
      std::string done = std::move(work.front().bytes);
      counters_.queued_bytes.fetch_sub(done.size(), std::memory_order_relaxed);
      work.pop_front();
      done.clear();
      std::lock_guard lk(mu_);
      if (spare_.size() < kSpareBuffers) spare_.push_back(std::move(done));
    }
    const auto now = clock::now();
    if (ok && dirty_ &&
        (options_.fsync == fsync_policy::always || stopping ||
         (options_.fsync == fsync_policy::everysec && now - last_sync >= kEverysecInterval))) {
      ok = sync(error);
      last_sync = now;
    }
    if (!ok) counters_.write_errors.fetch_add(1, std::memory_order_relaxed);
    const bool was_failing = counters_.failing.load(std::memory_order_relaxed);
    std::vector<waiter> ready;
    std::vector<waiter> failed;
    {
      std::lock_guard lk(mu_);
      done_jseq_ = options_.fsync == fsync_policy::always ? synced_jseq_ : written_jseq_;
      for (auto& w : waiters_)
        (w.jseq <= done_jseq_ ? ready : failed).push_back(std::move(w));
      waiters_.clear();
      if (ok) {
        // Not failing: what is not durable yet is still in the queue; wait for it.
        waiters_ = std::move(failed);
        failed.clear();
        error_.clear();
      } else {
        error_ = error;
      }
      counters_.failing.store(!ok, std::memory_order_relaxed);
    }
    if (!ok && !was_failing) spdlog::error("journal: {}; refusing writes until it succeeds", error);
    if (ok && was_failing) spdlog::warn("journal: writing again");
    for (auto& w : ready)
      w.done(true, {});
    for (auto& w : failed)
      w.done(false, error);
    if (stopping) {
      if (!ok) {
        spdlog::error("journal: {} bytes could not be written at shutdown: {}",
                      counters_.queued_bytes.load(), error);
      }
      break;
    }
    deadline = !ok                                                  ? clock::now() + kRetryInterval
               : dirty_ && options_.fsync == fsync_policy::everysec ? last_sync + kEverysecInterval
                                                                    : clock::now() + kIdleWake;
  }
}

}  // namespace tickring::server::journal
