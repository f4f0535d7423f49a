#include "client-cli/feed_input.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace tickring::cli {

bool open_input(const std::string& path, input_file& in, std::string& error) {
  if (path == "-") {
    in.fd = STDIN_FILENO;
  } else {
    in.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (in.fd < 0) {
      error = fmt::format("cannot open {}: {}", path, std::strerror(errno));
      return false;
    }
  }
  struct stat st {};
  if (::fstat(in.fd, &st) == 0 && S_ISREG(st.st_mode)) {
    // From the current offset: `tickring feed - < file` after a partial read still works.
    const off_t at = ::lseek(in.fd, 0, SEEK_CUR);
    in.size = static_cast<std::uint64_t>(st.st_size - std::max<off_t>(at, 0));
  }
  return true;
}

}  // namespace tickring::cli
