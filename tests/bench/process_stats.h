// What a benchmark program measures about its own process: clocks, latency
// percentiles, memory (/proc/self/status) and CPU per thread group
// (/proc/self/task/*/schedstat). Linux only.
#ifndef LIAISON_TESTS_BENCH_PROCESS_STATS_H_
#define LIAISON_TESTS_BENCH_PROCESS_STATS_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace liaison::bench {

// Monotonic clock, ns.
int64_t NowNs();
// CPU time of the calling thread, ns.
int64_t ThreadCpuNs();
// User + system time of every thread of the process (including ended ones), ns.
int64_t ProcessCpuNs();
// User + system time of another process (all its threads, /proc/<pid>/stat,
// clock-tick resolution), ns; -1 if it is gone.
int64_t PidCpuNs(int pid);
// The sum of PidCpuNs over `pids` (processes that are gone count 0).
int64_t PidsCpuNs(const std::vector<int>& pids);
// Time the live threads of `pids` (0 = this process) have spent runnable but
// waiting for a CPU (/proc/<pid>/task/*/schedstat, second field), ns: how
// much a loaded machine delays them.
int64_t RunQueueWaitNs(const std::vector<int>& pids);

struct Percentiles {
  size_t count = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
};
Percentiles Summarise(std::vector<int64_t> ns);
// "p50 1.23 ms  p99 4.56 ms  max 7.89 ms  (N samples)".
std::string Format(const Percentiles& p);

// A field of /proc/self/status in KiB (VmHWM, VmRSS), or -1.
int64_t StatusKb(const std::string& key);
// Resets VmHWM to the current RSS (Linux >= 4.0), so that each phase reports
// its own peak. False if the kernel refuses.
bool ResetPeakRss();
// /proc/loadavg: "1 5 15" minute load averages.
std::string LoadAverage();

// Threads inherit their creator's name unless they set one (gRPC and
// librdkafka do), so a benchmark names the threads that create the others.
void NameThisThread(const char* name);

// CPU time of each live thread of the process, by thread id, with its name.
struct ThreadSample {
  std::string name;
  int64_t cpu_ns = 0;
};
// `pid` 0: this process.
std::map<int, ThreadSample> SampleThreads(int pid = 0);
// "rdk:broker1" and "rdk:broker2" are one group, "rdk:broker".
std::string GroupOf(std::string name);
// CPU per group between two samples (threads alive at the second one).
std::vector<std::pair<std::string, int64_t>> CpuByGroup(const std::map<int, ThreadSample>& before,
                                                        const std::map<int, ThreadSample>& after);
// Prints the groups (plus "other/exited": process CPU no live thread
// accounts for) as % of `process_cpu_ns` and, when `per` > 0, as us per
// `unit`, with `explain(group)` beside each.
void PrintCpuTable(std::vector<std::pair<std::string, int64_t>> groups, int64_t process_cpu_ns,
                   int64_t per, const char* unit, const char* (*explain)(const std::string&));

}  // namespace liaison::bench

#endif  // LIAISON_TESTS_BENCH_PROCESS_STATS_H_
