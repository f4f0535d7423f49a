// Journal replay at start (journal.h): every segment in order, through the write path.
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
#include <stdexcept>
#include <vector>

#include "server/journal/journal.h"
#include "server/journal/journal_format.h"
#include "server/journal/snapshot_file.h"
#include "server/journal/snapshot_format.h"

namespace tickring::server::journal {
namespace {

// How often replay logs its progress.
constexpr std::chrono::seconds kProgressInterval{1};

struct segment_file {
  std::uint64_t number;
  std::string path;
};

std::vector<segment_file> list_segments(const std::string& dir) {
  std::vector<segment_file> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    throw std::runtime_error(
        fmt::format("cannot read --data-dir {}: {}", dir, std::strerror(errno)));
  }
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    // seg-<16 hex digits>.tjl
    if (name.size() != 24 || !name.starts_with("seg-") || !name.ends_with(".tjl")) continue;
    std::uint64_t n = 0;
    const auto digits = name.substr(4, 16);
    const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n, 16);
    if (ec != std::errc() || p != digits.data() + digits.size()) continue;
    out.push_back({n, dir + "/" + std::string(name)});
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(),
            [](const segment_file& a, const segment_file& b) { return a.number < b.number; });
  return out;
}

std::vector<unsigned char> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw std::runtime_error(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  struct stat st {};
  ::fstat(fd, &st);
  std::vector<unsigned char> data(static_cast<std::size_t>(st.st_size));
  std::size_t at = 0;
  while (at < data.size()) {
    const ssize_t n = ::read(fd, data.data() + at, data.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = n < 0 ? errno : EIO;
      ::close(fd);
      throw std::runtime_error(fmt::format("cannot read {}: {}", path, std::strerror(e)));
    }
    at += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return data;
}

void truncate_file(const std::string& path, std::size_t size) {
  if (size <= kSegmentHeaderBytes) {
    // Not even one record: no segment at all (a next run would take a bare header for one).
    if (::unlink(path.c_str()) != 0)
      throw std::runtime_error(fmt::format("cannot remove {}: {}", path, std::strerror(errno)));
    return;
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0 || ::fsync(fd) != 0) {
    const int e = errno;
    if (fd >= 0) ::close(fd);
    throw std::runtime_error(fmt::format("cannot truncate {}: {}", path, std::strerror(e)));
  }
  ::close(fd);
}

struct series_entry {
  bool known = false;
  std::string_view measurement, symbol;
  std::size_t field_count = 0;
  core::field_input fields[kMaxFields];
  // For deleting dead segments later: the store's series and the newest time touched here.
  const core::series* target = nullptr;
  core::time_ns newest = 0;
  bool touched = false;
};

// Applies a snapshot's series through the write path (replay's rules: the change sequence of
// each series is the snapshot's, or the later records' once they are replayed).
class snapshot_loader final : public snapshot_visitor {
 public:
  explicit snapshot_loader(write_path& path) : path_(path) {}
  void on_series(const snapshot_series& s) override {
    finish();
    cur_ = s;
    for (std::size_t f = 0; f < s.field_count; ++f) {
      fields_[f] = {s.fields[f].name, static_cast<core::field_kind>(s.fields[f].kind), 0};
    }
    left_ = s.points;
    open_ = true;
  }
  void on_point(std::int64_t time, const unsigned char* words) override {
    for (std::size_t f = 0; f < cur_.field_count; ++f)
      std::memcpy(&fields_[f].bits, words + 8 * f, 8);
    const core::point_input p{cur_.measurement, cur_.symbol, {fields_, cur_.field_count}, time};
    const auto r = path_.apply_replayed(p, cur_.change_seq);
    if (r.error != core::apply_error::none) ++rejected;
    ++points;
    --left_;
  }
  // After the last series.
  void finish() {
    if (!open_) return;
    open_ = false;
    if (cur_.points == 0) {
      // A series whose points were all deleted: it still exists, with its change sequence
      // (a stream client resumes on it). The store creates series from a point only, so one
      // is put and removed again, as replaying its journal records would have done.
      const core::point_input p{
          cur_.measurement, cur_.symbol, {fields_, cur_.field_count}, kEmptySeriesTime};
      const auto r = path_.apply_replayed(p, cur_.change_seq);
      if (r.error == core::apply_error::none)
        path_.remove_replayed(cur_.measurement, cur_.symbol, kEmptySeriesTime, cur_.change_seq);
    }
  }
  std::uint64_t points = 0;
  std::uint64_t rejected = 0;

 private:
  // Any time works: the point is removed at once.
  static constexpr core::time_ns kEmptySeriesTime = 0;
  write_path& path_;
  snapshot_series cur_;
  core::field_input fields_[kMaxFields];
  std::uint64_t left_ = 0;
  bool open_ = false;
};

}  // namespace

