#pragma once

#include <memory>

#include "agentd/tools/tool.h"
#include "agentd/tools/workspace.h"

namespace cordon::agentd {

// fs.read: a UTF-8 text file of the workspace, at most max_bytes (default 256 KiB). Its content
// is untrusted (anyone who could write the workspace could have planted it).
std::unique_ptr<Tool> make_fs_read(const Workspace& workspace);

// fs.write: creates or replaces a file atomically (a temporary file, fsync, rename, fsync of the
// directory), creating missing directories. Dry-run: says whether it would create or replace,
// and how many bytes.
std::unique_ptr<Tool> make_fs_write(const Workspace& workspace);

class TwoPhaseDeletes;

// fs.delete: the soft phase of a two-phase delete (TwoPhaseDeletes): the file moves to the trash
// at once and is removed for good after the reinstate window. Dry-run: says whether it exists.
std::unique_ptr<Tool> make_fs_delete(const Workspace& workspace, TwoPhaseDeletes& deletes);

} // namespace cordon::agentd
