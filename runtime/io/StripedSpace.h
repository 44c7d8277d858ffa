// A logical NVMe space striped over several files in several directories
// (one directory per drive), so that one large tensor is read from all
// drives at once.
//
// Layout: F = directories.size() * filesPerDirectory files; stripe unit u
// (logical bytes [u*S, (u+1)*S), S = stripeSize) lives in file u % F at file
// offset (u / F) * S; file f is "<directories[f % K]>/<name>.<f>.stripe".
//
//   StripedSpace space(engine, "arena3", 64 << 30,
//                      {.directories = {"/nvme0/off", "/nvme1/off"}});
//   Ticket t = space.read(offset, host, bytes); ... engine.wait(t);
#pragma once

#include "runtime/io/IoEngine.h"

#include <vector>

namespace off::io {

struct StripeLayout {
  std::vector<std::string> directories;
  /// Bytes per stripe unit; a multiple of the engine's alignment.
  uint64_t stripeSize = 1 << 20;
  unsigned filesPerDirectory = 1;
};

class StripedSpace {
public:
  /// Opens the stripe files; with `create`, creates them and preallocates
  /// each to the bytes it will hold (a full disk is reported here, naming
  /// the file, and the files made so far are removed). Throws IoError.
  StripedSpace(IoEngine &engine, std::string name, uint64_t capacity,
               StripeLayout layout, bool create = true);

  Ticket read(uint64_t offset, void *host, uint64_t length);
  Ticket write(uint64_t offset, const void *host, uint64_t length);
  void read(uint64_t offset, void *host, uint64_t length, Completion done);
  void write(uint64_t offset, const void *host, uint64_t length,
             Completion done);

  /// The file pieces of a logical range, in logical order. Throws
  /// std::out_of_range past the capacity.
  std::vector<Extent> extents(uint64_t offset, std::byte *host,
                              uint64_t length) const;

  uint64_t capacity() const { return capacity_; }
  const std::string &name() const { return name_; }
  const std::vector<std::string> &paths() const { return paths_; }
  const std::vector<FileId> &files() const { return files_; }
  /// Deletes the stripe files (after every transfer on them has finished).
  void removeFiles();

private:
  std::string contextFor(uint64_t offset, uint64_t length) const;

  IoEngine &engine_;
  std::string name_;
  uint64_t capacity_;
  StripeLayout layout_;
  std::vector<FileId> files_;
  std::vector<std::string> paths_;
};

} // namespace off::io
