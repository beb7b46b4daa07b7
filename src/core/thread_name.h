#pragma once
// Names the calling thread (visible in `top -H`, perf, gdb). Linux truncates to 15 characters.

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

namespace keelson::core {

inline void SetThreadName(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

// Lowers the calling thread's CPU priority to `nice` (setpriority(2) on the thread; raising the
// niceness needs no privilege). For background work that nobody waits on (moving the intake
// journal into the store): when the cores are busy, the threads that answer
// webhooks run first and the background catches up when the burst is over. Best effort.
inline bool SetBackgroundPriority(int nice = 10) {
  return setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), nice) == 0;
}

}  // namespace keelson::core
