#include "runtime/exec/NvmeBackend.h"

#include "runtime/common/HumanSize.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
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

namespace {

/// An arena name as a file name: anything but [A-Za-z0-9._-] becomes '_'.
std::string fileNameFor(const std::string &name) {
  std::string safe = name.empty() ? "arena" : name;
  for (char &c : safe)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' &&
        c != '-')
      c = '_';
  return safe;
}

} // namespace

EngineNvmeBackend::EngineNvmeBackend(NvmeStorageOptions options)
    : options_(std::move(options)), engine_(options_.engine) {
  if (options_.directories.empty())
    throw std::invalid_argument("nvme: no directory for the NVMe arenas");
}

EngineNvmeBackend::~EngineNvmeBackend() { removeAll(); }

void EngineNvmeBackend::removeAll() {
  for (const auto &space : spaces_)
    if (space)
      space->removeFiles(); // open files stay valid until the engine closes them
  spaces_.clear();
  for (const std::string &dir : runDirectories_)
    rmdir(dir.c_str());
  runDirectories_.clear();
}

void EngineNvmeBackend::prepare(std::span<const ArenaSpec> arenas) {
  removeAll();
  bool any = false;
  for (const ArenaSpec &arena : arenas)
    any |= arena.tier == Tier::Nvme;
  if (!any)
    return;
  try {
    for (const std::string &dir : options_.directories) {
      std::string pattern = dir + "/offrt-nvme-XXXXXX";
      if (!mkdtemp(pattern.data())) {
        const int err = errno;
        std::error_code ignored;
        throw std::runtime_error(
            "nvme: cannot make a directory in " + dir + ": " +
            (err == ENOENT && !std::filesystem::is_directory(dir, ignored)
                 ? std::string("it does not exist")
                 : io::describeErrno(err)));
      }
      runDirectories_.push_back(pattern);
    }
    io::StripeLayout layout;
    layout.directories = runDirectories_;
    layout.stripeSize = options_.stripeSize;
    for (const ArenaSpec &arena : arenas)
      spaces_.push_back(arena.tier == Tier::Nvme
                            ? std::make_unique<io::StripedSpace>(
                                  engine_, fileNameFor(arena.name), arena.size,
                                  layout)
                            : nullptr);
  } catch (...) {
    removeAll();
    throw;
  }
}

NvmeBackend::Ticket EngineNvmeBackend::submit(const NvmeRequest &request) {
  if (request.arena >= spaces_.size() || !spaces_[request.arena])
    throw std::invalid_argument("nvme: arena #" +
                                std::to_string(request.arena) +
                                " is not an NVMe arena of the program");
  io::StripedSpace &space = *spaces_[request.arena];
  return request.op == NvmeRequest::Op::Read
             ? space.read(request.offset, request.host, request.size)
             : space.write(request.offset, request.host, request.size);
}

const io::StripedSpace &EngineNvmeBackend::space(ArenaId arena) const {
  if (arena >= spaces_.size() || !spaces_[arena])
    throw std::invalid_argument("nvme: arena #" + std::to_string(arena) +
                                " is not an NVMe arena");
  return *spaces_[arena];
}

std::string EngineNvmeBackend::describe() const {
  uint64_t bytes = 0;
  size_t count = 0;
  bool buffered = false;
  for (const auto &space : spaces_) {
    if (!space)
      continue;
    ++count;
    bytes += space->capacity();
    for (io::FileId file : space->files())
      buffered |= !engine_.isDirect(file);
  }
  std::string text = "nvme: " + std::to_string(count) + " arena" +
                     (count == 1 ? "" : "s") + " (" + formatHumanSize(bytes) +
                     ") striped over ";
  for (size_t i = 0; i < options_.directories.size(); ++i)
    text += (i ? ", " : "") + options_.directories[i];
  text += "; " + engine_.describe();
  return text + (buffered ? "; some files through the page cache (no O_DIRECT)"
                          : ", O_DIRECT");
}

} // namespace off::exec
