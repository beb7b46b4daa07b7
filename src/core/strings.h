#pragma once
// Debian's Abseil (20220623) is built with its own absl::string_view instead of aliasing
// std::string_view, so the two do not convert implicitly. These two zero-copy adapters are the
// one place that bridges them: call absl string utilities with AbslSv(x), and read an
// absl::string_view (e.g. Status::message()) into std code with StdSv(x).

#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace keelson::core {

inline absl::string_view AbslSv(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view StdSv(absl::string_view s) { return {s.data(), s.size()}; }

// absl::StrCat that also takes std::string_view arguments (converted with AbslSv).
inline absl::string_view CatArg(std::string_view s) { return AbslSv(s); }
template <typename T>
const T& CatArg(const T& v) {
  return v;
}
template <typename... Args>
std::string Cat(const Args&... args) {
  return absl::StrCat(CatArg(args)...);
}

}  // namespace keelson::core
