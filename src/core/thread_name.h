#pragma once
// Names the calling thread (visible in `top -H`, perf, gdb). Linux truncates to 15 characters.

#include <pthread.h>

#include <string>

namespace keelson::core {

inline void SetThreadName(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace keelson::core
