#include "runtime/io/StripedSpace.h"

#include <algorithm>
#include <unistd.h>

namespace off::io {

StripedSpace::StripedSpace(IoEngine &engine, std::string name,
                           uint64_t capacity, StripeLayout layout, bool create)
    : engine_(engine), name_(std::move(name)), capacity_(capacity),
      layout_(std::move(layout)) {
  const uint64_t align = engine.options().alignment;
  if (layout_.directories.empty() || layout_.filesPerDirectory == 0)
    throw std::invalid_argument("nvme space '" + name_ +
                                "': needs at least one directory and file");
  if (layout_.stripeSize == 0 || layout_.stripeSize % align != 0)
    throw std::invalid_argument(
        "nvme space '" + name_ + "': stripe size must be a multiple of " +
        std::to_string(align));
  const uint64_t fileCount =
      layout_.directories.size() * layout_.filesPerDirectory;
  const uint64_t units =
      (capacity_ + layout_.stripeSize - 1) / layout_.stripeSize;
  try {
    for (uint64_t f = 0; f < fileCount; ++f) {
      const std::string &dir = layout_.directories[f % layout_.directories.size()];
      std::string path = dir + "/" + name_ + "." + std::to_string(f) + ".stripe";
      // File f holds units f, f+F, f+2F, ...
      const uint64_t unitsHere = units > f ? (units - f + fileCount - 1) / fileCount : 0;
      uint64_t bytesHere = unitsHere * layout_.stripeSize;
      if (unitsHere && (units - 1) % fileCount == f) // the last unit: only what is used
        bytesHere -= units * layout_.stripeSize - (capacity_ + align - 1) / align * align;
      OpenOptions open;
      open.create = create;
      open.preallocate = create ? bytesHere : 0;
      FileId id = engine_.open(path, open);
      files_.push_back(id);
      paths_.push_back(std::move(path));
    }
  } catch (...) {
    if (create)
      removeFiles();
    throw;
  }
}

std::vector<Extent> StripedSpace::extents(uint64_t offset, std::byte *host,
                                          uint64_t length) const {
  if (offset > capacity_ || length > capacity_ - offset)
    throw std::out_of_range("nvme space '" + name_ + "': range [" +
                            std::to_string(offset) + ", +" +
                            std::to_string(length) + ") ends past its " +
                            std::to_string(capacity_) + " bytes");
  std::vector<Extent> pieces;
  const uint64_t stripe = layout_.stripeSize;
  const uint64_t fileCount = files_.size();
  uint64_t pos = offset;
  const uint64_t end = offset + length;
  while (pos < end) {
    const uint64_t unit = pos / stripe;
    const uint64_t within = pos % stripe;
    const uint64_t n = std::min(stripe - within, end - pos);
    pieces.push_back(Extent{files_[unit % fileCount],
                            (unit / fileCount) * stripe + within,
                            host + (pos - offset), n});
    pos += n;
  }
  return pieces;
}

std::string StripedSpace::contextFor(uint64_t offset, uint64_t length) const {
  return "nvme space '" + name_ + "' logical range [" + std::to_string(offset) +
         ", +" + std::to_string(length) + ")";
}

Ticket StripedSpace::read(uint64_t offset, void *host, uint64_t length) {
  auto pieces = extents(offset, static_cast<std::byte *>(host), length);
  return engine_.submit(IoOp::Read, pieces, contextFor(offset, length));
}

Ticket StripedSpace::write(uint64_t offset, const void *host,
                           uint64_t length) {
  auto pieces = extents(
      offset, const_cast<std::byte *>(static_cast<const std::byte *>(host)),
      length);
  return engine_.submit(IoOp::Write, pieces, contextFor(offset, length));
}

void StripedSpace::read(uint64_t offset, void *host, uint64_t length,
                        Completion done) {
  auto pieces = extents(offset, static_cast<std::byte *>(host), length);
  engine_.submit(IoOp::Read, pieces, std::move(done),
                 contextFor(offset, length));
}

void StripedSpace::write(uint64_t offset, const void *host, uint64_t length,
                         Completion done) {
  auto pieces = extents(
      offset, const_cast<std::byte *>(static_cast<const std::byte *>(host)),
      length);
  engine_.submit(IoOp::Write, pieces, std::move(done),
                 contextFor(offset, length));
}

void StripedSpace::removeFiles() {
  for (const std::string &path : paths_)
    unlink(path.c_str());
}

} // namespace off::io
