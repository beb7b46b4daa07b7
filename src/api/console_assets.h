#pragma once
// The operator console's files (console/ at the repository root), compiled into the binary by
// cmake/embed_console.cmake: no files need to sit beside Keelson for /console to work.
//
// Thread-safety: the table is constant data.

#include <span>
#include <string_view>

namespace keelson::api {

struct ConsoleAsset {
  std::string_view path;          // relative to console/, "/"-separated: "js/app.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view etag;          // strong, quoted: "\"<32 hex of the SHA-256>\""
  std::string_view bytes;
};

// Every file, sorted by path. Defined in the generated console_assets.cc.
std::span<const ConsoleAsset> ConsoleAssets();

}  // namespace keelson::api
