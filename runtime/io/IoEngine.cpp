#include "runtime/io/IoEngine.h"

#include "runtime/common/HumanSize.h"
#include "runtime/io/Log.h"
#include "runtime/io/ThreadPoolBackend.h"
#include "runtime/io/UringBackend.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace off::io {

using namespace detail;

const char *toString(EngineMode mode) {
  return mode == EngineMode::IoUring ? "io_uring" : "thread pool";
}

struct IoEngine::Impl {
  explicit Impl(EngineOptions options) : core(std::move(options)) {}

  Core core;
  std::unique_ptr<UringBackend> uring;
  std::unique_ptr<ThreadPoolBackend> pool;
  std::vector<std::unique_ptr<FileEntry>> files; // guarded by core.mutex

  unsigned poolThreads() const {
    const EngineOptions &o = core.options;
    return o.threadPoolThreads ? o.threadPoolThreads
                               : std::min(o.queueDepth, 16u);
  }
  ThreadPoolBackend &poolBackend() { // mutex held
    if (!pool)
      pool = std::make_unique<ThreadPoolBackend>(core, poolThreads());
    return *pool;
  }
  FileEntry &file(FileId id) const { // mutex held
    if (id >= files.size())
      throw std::invalid_argument("nvme: unknown file id " +
                                  std::to_string(id));
    return *files[id];
  }
};

namespace {

void validate(const EngineOptions &o) {
  auto fail = [](const std::string &why) {
    throw std::invalid_argument("nvme engine options: " + why);
  };
  if (o.queueDepth == 0 || o.queueDepth > 4096)
    fail("queue depth must be 1..4096");
  if (o.alignment == 0 || (o.alignment & (o.alignment - 1)) != 0)
    fail("alignment must be a power of two");
  if (o.blockSize == 0 || o.blockSize % o.alignment != 0 ||
      o.blockSize > (uint64_t(1) << 30))
    fail("block size must be a multiple of the alignment, at most 1G");
}

std::string parentOf(const std::string &path) {
  std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

} // namespace

IoEngine::IoEngine(EngineOptions options) {
  validate(options);
  impl_ = std::make_unique<Impl>(std::move(options));
  const EngineOptions &o = impl_->core.options;
  if (!o.forceThreadPool) {
    std::string whyNot;
    impl_->uring = UringBackend::create(impl_->core, whyNot);
    if (!impl_->uring)
      logOnce("no-io_uring", "io_uring is not available (" + whyNot +
                                 "); using a pool of " +
                                 std::to_string(impl_->poolThreads()) +
                                 " pread/pwrite threads instead");
  }
  if (!impl_->uring)
    impl_->poolBackend();
}

IoEngine::~IoEngine() {
  {
    std::unique_lock lock(impl_->core.mutex);
    impl_->core.requestDone.wait(
        lock, [&] { return impl_->core.activeRequests == 0; });
  }
  if (impl_->uring)
    impl_->uring->stop();
  if (impl_->pool)
    impl_->pool->stop();
  for (auto &file : impl_->files)
    close(file->fd);
}

EngineMode IoEngine::mode() const {
  return impl_->uring ? EngineMode::IoUring : EngineMode::ThreadPool;
}

const EngineOptions &IoEngine::options() const { return impl_->core.options; }

std::string IoEngine::describe() const {
  const EngineOptions &o = impl_->core.options;
  std::string text = toString(mode());
  text += " (queue depth " + std::to_string(o.queueDepth) + ", block " +
          formatHumanSize(o.blockSize);
  if (impl_->uring)
    text += impl_->uring->fixedBuffers() ? ", fixed buffers" : "";
  else
    text += ", " + std::to_string(impl_->poolThreads()) + " threads" +
            (o.forceThreadPool ? ", forced" : ", io_uring refused");
  return text + ")";
}

FileId IoEngine::open(const std::string &path, const OpenOptions &options) {
  struct stat before{};
  const bool existed = ::stat(path.c_str(), &before) == 0;
  int flags = (options.readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  if (options.create)
    flags |= O_CREAT;
  bool direct = true;
  int fd = ::open(path.c_str(), flags | O_DIRECT, 0644);
  if (fd < 0 && errno == EINVAL) {
    // The filesystem has no O_DIRECT (e.g. tmpfs before Linux 6.6, ramfs).
    direct = false;
    fd = ::open(path.c_str(), flags, 0644);
    if (fd >= 0)
      logOnce("no-direct:" + parentOf(path),
              parentOf(path) + " does not support O_DIRECT (" +
                  describeErrno(EINVAL) +
                  "); its files go through the page cache and the "
                  "pread/pwrite thread pool");
  }
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT && options.create &&
        !std::filesystem::is_directory(parentOf(path)))
      throw IoError("nvme: cannot create " + path + ": directory " +
                        parentOf(path) + " does not exist",
                    path, 0, err);
    throw makeFileError(options.create ? "cannot create" : "cannot open", path,
                        err);
  }
  struct stat st{};
  fstat(fd, &st);
  if (options.preallocate > static_cast<uint64_t>(st.st_size)) {
    // fallocate, not posix_fallocate: glibc's emulation would write zeros.
    const auto size = static_cast<off_t>(options.preallocate);
    int err = fallocate(fd, 0, 0, size) == 0 ? 0 : errno;
    if (err == EOPNOTSUPP) // the filesystem cannot reserve: just size it
      err = ftruncate(fd, size) == 0 ? 0 : errno;
    if (err != 0) {
      close(fd);
      if (!existed)
        unlink(path.c_str()); // leave nothing that looks usable behind
      throw IoError("nvme: cannot preallocate " +
                        formatHumanSize(options.preallocate) + " for " + path +
                        ": " + describeErrno(err),
                    path, 0, err);
    }
  }

