#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

// Structured logging for daemons and CLIs.
//
// Under systemd (stderr connected to the journal, detected by comparing $JOURNAL_STREAM with
// stderr's device and inode) each record goes to journald with sd_journal_send: MESSAGE,
// PRIORITY, SYSLOG_IDENTIFIER and one CORDON_<KEY> field per structured field, so operators can
// filter with `journalctl CORDON_PATH=/v1/events`. Otherwise each record is one line on stderr:
//
//   info listening path=/run/cordon/auditd.sock mode=0660
//
// NEVER pass secret values (keys, tokens, lease values, passwords, TOTP secrets) as a message or
// a field value: logs leave the trust boundary of the process. Log a name, a fingerprint or a
// length instead.
//
// Thread-safe. Each record is written with a single write(2) or sd_journal_sendv call.
namespace cordon::log {

enum class Level { debug, info, warn, error };

// One structured field. Keys are short identifiers ("path", "peer_uid"); in journald they become
// CORDON_PATH, CORDON_PEER_UID (upper-cased, any character other than A-Z, 0-9 and '_' replaced
// by '_').
struct Field {
  std::string_view key;
  std::string_view value;
};

using Fields = std::initializer_list<Field>;

void debug(std::string_view message, Fields fields = {});
void info(std::string_view message, Fields fields = {});
void warn(std::string_view message, Fields fields = {});
void error(std::string_view message, Fields fields = {});
void write(Level level, std::string_view message, Fields fields = {});

// Records below `level` are dropped. The default is info, or debug when the environment
// variable CORDON_LOG_LEVEL=debug is set at the first log call.
void set_level(Level level);
bool enabled(Level level);

// The stderr form of a record, without the trailing newline: "level message key=value ...".
// Control characters in the message are escaped (\n, \t, \xHH) so one record is one line; a value
// that is empty or holds spaces, quotes, '=' or control characters is double-quoted with escapes.
std::string format_line(Level level, std::string_view message, Fields fields);

// format_line without the level: "message key=value ...", journald's MESSAGE= for the record.
std::string format_message(std::string_view message, Fields fields);

// The journald field name for a structured key: "CORDON_" + upper-cased key.
std::string journal_field_name(std::string_view key);

// True if `journal_stream` (the value of $JOURNAL_STREAM, "device:inode") names the file that
// `fd` is open on; that is how systemd tells a service its stderr goes to the journal.
bool is_journal_stream(const char* journal_stream, int fd);

} // namespace cordon::log
