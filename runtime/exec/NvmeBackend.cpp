#include "runtime/exec/NvmeBackend.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <unistd.h>

namespace off::exec {

NvmeBackend::Ticket SynchronousTickets::complete(std::string error) {
  std::lock_guard lock(mutex_);
  NvmeBackend::Ticket ticket = next_++;
  errors_.emplace(ticket, std::move(error));
  return ticket;
}

void SynchronousTickets::wait(NvmeBackend::Ticket ticket) {
  std::string error;
  {
    std::lock_guard lock(mutex_);
    auto it = errors_.find(ticket);
    if (it == errors_.end())
      throw std::logic_error("nvme: unknown or already waited ticket " +
                             std::to_string(ticket));
    error = std::move(it->second);
    errors_.erase(it);
  }
  if (!error.empty())
    throw std::runtime_error(error);
}

namespace {

std::string checkRange(const NvmeRequest &request, uint64_t arenaSize,
                       const std::string &where) {
  if (request.offset > arenaSize || request.size > arenaSize - request.offset)
    return where + ": request [" + std::to_string(request.offset) + ", +" +
           std::to_string(request.size) + ") ends past the arena's " +
           std::to_string(arenaSize) + " bytes";
  return "";
}

} // namespace

void MemoryNvmeBackend::prepare(std::span<const ArenaSpec> arenas) {
  arenas_.clear();
  for (const ArenaSpec &arena : arenas)
    arenas_.emplace_back(arena.tier == Tier::Nvme ? arena.size : 0);
}

NvmeBackend::Ticket MemoryNvmeBackend::submit(const NvmeRequest &request) {
  if (request.arena >= arenas_.size())
    return tickets_.complete("memory nvme: no arena #" +
                             std::to_string(request.arena));
  std::vector<std::byte> &bytes = arenas_[request.arena];
  std::string error = checkRange(request, bytes.size(), "memory nvme");
  if (error.empty() && request.size > 0) {
    if (request.op == NvmeRequest::Op::Read)
      std::memcpy(request.host, bytes.data() + request.offset, request.size);
    else
      std::memcpy(bytes.data() + request.offset, request.host, request.size);
  }
  return tickets_.complete(std::move(error));
}

std::span<std::byte> MemoryNvmeBackend::contents(ArenaId arena) {
  return arenas_.at(arena);
}

FileNvmeBackend::FileNvmeBackend(std::string directory)
    : directory_(std::move(directory)) {}

FileNvmeBackend::~FileNvmeBackend() {
  for (int fd : fds_)
    if (fd >= 0)
      close(fd);
}

void FileNvmeBackend::prepare(std::span<const ArenaSpec> arenas) {
  for (const ArenaSpec &arena : arenas) {
    if (arena.tier != Tier::Nvme) {
      fds_.push_back(-1);
      paths_.emplace_back();
      continue;
    }
    std::string path = directory_ + "/" + arena.name + ".nvme";
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
      throw std::runtime_error("nvme: cannot open " + path + ": " +
                               std::strerror(errno));
    fds_.push_back(fd);
    paths_.push_back(path);
    if (ftruncate(fd, static_cast<off_t>(arena.size)) != 0)
      throw std::runtime_error("nvme: cannot size " + path + " to " +
                               std::to_string(arena.size) + " bytes: " +
                               std::strerror(errno));
  }
}

NvmeBackend::Ticket FileNvmeBackend::submit(const NvmeRequest &request) {
  if (request.arena >= fds_.size() || fds_[request.arena] < 0)
    return tickets_.complete("nvme: arena #" + std::to_string(request.arena) +
                             " has no file");
  int fd = fds_[request.arena];
  const std::string &path = paths_[request.arena];
  uint64_t done = 0;
  while (done < request.size) {
    off_t at = static_cast<off_t>(request.offset + done);
    ssize_t n = request.op == NvmeRequest::Op::Read
                    ? pread(fd, request.host + done, request.size - done, at)
                    : pwrite(fd, request.host + done, request.size - done, at);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      std::string what = n < 0 ? std::strerror(errno)
                               : std::string("unexpected end of file");
      return tickets_.complete(
          std::string("nvme: ") +
          (request.op == NvmeRequest::Op::Read ? "read" : "write") + " of " +
          std::to_string(request.size) + " bytes at offset " +
          std::to_string(request.offset + done) + " of " + path +
          " failed: " + what);
    }
    done += static_cast<uint64_t>(n);
  }
  return tickets_.complete("");
}

} // namespace off::exec