  auto entry = std::make_unique<FileEntry>();
  entry->path = path;
  entry->fd = fd;
  entry->direct = direct;
  std::lock_guard lock(impl_->core.mutex);
  entry->id = static_cast<FileId>(impl_->files.size());
  entry->backend = direct && impl_->uring
                       ? static_cast<Backend *>(impl_->uring.get())
                       : &impl_->poolBackend();
  impl_->files.push_back(std::move(entry));
  return impl_->files.back()->id;
}

const std::string &IoEngine::path(FileId file) const {
  std::lock_guard lock(impl_->core.mutex);
  return impl_->file(file).path;
}

bool IoEngine::isDirect(FileId file) const {
  std::lock_guard lock(impl_->core.mutex);
  return impl_->file(file).direct;
}

EngineMode IoEngine::modeOf(FileId file) const {
  std::lock_guard lock(impl_->core.mutex);
  return impl_->file(file).backend->mode();
}

EngineStats IoEngine::stats() const {
  std::lock_guard lock(impl_->core.mutex);
  return impl_->core.stats;
}

Ticket IoEngine::start(IoOp op, std::span<const Extent> extents,
                       Completion done, std::string context) {
  Impl &impl = *impl_;
  for (const Extent &e : extents) {
    if (e.length > 0 && !e.host)
      throw std::invalid_argument("nvme: null host address in a request");
    if (e.fileOffset + e.length < e.fileOffset)
      throw std::invalid_argument("nvme: request range overflows");
  }
  Core &core = impl.core;
  auto request = std::make_unique<Request>();
  request->op = op;
  request->context = std::move(context);
  request->callback = std::move(done);
  Finished finished;
  Ticket ticket;
  {
    std::lock_guard lock(core.mutex);
    for (const Extent &e : extents)
      planChunks(*request, op, e, impl.file(e.file), core.options.alignment,
                 core.options.blockSize, bounceSize(core.options));
    ticket = request->ticket = core.nextTicket++;
    request->unfinished = request->chunks.size();
    ++core.activeRequests;
    Request &r = *request;
    core.requests.emplace(ticket, std::move(request));
    if (r.chunks.empty()) {
      core.completeRequest(r, finished);
    } else {
      std::vector<Backend *> touched;
      for (Chunk &chunk : r.chunks) {
        chunk.file->backend->enqueue(&chunk, /*front=*/false);
        if (std::find(touched.begin(), touched.end(), chunk.file->backend) ==
            touched.end())
          touched.push_back(chunk.file->backend);
      }
      for (Backend *backend : touched)
        backend->kick(finished);
    }
  }
  core.deliver(finished);
  return ticket;
}

Ticket IoEngine::submit(IoOp op, std::span<const Extent> extents,
                        std::string context) {
  return start(op, extents, {}, std::move(context));
}

void IoEngine::submit(IoOp op, std::span<const Extent> extents,
                      Completion done, std::string context) {
  if (!done)
    throw std::invalid_argument("nvme: empty completion callback");
  start(op, extents, std::move(done), std::move(context));
}

Ticket IoEngine::read(FileId file, uint64_t offset, void *host,
                      uint64_t length) {
  Extent e{file, offset, static_cast<std::byte *>(host), length};
  return submit(IoOp::Read, {&e, 1});
}

Ticket IoEngine::write(FileId file, uint64_t offset, const void *host,
                       uint64_t length) {
  // The engine only reads from `host` for a write.
  Extent e{file, offset,
           const_cast<std::byte *>(static_cast<const std::byte *>(host)),
           length};
  return submit(IoOp::Write, {&e, 1});
}

bool IoEngine::poll(Ticket ticket) const {
  std::lock_guard lock(impl_->core.mutex);
  auto it = impl_->core.requests.find(ticket);
  if (it == impl_->core.requests.end() || it->second->callback)
    throw std::logic_error("nvme: unknown or already waited ticket " +
                           std::to_string(ticket));
  return it->second->done;
}

void IoEngine::wait(Ticket ticket) {
  Core &core = impl_->core;
  std::unique_ptr<Request> request;
  {
    std::unique_lock lock(core.mutex);
    auto it = core.requests.find(ticket);
    if (it == core.requests.end() || it->second->callback)
      throw std::logic_error("nvme: unknown or already waited ticket " +
                             std::to_string(ticket));
    Request *r = it->second.get();
    core.requestDone.wait(lock, [&] { return r->done; });
    request = std::move(core.requests.at(ticket));
    core.requests.erase(ticket);
  }
  if (request->error)
    throw *request->error;
}

bool IoEngine::registerBuffer(void *host, size_t length) {
  std::lock_guard lock(impl_->core.mutex);
  return impl_->uring &&
         impl_->uring->registerBuffer(static_cast<std::byte *>(host), length);
}

void IoEngine::unregisterBuffer(void *host) {
  std::lock_guard lock(impl_->core.mutex);
  if (impl_->uring)
    impl_->uring->unregisterBuffer(static_cast<std::byte *>(host));
}

} // namespace off::io
