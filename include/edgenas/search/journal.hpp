// edgenas/search/journal.hpp — an append-only log of a search, one JSON object per line.
//
// Every record is written with a single write() and fsync'ed before append() returns, so after
// a crash (SIGKILL, power loss) the file holds every record that was acknowledged, plus at
// most one torn line at the end. Opening the journal drops that torn tail (truncating the
// file) and keeps the rest; a damaged line anywhere else is an error naming the line.
// Records live in a deque: a reference to one stays valid while more are appended (the pipeline
// holds its final-training plan while journaling re-plans; a vector's growth once freed it).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <string>

#include "edgenas/core/error.hpp"
#include "edgenas/core/json.hpp"

namespace edgenas::search {

class Journal {
 public:
  explicit Journal(std::string path) : path_(std::move(path)) {
    fd_.fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    EDGENAS_CHECK(fd_.fd >= 0, Status::io_error, "%s: cannot open journal: %s", path_.c_str(), std::strerror(errno));
    std::string text;
    char buf[1 << 16];
    for (ssize_t n; (n = ::pread(fd_.fd, buf, sizeof buf, static_cast<off_t>(text.size()))) > 0;)
      text.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0, line = 1;
    for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1, ++line) {
      const std::string where = path_ + " line " + std::to_string(line);
      records_.push_back(json::parse(std::string_view(text).substr(start, end - start), where.c_str()));
    }
    if (start < text.size()) {  // a record cut short by a crash: never acknowledged, drop it
      torn_bytes_ = text.size() - start;
      EDGENAS_CHECK(::ftruncate(fd_.fd, static_cast<off_t>(start)) == 0, Status::io_error,
                    "%s: cannot drop a torn record: %s", path_.c_str(), std::strerror(errno));
    }
  }
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  const std::string& path() const noexcept { return path_; }
  const std::deque<json::Value>& records() const noexcept { return records_; }
  /// Bytes of an unfinished record found (and dropped) at the end when opening.
  std::size_t torn_bytes() const noexcept { return torn_bytes_; }

  /// Appends one record durably.
  void append(const json::Value& record) {
    const std::string line = json::dump(record, -1) + "\n";
    EDGENAS_CHECK(line.find('\n') == line.size() - 1, Status::invalid_argument, "journal records are one line");
    const ssize_t n = ::write(fd_.fd, line.data(), line.size());
    EDGENAS_CHECK(n == static_cast<ssize_t>(line.size()), Status::io_error, "%s: write failed: %s", path_.c_str(),
                  std::strerror(errno));
    EDGENAS_CHECK(::fsync(fd_.fd) == 0, Status::io_error, "%s: fsync failed: %s", path_.c_str(), std::strerror(errno));
    records_.push_back(record);
  }

 private:
  // Closes the file however the object ends, also when the constructor throws on a damaged
  // line (a destructor would not run then).
  struct File {
    int fd = -1;
    File() = default;
    File(const File&) = delete;
    File& operator=(const File&) = delete;
    ~File() {
      if (fd >= 0) ::close(fd);
    }
  };
  std::string path_;
  File fd_;
  std::deque<json::Value> records_;
  std::size_t torn_bytes_ = 0;
};

}  // namespace edgenas::search