std::uint64_t journal::load_snapshot(write_path& path) {
  remove_snapshot_temps(options_.dir);
  const auto files = list_snapshots(options_.dir);
  std::uint64_t disk = 0;
  // Bad snapshots are set aside (renamed *.corrupt) only once the start goes on without them:
  // a refused start leaves the directory as it found it.
  std::vector<std::string> bad;
  auto set_aside = [&] {
    for (const auto& p : bad) {
      const std::string aside = p + ".corrupt";
      if (::rename(p.c_str(), aside.c_str()) != 0) {
        throw std::runtime_error(fmt::format("cannot rename {}: {}", p, std::strerror(errno)));
      }
      spdlog::warn("journal: snapshot {} set aside as {}", p, aside);
    }
  };
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& f = files[i];
    const auto data = read_file(f.path);
    const auto check = read_snapshot(data);
    if (!check.ok || check.next_jseq != f.next_jseq) {
      const std::string why =
          check.ok ? fmt::format("its position {} does not match its name", check.next_jseq)
                   : check.reason;
      spdlog::error("journal: snapshot {} cannot be used ({}); trying {}", f.path, why,
                    i + 1 < files.size() ? "the previous snapshot" : "the segments alone");
      bad.push_back(f.path);
      if (i + 1 == files.size()) {
        if (!options_.repair) {
          // The segments before the snapshots may be gone: replaying the rest alone could
          // start from a hole.
          throw std::runtime_error(fmt::format(
              "journal: no usable snapshot in {} (the segments before them may have been "
              "deleted); start with --journal-repair to replay the segments alone",
              options_.dir));
        }
        set_aside();
      }
      continue;
    }
    set_aside();
    spdlog::info("journal: loading snapshot {} ({} series, {} points, position {})", f.path,
                 check.series, check.points, check.next_jseq);
    {
      std::lock_guard lk(positions_mu_);
      for (const auto& [partition, sequence] : check.log_positions) {
        auto& at = positions_[partition];
        at = std::max(at, sequence);
      }
    }
    snapshot_loader loader(path);
    read_snapshot(data, &loader);
    loader.finish();
    counters_.snapshot_loaded_points.store(loader.points, std::memory_order_relaxed);
    counters_.replay_rejected.fetch_add(loader.rejected, std::memory_order_relaxed);
    last_snapshot_jseq_ = check.next_jseq;
    counters_.snapshot_position.store(check.next_jseq, std::memory_order_relaxed);
    // The segments from the oldest snapshot still kept on are needed (journal.h).
    std::uint64_t cut = check.next_jseq;
    for (std::size_t j = i; j < files.size() && j < i + kSnapshotsKept; ++j) {
      disk += files[j].bytes;
      cut = std::min(cut, files[j].next_jseq);
    }
    segments_cut_.store(cut, std::memory_order_relaxed);
    counters_.snapshot_disk_bytes.store(disk, std::memory_order_relaxed);
    return check.next_jseq;
  }
  return 0;
}

