// Snapshots of the rings (journal.h, docs/design.md "Snapshots"): the snapshot thread's side,
// and the listing of snapshot files shared with replay.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#include "server/journal/journal.h"
#include "server/journal/snapshot_file.h"
#include "server/journal/snapshot_format.h"

namespace tickring::server::journal {
namespace {

bool write_all(int fd, const std::string& bytes, std::string& error, const std::string& path) {
  std::size_t at = 0;
  while (at < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + at, bytes.size() - at);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = fmt::format("write {}: {}", path, std::strerror(errno));
      return false;
    }
    at += static_cast<std::size_t>(n);
  }
  return true;
}

void sync_dir(const std::string& dir) {
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

struct collected {
  std::vector<std::int64_t> times;
  std::vector<std::uint64_t> words;
  std::size_t field_count = 0;
};

bool collect(void* context, const core::stored_point& p) {
  auto& c = *static_cast<collected*>(context);
  c.times.push_back(p.time);
  c.words.insert(c.words.end(), p.words.begin(),
                 p.words.begin() + static_cast<std::ptrdiff_t>(c.field_count));
  return true;
}

}  // namespace

std::vector<snapshot_file> list_snapshots(const std::string& dir) {
  std::vector<snapshot_file> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    // snap-<16 hex digits>.tsn
    if (name.size() != 25 || !name.starts_with("snap-") || !name.ends_with(".tsn")) continue;
    std::uint64_t n = 0;
    const auto digits = name.substr(5, 16);
    const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n, 16);
    if (ec != std::errc() || p != digits.data() + digits.size()) continue;
    struct stat st {};
    const std::string path = dir + "/" + std::string(name);
    const auto size = ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    out.push_back({n, path, size});
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const snapshot_file& a, const snapshot_file& b) {
    return a.next_jseq > b.next_jseq;
  });
  return out;
}

void remove_snapshot_temps(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  std::vector<std::string> temps;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name.starts_with("snap-") && name.ends_with(".tmp"))
      temps.push_back(dir + "/" + std::string(name));
  }
  ::closedir(d);
  for (const auto& p : temps) {
    if (::unlink(p.c_str()) == 0) {
      spdlog::warn("journal: removed {}: a snapshot the last run did not finish", p);
    }
  }
}

std::string snapshot_path(const std::string& dir, std::uint64_t next_jseq) {
  return fmt::format("{}/snap-{:016x}.tsn", dir, next_jseq);
}

void journal::run_snapshots() {
  using clock = std::chrono::steady_clock;
  auto last = clock::now();
  std::uint64_t bytes_at_last = counters_.bytes_written.load(std::memory_order_relaxed);
  for (;;) {
    {
      std::unique_lock lk(snap_mu_);
      snap_cv_.wait_for(lk, kSnapshotPoll, [&] { return snap_stop_; });
      if (snap_stop_) return;
    }
    const auto written = counters_.bytes_written.load(std::memory_order_relaxed);
    const bool by_time =
        options_.snapshot_interval.count() > 0 && clock::now() - last >= options_.snapshot_interval;
    const bool by_bytes =
        options_.snapshot_bytes > 0 && written - bytes_at_last >= options_.snapshot_bytes;
    if (!by_time && !by_bytes) continue;
    snapshot_now();
    last = clock::now();
    bytes_at_last = written;
  }
}

