#include "common/log.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

namespace cordon::log {

namespace {

std::atomic<int>& level_threshold() {
  static std::atomic<int> threshold = [] {
    const char* env = std::getenv("CORDON_LOG_LEVEL");
    bool debug = env != nullptr && std::string_view(env) == "debug";
    return static_cast<int>(debug ? Level::debug : Level::info);
  }();
  return threshold;
}

bool stderr_is_journal() {
  static const bool result = is_journal_stream(std::getenv("JOURNAL_STREAM"), STDERR_FILENO);
  return result;
}

std::string_view level_name(Level level) {
  switch (level) {
  case Level::debug: return "debug";
  case Level::info: return "info";
  case Level::warn: return "warn";
  case Level::error: return "error";
  }
  return "error";
}

// syslog(3) priorities, as journald expects them in PRIORITY=.
char level_priority(Level level) {
  switch (level) {
  case Level::debug: return '7';
  case Level::info: return '6';
  case Level::warn: return '4';
  case Level::error: return '3';
  }
  return '3';
}

void append_escaped(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    switch (c) {
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    case '\\': out += "\\\\"; break;
    case '"': out += "\\\""; break;
    default:
      if (byte < 0x20 || byte == 0x7f) {
        out += "\\x";
        out += hex[byte >> 4];
        out += hex[byte & 0x0f];
      } else {
        out += c;
      }
    }
  }
}

bool needs_quotes(std::string_view value) {
  if (value.empty()) return true;
  for (char c : value) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f || c == '"' || c == '=' || c == '\\') return true;
  }
  return false;
}

void write_stderr(const std::string& line) {
  const char* data = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t written = ::write(STDERR_FILENO, data, left);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return; // nowhere left to report a logging failure
    data += written;
    left -= static_cast<std::size_t>(written);
  }
}

bool write_journal(Level level, std::string_view message, Fields fields) {
  static const std::string identifier =
      std::string("SYSLOG_IDENTIFIER=") + program_invocation_short_name;
  // The fields are in MESSAGE= too, so `journalctl -u` shows why, not only what; each is also
  // a CORDON_<KEY>= field of its own for queries.
  std::string message_field = "MESSAGE=";
  message_field += format_message(message, fields);
  std::string priority_field = "PRIORITY=";
  priority_field += level_priority(level);

  std::vector<std::string> field_storage;
  field_storage.reserve(fields.size());
  for (const Field& field : fields) {
    std::string entry = journal_field_name(field.key);
    entry += '=';
    entry += field.value;
    field_storage.push_back(std::move(entry));
  }
  std::vector<iovec> iov;
  iov.reserve(3 + field_storage.size());
  auto push = [&iov](const std::string& text) {
    iov.push_back(iovec{const_cast<char*>(text.data()), text.size()});
  };
  push(message_field);
  push(priority_field);
  push(identifier);
  for (const std::string& entry : field_storage) push(entry);
  // Parenthesised to call the function, not the macro that adds this file's CODE_FILE.
  return (sd_journal_sendv)(iov.data(), static_cast<int>(iov.size())) >= 0;
}

} // namespace

void set_level(Level level) { level_threshold().store(static_cast<int>(level)); }

bool enabled(Level level) { return static_cast<int>(level) >= level_threshold().load(); }

std::string format_line(Level level, std::string_view message, Fields fields) {
  std::string line(level_name(level));
  line += ' ';
  line += format_message(message, fields);
  return line;
}

std::string format_message(std::string_view message, Fields fields) {
  std::string line;
  line.reserve(message.size() + fields.size() * 24);
  append_escaped(line, message);
  for (const Field& field : fields) {
    line += ' ';
    line += field.key;
    line += '=';
    if (needs_quotes(field.value)) {
      line += '"';
      append_escaped(line, field.value);
      line += '"';
    } else {
      line += field.value;
    }
  }
  return line;
}

std::string journal_field_name(std::string_view key) {
  std::string name = "CORDON_";
  for (char c : key) {
    if (c >= 'a' && c <= 'z') {
      name += static_cast<char>(c - 'a' + 'A');
    } else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') {
      name += c;
    } else {
      name += '_';
    }
  }
  return name;
}

bool is_journal_stream(const char* journal_stream, int fd) {
  if (journal_stream == nullptr) return false;
  unsigned long long device = 0, inode = 0;
  char trailing = 0;
  if (std::sscanf(journal_stream, "%llu:%llu%c", &device, &inode, &trailing) != 2) return false;
  struct stat status {};
  if (::fstat(fd, &status) != 0) return false;
  return static_cast<unsigned long long>(status.st_dev) == device &&
         static_cast<unsigned long long>(status.st_ino) == inode;
}

void write(Level level, std::string_view message, Fields fields) {
  if (!enabled(level)) return;
  if (stderr_is_journal() && write_journal(level, message, fields)) return;
  std::string line = format_line(level, message, fields);
  line += '\n';
  write_stderr(line);
}

void debug(std::string_view message, Fields fields) { write(Level::debug, message, fields); }
void info(std::string_view message, Fields fields) { write(Level::info, message, fields); }
void warn(std::string_view message, Fields fields) { write(Level::warn, message, fields); }
void error(std::string_view message, Fields fields) { write(Level::error, message, fields); }

} // namespace cordon::log
