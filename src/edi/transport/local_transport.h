#pragma once
// FileTransport over a local directory tree: a share mounted from the partner, a folder another
// program moves files in and out of, tests and demos. Relative paths are taken under `root`.
// Writes are made durable before they become visible: the ".tmp" file is fsync'd, renamed over
// the final name, and the folder fsync'd. Rename never replaces (renameat2 RENAME_NOREPLACE).
//
// Thread-safety: thread-safe (the calls are plain system calls).

#include <memory>
#include <string>

#include "edi/transport/file_transport.h"

namespace keelson::edi {

std::unique_ptr<FileTransport> NewLocalTransport(std::string root);

}  // namespace keelson::edi