bool journal::snapshot_now() {
  // Every record up to this one is in the rings (on_change publishes after the store applied).
  const std::uint64_t next_jseq = applied_jseq_.load(std::memory_order_acquire) + 1;
  if (next_jseq <= last_snapshot_jseq_ || next_jseq <= 1) return true;  // nothing new
  const auto started = std::chrono::steady_clock::now();
  std::string error;
  const std::string tmp = fmt::format("{}/snap-{:016x}.tmp", options_.dir, next_jseq);
  if (!write_snapshot(next_jseq, error)) {
    ::unlink(tmp.c_str());
    counters_.snapshot_errors.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("journal: snapshot at position {} failed: {}", next_jseq, error);
    return false;
  }
  last_snapshot_jseq_ = next_jseq;
  counters_.snapshot_position.store(next_jseq, std::memory_order_relaxed);
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  counters_.last_snapshot_ns.store(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
  counters_.last_snapshot_unix_ns.store(wall_clock_ns(), std::memory_order_relaxed);
  counters_.snapshots.fetch_add(1, std::memory_order_relaxed);
  prune_snapshots();
  spdlog::info("journal: snapshot at position {}: {} points, {} bytes in {:.3f} s", next_jseq,
               counters_.last_snapshot_points.load(), counters_.last_snapshot_bytes.load(),
               static_cast<double>(ns) / 1e9);
  return true;
}

bool journal::write_snapshot(std::uint64_t next_jseq, std::string& error) {
  const std::string tmp = fmt::format("{}/snap-{:016x}.tmp", options_.dir, next_jseq);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = fmt::format("cannot create {}: {}", tmp, std::strerror(errno));
    return false;
  }
  std::string buf;
  buf.reserve(kSnapshotWriteBytes + 64 * 1024);
  append_snapshot_header(buf);
  append_snapshot_begin(buf, next_jseq, wall_clock_ns());
  // Read before the walk: every change of a message up to these positions is in the rings
  // already (end_log_batch follows its changes), so the walk finds it.
  for (const auto& [partition, sequence] : log_positions())
    append_snapshot_log_position(buf, partition, sequence);
  std::uint64_t bytes = 0;
  std::uint64_t series_written = 0;
  std::uint64_t points = 0;
  collected rows;
  bool ok = true;
  auto flush = [&] {
    if (!ok || !write_all(fd, buf, error, tmp)) return ok = false;
    bytes += buf.size();
    buf.clear();
    return true;
  };
  const std::size_t n = store_->series_count();
  for (std::size_t i = 0; ok && i < n; ++i) {
    const core::series& s = store_->series_at(i);
    snapshot_series out;
    // Read before the points: a change during the walk has a record at or after next_jseq,
    // which replay applies (with its own change sequence) after the snapshot.
    out.change_seq = s.change_seq();
    out.measurement = s.measurement();
    out.symbol = s.symbol();
    out.field_count = s.field_count();
    for (std::size_t f = 0; f < out.field_count; ++f) {
      out.fields[f] = {static_cast<std::uint8_t>(s.fields()[f].kind), s.fields()[f].name};
    }
    rows.times.clear();
    rows.words.clear();
    rows.field_count = out.field_count;
    s.rows()->scan_backward(std::numeric_limits<core::time_ns>::max(), collect, &rows);
    // Newest first from the ring: the file holds them oldest first (appends on load).
    const std::size_t count = rows.times.size();
    std::reverse(rows.times.begin(), rows.times.end());
    for (std::size_t a = 0, b = count; a + 1 < b; ++a, --b) {
      std::swap_ranges(rows.words.begin() + static_cast<std::ptrdiff_t>(a * out.field_count),
                       rows.words.begin() + static_cast<std::ptrdiff_t>((a + 1) * out.field_count),
                       rows.words.begin() + static_cast<std::ptrdiff_t>((b - 1) * out.field_count));
    }
    out.points = static_cast<std::uint32_t>(count);
    append_snapshot_series(buf, out);
    for (std::size_t at = 0; at < count; at += kSnapshotPointsPerRecord) {
      const std::size_t k = std::min(kSnapshotPointsPerRecord, count - at);
      append_snapshot_points(buf, rows.times.data() + at, rows.words.data() + at * out.field_count,
                             k, out.field_count);
      if (buf.size() >= kSnapshotWriteBytes) flush();
    }
    ++series_written;
    points += count;
  }
  append_snapshot_end(buf, series_written, points);
  flush();
  // The walk may have read changes made after next_jseq; the file must not reach the disk
  // before the journal holds them, or a crash could leave a state that is no prefix of a
  // feed (a later point from the snapshot without an earlier one from the journal).
  const std::uint64_t read_up_to = applied_jseq_.load(std::memory_order_acquire);
  if (ok) ok = wait_journal(read_up_to, error);
  if (ok && ::fdatasync(fd) != 0) {
    error = fmt::format("fdatasync {}: {}", tmp, std::strerror(errno));
    ok = false;
  }
  ::close(fd);
  if (!ok) return false;
  const std::string final_path = snapshot_path(options_.dir, next_jseq);
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    error = fmt::format("rename {}: {}", tmp, std::strerror(errno));
    return false;
  }
  sync_dir(options_.dir);
  counters_.last_snapshot_bytes.store(bytes, std::memory_order_relaxed);
  counters_.last_snapshot_points.store(points, std::memory_order_relaxed);
  return true;
}

bool journal::wait_journal(std::uint64_t jseq, std::string& error) {
  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (done_jseq_ >= jseq) return true;
      if (counters_.failing.load(std::memory_order_relaxed)) {
        error = "the journal cannot write: " + error_;
        return false;
      }
    }
    {
      std::unique_lock lk(snap_mu_);
      // The ingest thread hands its buffer over every kDurableTick; the flusher writes it.
      snap_cv_.wait_for(lk, kDurableTick, [&] { return snap_stop_; });
      if (snap_stop_) {
        error = "the server is stopping";
        return false;
      }
    }
  }
}

void journal::prune_snapshots() {
  auto files = list_snapshots(options_.dir);  // newest first
  std::uint64_t disk = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (i < kSnapshotsKept) {
      disk += files[i].bytes;
      continue;
    }
    if (::unlink(files[i].path.c_str()) != 0) {
      spdlog::warn("journal: cannot remove old snapshot {}: {}", files[i].path,
                   std::strerror(errno));
      disk += files[i].bytes;
    }
  }
  counters_.snapshot_disk_bytes.store(disk, std::memory_order_relaxed);
  // Replay needs the records from the oldest kept snapshot on (the fallback when the newest
  // cannot be read); every segment wholly before that may go.
  if (files.empty()) return;
  const std::size_t oldest = std::min(files.size(), kSnapshotsKept) - 1;
  segments_cut_.store(files[oldest].next_jseq, std::memory_order_release);
}

}  // namespace tickring::server::journal
