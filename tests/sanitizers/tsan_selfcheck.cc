// ThreadSanitizer build only (LIAISON_SANITIZE=thread): proves that a TSan
// run can be trusted before scripts/sanitize.sh runs the tests under it.
//
//   tsan_selfcheck guarded  threads share a counter under absl::Mutex and
//                           hand a value over through absl::Notification:
//                           must give no report. With Debian's
//                           uninstrumented libabsl it does (TSan does not see
//                           the Mutex's atomics), so a clean run shows that
//                           the instrumented Abseil is the one loaded.
//   tsan_selfcheck racy     two threads write one int with no lock: must be
//                           reported (exit status 66), so a clean test run
//                           means TSan was watching.
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace {

int Guarded() {
  absl::Mutex mu;
  long counter = 0;  // guarded by mu
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        absl::MutexLock lock(&mu);
        ++counter;
      }
    });
  }
  // A plain value published before Notify and read after
  // WaitForNotification: the notification is the only edge between them.
  std::string handed_over;
  absl::Notification ready;
  std::thread producer([&] {
    handed_over = "written before Notify";
    ready.Notify();
  });
  ready.WaitForNotification();
  const std::size_t n = handed_over.size();
  producer.join();
  for (std::thread& t : threads) t.join();
  absl::MutexLock lock(&mu);
  std::printf("guarded: counter %ld, handed over %zu bytes\n", counter, n);
  return counter == 4000 && n > 0 ? 0 : 1;
}

int Racy() {
  int shared = 0;
  std::thread a([&] { shared = 1; });
  std::thread b([&] { shared = 2; });
  a.join();
  b.join();
  std::printf("racy: %d\n", shared);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "guarded") == 0) return Guarded();
  if (argc == 2 && std::strcmp(argv[1], "racy") == 0) return Racy();
  std::fprintf(stderr, "usage: tsan_selfcheck guarded|racy\n");
  return 2;
}
