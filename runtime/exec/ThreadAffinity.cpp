#include "runtime/exec/ThreadAffinity.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <pthread.h>
#include <sched.h>
#include <stdexcept>

namespace off::exec {
namespace {

int parseCpu(std::string_view text, std::string_view whole) {
  int value = -1;
  auto [end, error] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0 ||
      value >= CPU_SETSIZE)
    throw std::invalid_argument("stream affinity '" + std::string(whole) +
                                "': '" + std::string(text) +
                                "' is not a CPU number");
  return value;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t at = text.find(separator, start);
    parts.push_back(text.substr(start, at - start));
    if (at == std::string_view::npos)
      return parts;
    start = at + 1;
  }
}

} // namespace

std::map<std::string, std::vector<int>>
parseStreamAffinity(std::string_view text) {
  std::map<std::string, std::vector<int>> result;
  if (text.empty())
    return result;
  for (std::string_view entry : split(text, ';')) {
    size_t equals = entry.find('=');
    if (equals == std::string_view::npos || equals == 0 ||
        equals + 1 == entry.size())
      throw std::invalid_argument("stream affinity '" + std::string(text) +
                                  "': expected STREAM=CPUS, got '" +
                                  std::string(entry) + "'");
    std::vector<int> &cpus = result[std::string(entry.substr(0, equals))];
    for (std::string_view range : split(entry.substr(equals + 1), ',')) {
      size_t dash = range.find('-');
      int first = parseCpu(range.substr(0, dash), text);
      int last = dash == std::string_view::npos
                     ? first
                     : parseCpu(range.substr(dash + 1), text);
      if (last < first)
        throw std::invalid_argument("stream affinity '" + std::string(text) +
                                    "': empty range '" + std::string(range) +
                                    "'");
      for (int cpu = first; cpu <= last; ++cpu)
        cpus.push_back(cpu);
    }
  }
  return result;
}

void pinCurrentThread(const std::vector<int> &cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int cpu : cpus)
    CPU_SET(cpu, &set);
  int error = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (error != 0) {
    std::string list;
    for (int cpu : cpus) {
      if (!list.empty())
        list += ',';
      list += std::to_string(cpu);
    }
    throw std::runtime_error("cannot pin thread to CPUs " + list + ": " +
                             std::strerror(error));
  }
}

std::vector<int> currentThreadCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  pthread_getaffinity_np(pthread_self(), sizeof(set), &set);
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set))
      cpus.push_back(cpu);
  return cpus;
}

} // namespace off::exec
