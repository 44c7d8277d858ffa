// One rank alone (createLocalCommunicator): what a plan for one rank runs.

#include "runtime/comm/Communicator.h"
#include "runtime/comm/RankOrderSum.h"

#include <cstdlib>
#include <cstring>

namespace off::comm {
namespace {

class LocalCommunicator final : public Communicator {
public:
  explicit LocalCommunicator(const CommOptions &options) : options_(options) {}
  const char *name() const override { return "local"; }
  int rank() const override { return 0; }
  int size() const override { return 1; }
  const CommOptions &options() const override { return options_; }

  void allReduce(void *, uint64_t, DType dtype) override { checkSummable(dtype, "all_reduce"); }
  void reduceScatter(const void *input, void *output, uint64_t count, DType dtype) override {
    checkSummable(dtype, "reduce_scatter");
    if (input != output)
      std::memmove(output, input, count * dtypeSize(dtype));
  }
  void allGather(const void *input, void *output, uint64_t count, DType dtype) override {
    if (input != output)
      std::memmove(output, input, count * dtypeSize(dtype));
  }
  void barrier() override {}
  [[noreturn]] void abortJob(int exitCode) override { std::_Exit(exitCode); }

private:
  CommOptions options_;
};

} // namespace

std::unique_ptr<Communicator> createLocalCommunicator(const CommOptions &options) {
  return std::make_unique<LocalCommunicator>(options);
}

} // namespace off::comm
