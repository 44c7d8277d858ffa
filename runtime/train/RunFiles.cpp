// See RunFiles.h.

#include "runtime/train/RunFiles.h"

#include "runtime/common/FileChecks.h"
#include "runtime/common/HumanSize.h"
#include "runtime/train/Session.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace off::train {

namespace fs = std::filesystem;

namespace {

bool isStepDirName(const std::string &name) {
  if (name.rfind("step-", 0) != 0 || name.size() == 5)
    return false;
  return std::all_of(name.begin() + 5, name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool sameFile(const std::string &a, const std::string &b) {
  struct stat x{}, y{};
  return ::stat(a.c_str(), &x) == 0 && ::stat(b.c_str(), &y) == 0 && x.st_dev == y.st_dev &&
         x.st_ino == y.st_ino;
}

} // namespace

void checkInputFiles(const std::vector<std::string> &inputs) {
  for (const std::string &input : inputs)
    if (!input.empty())
      if (std::string problem = inputFileProblem(input); !problem.empty())
        throw TrainError(problem);
}

void checkOutputFiles(const std::vector<std::string> &outputs,
                      const std::vector<std::string> &inputs) {
  for (const std::string &output : outputs) {
    if (output.empty())
      continue;
    if (OutputTarget target = outputTarget(output); !target.error.empty())
      throw TrainError(target.error);
    if (std::string problem = outputIsInputProblem(output, inputs); !problem.empty())
      throw TrainError(problem);
  }
}

SaveDirLock::SaveDirLock(const SaveDirOptions &options) {
  const std::string &dir = options.dir;
  PathKind kind = pathKind(dir);
  if (kind != PathKind::Missing && kind != PathKind::Directory)
    throw TrainError(dir + ": --save-dir is " + pathKindName(kind) + ", not a directory");
  std::error_code error;
  fs::create_directories(dir, error);
  if (error)
    throw TrainError(dir + ": cannot create the save directory: " + error.message());

  const std::string lockPath = (fs::path(dir) / ".lock").string();
  fd_ = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw TrainError(dir + ": the save directory is not writable (cannot create " +
                     lockPath + ": " + std::strerror(errno) + ")");
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char pid[32] = {};
    ssize_t got = ::pread(fd_, pid, sizeof pid - 1, 0);
    std::string holder = got > 0 ? std::string(pid, size_t(got)) : std::string("?");
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' '))
      holder.pop_back();
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw TrainError(dir + ": another offrt train (pid " + holder +
                       ") is saving into this directory; two runs cannot share a "
                       "--save-dir (its lock: " + lockPath + ")");
    throw TrainError(lockPath + ": cannot lock: " + std::strerror(err));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != ssize_t(pid.size()))
    throw TrainError(dir + ": the save directory is not writable (" + lockPath + ": " +
                     std::strerror(errno) + ")");

  // Another run's checkpoints: refused unless this run continues them.
  std::vector<std::string> found;
  for (const fs::directory_entry &entry : fs::directory_iterator(dir, error)) {
    std::string name = entry.path().filename().string();
    if (name == "latest" || (isStepDirName(name) && entry.is_directory()))
      found.push_back(name);
  }
  std::sort(found.begin(), found.end());
  const bool resumingHere = !options.resumeFrom.empty() &&
                            (sameFile(options.resumeFrom, dir) ||
                             sameFile(fs::path(options.resumeFrom).parent_path().string(), dir));
  if (!found.empty() && !resumingHere) {
    if (!options.overwrite) {
      std::string names;
      for (size_t i = 0; i < found.size() && i < 4; ++i)
        names += (i ? ", " : "") + found[i];
      if (found.size() > 4)
        names += ", ...";
      throw TrainError(dir + ": holds the checkpoints of another run (" + names +
                       "); continue it with --resume " + dir +
                       ", replace it with --overwrite, or give another --save-dir");
    }
    for (const std::string &name : found) {
      fs::remove_all(fs::path(dir) / name, error);
      if (error)
        throw TrainError((fs::path(dir) / name).string() + ": cannot remove (--overwrite): " +
                         error.message());
      removed_ += name != "latest";
    }
  } else if (resumingHere && options.overwrite) {
    throw TrainError("--overwrite would delete the checkpoints of " + dir +
                     ", which --resume continues from; drop --overwrite");
  }

  struct statvfs space{};
  if (options.checkpointBytes && ::statvfs(dir.c_str(), &space) == 0) {
    uint64_t available = uint64_t(space.f_bavail) * uint64_t(space.f_frsize);
    if (available < options.checkpointBytes)
      throw TrainError(dir + ": " + formatHumanSize(available) +
                       " free, but one checkpoint needs " +
                       formatHumanSize(options.checkpointBytes) +
                       "; free some space or choose another --save-dir");
  }
}

SaveDirLock::~SaveDirLock() {
  if (fd_ >= 0)
    ::close(fd_); // releases the flock; the file stays (removing it would race)
}

} // namespace off::train