void journal::replay(write_path& path) {
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  auto last_log = started;
  store_ = &path.store();
  // Records before `from` are in the snapshot: read (they are checked and declare series)
  // but not applied.
  const std::uint64_t from = load_snapshot(path);
  const std::uint64_t from_snapshot = counters_.snapshot_loaded_points.load();
  const auto segments = list_segments(options_.dir);
  if (!segments.empty()) next_segment_ = segments.back().number + 1;
  std::uint64_t last_jseq = 0;
  std::uint64_t records = 0;
  std::uint64_t points = 0;
  std::uint64_t rejected = 0;
  std::uint64_t disk = 0;
  std::uint64_t kept = 0;
  if (!segments.empty()) {
    spdlog::info("journal: replaying {} segment(s) from {}", segments.size(), options_.dir);
  }
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto& seg = segments[i];
    const auto data = read_file(seg.path);
    std::vector<series_entry> dict;
    std::uint64_t seg_last = 0;
    // A point or a removal: applied, or (before the snapshot's position) only noted.
    auto apply_change = [&](const record_view& r) -> const char* {
      if (r.id >= dict.size() || !dict[r.id].known) return "a point of an undeclared series";
      auto& e = dict[r.id];
      if (r.jseq < from) {
        // In the snapshot already; only what deleting dead segments needs is kept.
        if (r.type != record_type::remove && r.field_count != e.field_count)
          return "a point with the wrong field count";
        e.newest = e.touched ? std::max(e.newest, r.time) : r.time;
        e.touched = true;
        if (e.target == nullptr) e.target = path.store().find(e.measurement, e.symbol);
        return nullptr;
      }
      if (r.type == record_type::remove) {
        e.newest = e.touched ? std::max(e.newest, r.time) : r.time;
        e.touched = true;
        path.remove_replayed(e.measurement, e.symbol, r.time, r.seq);
        if (e.target == nullptr) e.target = path.store().find(e.measurement, e.symbol);
      } else {
        if (r.field_count != e.field_count) return "a point with the wrong field count";
        for (std::size_t f = 0; f < e.field_count; ++f)
          std::memcpy(&e.fields[f].bits, r.words + 8 * f, 8);
        const core::point_input p{e.measurement, e.symbol, {e.fields, e.field_count}, r.time};
        e.newest = e.touched ? std::max(e.newest, r.time) : r.time;
        e.touched = true;
        const auto applied = path.apply_replayed(p, r.seq);
        if (applied.error != core::apply_error::none) ++rejected;
        if (e.target == nullptr) e.target = applied.target;
        ++points;
      }
      return nullptr;
    };
    // A log message's changes (journal_format.h, log batch) wait for its position record.
    // Their views point into `data`: a message never spans segments.
    std::vector<record_view> batch;
    bool in_batch = false;
    const auto result = scan_segment(data, [&](const record_view& r, std::size_t) -> const char* {
      // After a power loss the journal can end before a snapshot's position (the snapshot was
      // synced, the last records were not): the next run continues at the position.
      const bool resumes_at_snapshot = r.jseq == from && last_jseq < from;
      if (last_jseq != 0 && r.jseq != last_jseq + 1 && !resumes_at_snapshot) {
        return "the writer's sequence jumps";
      }
      // The first segment may start after `from`: retention's dead segments go oldest first,
      // and replaying the rest over the snapshot gives the same store (docs/design.md).
      last_jseq = seg_last = r.jseq;
      if ((++records & 0xFFFF) == 0 && clock::now() - last_log >= kProgressInterval) {
        last_log = clock::now();
        spdlog::info("journal: replaying {}: {} records so far", seg.path, records);
      }
      if (r.type == record_type::log_batch) {
        batch.clear();
        in_batch = true;
        return nullptr;
      }
      if (r.type == record_type::log_position) {
        // A message's changes take effect with its position, never without it.
        if (in_batch) {
          in_batch = false;
          for (const auto& change : batch) {
            if (const char* why = apply_change(change)) return why;
          }
          batch.clear();
        }
        // Positions only grow; the snapshot's may be newer than the records after its P.
        std::lock_guard lk(positions_mu_);
        auto& at = positions_[r.id];
        at = std::max(at, r.seq);
        return nullptr;
      }
      if (r.type == record_type::series) {
        if (r.id >= dict.size()) dict.resize(r.id + 1);
        auto& e = dict[r.id];
        e = series_entry{};
        e.known = true;
        e.measurement = r.measurement;
        e.symbol = r.symbol;
        e.field_count = r.field_count;
        for (std::size_t f = 0; f < r.field_count; ++f)
          e.fields[f] = {r.fields[f].name, static_cast<core::field_kind>(r.fields[f].kind), 0};
        return nullptr;
      }
      if (in_batch) {
        batch.push_back(r);
        return nullptr;
      }
      return apply_change(r);
    });
    if (in_batch) {
      // Only a process stopped while writing the message leaves one open: drop it whole.
      spdlog::warn(
          "journal: dropped {} change(s) of a log message cut short at the end of {} (the "
          "server stopped while writing it); it is consumed again after its position",
          batch.size(), seg.path);
      batch.clear();
    }
    auto summarise = [&] {
      segment_summary sum{seg.number, seg_last, {}};
      for (const auto& e : dict) {
        if (e.known && e.target != nullptr) sum.newest.emplace_back(e.target, e.newest);
      }
      closed_.push_back(std::move(sum));
    };
    std::size_t size = data.size();
    if (result.end == scan_end::torn && i + 1 == segments.size()) {
      spdlog::warn(
          "journal: dropped a torn last record in {} at offset {} ({} bytes: {}); the server "
          "stopped while writing it",
          seg.path, result.valid_bytes, data.size() - result.valid_bytes, result.reason);
      truncate_file(seg.path, result.valid_bytes);
      size = result.valid_bytes <= kSegmentHeaderBytes ? 0 : result.valid_bytes;
    } else if (result.end != scan_end::clean) {
      const std::string where = fmt::format("{} at offset {}", seg.path, result.valid_bytes);
      const std::string why =
          result.end == scan_end::torn ? "a segment cut short before the last one" : result.reason;
      if (!options_.repair) {
        throw std::runtime_error(fmt::format(
            "journal: corrupt record in {} ({}); start with --journal-repair to truncate the "
            "journal there (the {} bytes from there on{} are dropped)",
            where, why, data.size() - result.valid_bytes,
            i + 1 < segments.size() ? " and every later segment" : ""));
      }
      spdlog::error(
          "journal: --journal-repair: corrupt record in {} ({}); truncating there, "
          "{} bytes dropped",
          where, why, data.size() - result.valid_bytes);
      truncate_file(seg.path, result.valid_bytes);
      size = result.valid_bytes <= kSegmentHeaderBytes ? 0 : result.valid_bytes;
      disk += size;
      kept += size != 0 ? 1 : 0;
      if (size != 0) summarise();
      for (std::size_t j = i + 1; j < segments.size(); ++j) {
        const std::string aside = segments[j].path + ".discarded";
        if (::rename(segments[j].path.c_str(), aside.c_str()) != 0) {
          throw std::runtime_error(
              fmt::format("cannot rename {}: {}", segments[j].path, std::strerror(errno)));
        }
        spdlog::error("journal: --journal-repair: {} set aside as {}", segments[j].path, aside);
      }
      break;
    }
    disk += size;
    kept += size != 0 ? 1 : 0;
    if (size != 0) summarise();
  }
  // A journal that ends before the snapshot's position (see above) continues at it.
  next_jseq_ = std::max(last_jseq + 1, from);
  applied_jseq_.store(next_jseq_ - 1, std::memory_order_relaxed);
  const auto took = clock::now() - started;
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(took).count();
  counters_.replayed_records.store(records, std::memory_order_relaxed);
  counters_.replay_rejected.fetch_add(rejected, std::memory_order_relaxed);
  counters_.replay_ns.store(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
  counters_.disk_bytes.store(disk, std::memory_order_relaxed);
  counters_.segments.store(kept, std::memory_order_relaxed);
  if (!segments.empty() || from != 0) {
    spdlog::info(
        "journal: replayed {} records ({} points{}) in {:.3f} s ({:.0f} points/s){}", records,
        points + from_snapshot,
        from != 0 ? fmt::format(", {} of them from the snapshot", from_snapshot) : std::string(),
        static_cast<double>(ns) / 1e9,
        ns > 0 ? static_cast<double>(points + from_snapshot) * 1e9 / static_cast<double>(ns) : 0.0,
        rejected != 0 ? fmt::format("; {} points refused by the store's limits", rejected)
                      : std::string());
  }
}

}  // namespace tickring::server::journal
