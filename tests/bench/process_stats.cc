#include "tests/bench/process_stats.h"

#include <dirent.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include "absl/strings/str_format.h"

namespace liaison::bench {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

// User + system time of every thread of the process.
int64_t ProcessCpuNs() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1'000'000'000LL +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

int64_t PidCpuNs(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return -1;
  // The command name (field 2) may hold spaces: count fields after its ')'.
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  int64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::strtoll(field.c_str(), nullptr, 10);
    if (i == 15) stime = std::strtoll(field.c_str(), nullptr, 10);
  }
  static const int64_t ticks = sysconf(_SC_CLK_TCK);
  return (utime + stime) * 1'000'000'000LL / std::max<int64_t>(1, ticks);
}

int64_t PidsCpuNs(const std::vector<int>& pids) {
  int64_t sum = 0;
  for (int pid : pids) sum += std::max<int64_t>(0, PidCpuNs(pid));
  return sum;
}

int64_t RunQueueWaitNs(const std::vector<int>& pids) {
  int64_t sum = 0;
  for (int pid : pids) {
    const std::string task =
        pid == 0 ? std::string("/proc/self/task/") : "/proc/" + std::to_string(pid) + "/task/";
    DIR* dir = opendir(task.c_str());
    if (dir == nullptr) continue;
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream sched(task + e->d_name + "/schedstat");  // on-CPU ns, wait ns, slices
      int64_t run = 0, wait = 0;
      if (sched >> run >> wait) sum += wait;
    }
    closedir(dir);
  }
  return sum;
}

Percentiles Summarise(std::vector<int64_t> ns) {
  Percentiles p;
  p.count = ns.size();
  if (ns.empty()) return p;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) {
    const size_t k = std::min(ns.size() - 1, static_cast<size_t>(q * ns.size()));
    return ns[k] / 1e6;
  };
  p.p50_ms = at(0.50);
  p.p99_ms = at(0.99);
  p.max_ms = ns.back() / 1e6;
  return p;
}

std::string Format(const Percentiles& p) {
  return absl::StrFormat("p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%d samples)", p.p50_ms, p.p99_ms,
                         p.max_ms, p.count);
}

// A field of /proc/self/status in KiB (VmHWM, VmRSS), or -1.
int64_t StatusKb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0)
      return std::strtoll(line.c_str() + key.size() + 1, nullptr, 10);
  }
  return -1;
}

// Resets VmHWM to the current RSS (Linux >= 4.0), so that each phase reports
// its own peak. False if the kernel refuses.
bool ResetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

void NameThisThread(const char* name) { pthread_setname_np(pthread_self(), name); }

// CPU time of each live thread of the process, by thread id, with its name.
// Threads inherit their creator's name unless they set one (gRPC and
// librdkafka do), so the bench names the threads that create the others.
std::map<int, ThreadSample> SampleThreads(int pid) {
  std::map<int, ThreadSample> out;
  const std::string task =
      pid == 0 ? std::string("/proc/self/task/") : "/proc/" + std::to_string(pid) + "/task/";
  DIR* dir = opendir(task.c_str());
  if (dir == nullptr) return out;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    const std::string base = task + e->d_name;
    ThreadSample s;
    std::ifstream comm(base + "/comm");
    std::getline(comm, s.name);
    std::ifstream sched(base + "/schedstat");  // on-CPU ns, wait ns, slices
    if (!(sched >> s.cpu_ns)) continue;
    out[std::atoi(e->d_name)] = std::move(s);
  }
  closedir(dir);
  return out;
}

// "rdk:broker1" and "rdk:broker2" are one group; so are "grpc_global_tim" etc.
std::string GroupOf(std::string name) {
  while (!name.empty() && (std::isdigit(static_cast<unsigned char>(name.back())) ||
                           name.back() == '-' || name.back() == '_')) {
    name.pop_back();
  }
  return name.empty() ? "?" : name;
}

std::vector<std::pair<std::string, int64_t>> CpuByGroup(const std::map<int, ThreadSample>& before,
                                                        const std::map<int, ThreadSample>& after) {
  std::map<std::string, int64_t> groups;
  for (const auto& [tid, s] : after) {
    auto it = before.find(tid);
    const int64_t start = it == before.end() ? 0 : it->second.cpu_ns;
    groups[GroupOf(s.name)] += s.cpu_ns - start;
  }
  std::vector<std::pair<std::string, int64_t>> out(groups.begin(), groups.end());
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

void PrintCpuTable(std::vector<std::pair<std::string, int64_t>> groups, int64_t process_cpu_ns,
                   int64_t per, const char* unit, const char* (*explain)(const std::string&)) {
  int64_t seen = 0;
  for (const auto& [group, ns] : groups) seen += ns;
  if (process_cpu_ns > seen) groups.emplace_back("other/exited", process_cpu_ns - seen);
  std::sort(groups.begin(), groups.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  std::printf("  cpu by thread group (%% of process CPU%s):\n",
              per > 0 ? absl::StrFormat(", us per %s", unit).c_str() : "");
  for (const auto& [group, ns] : groups) {
    if (100.0 * ns / std::max<int64_t>(1, process_cpu_ns) < 0.5) continue;
    std::printf("    %-16s %5.1f%%", group.c_str(),
                100.0 * ns / std::max<int64_t>(1, process_cpu_ns));
    if (per > 0) std::printf("  %7.1f us", ns / 1e3 / per);
    std::printf("  %s\n", explain(group));
  }
}

}  // namespace liaison::bench
