#include "runtime/exec/Program.h"

#include "runtime/backend/Kernel.h"

#include <sstream>
#include <stdexcept>

namespace off::exec {

std::string describe(const Program &program, const Slice &slice) {
  std::ostringstream out;
  if (slice.arena < program.arenas.size())
    out << "arena '" << program.arenas[slice.arena].name << "'";
  else
    out << "arena #" << slice.arena;
  out << "[" << slice.offset << ", +" << slice.size << ")";
  return out.str();
}

namespace {

template <class... Fs> struct Overloaded : Fs... { using Fs::operator()...; };
template <class... Fs> Overloaded(Fs...) -> Overloaded<Fs...>;

} // namespace

std::string instructionSummary(const Program &program,
                               const Instruction &instruction) {
  auto transfer = [&](const char *verb, const Slice &dst, const Slice &src) {
    return std::string(verb) + " " + describe(program, src) + " -> " +
           describe(program, dst);
  };
  return std::visit(
      Overloaded{
          [&](const KernelInstr &k) { return "kernel '" + k.name + "'"; },
          [&](const CopyInstr &c) { return transfer("copy", c.dst, c.src); },
          [&](const OffloadInstr &o) {
            return transfer("offload", o.dst, o.src);
          },
          [&](const FreeInstr &f) {
            return "free " + describe(program, f.slice);
          },
          [&](const NvmeReadInstr &r) {
            return transfer("nvme-read", r.dst, r.src);
          },
          [&](const NvmeWriteInstr &w) {
            return transfer("nvme-write", w.dst, w.src);
          },
          [&](const RecordInstr &r) {
            return "record event " + std::to_string(r.event);
          },
          [&](const WaitInstr &w) {
            return "wait event " + std::to_string(w.event);
          },
      },
      instruction);
}

std::string describe(const Program &program, uint32_t stream, uint32_t index) {
  std::ostringstream out;
  const Stream &s = program.streams.at(stream);
  out << "stream '" << s.spec.name << "' instruction #" << index;
  if (index < s.instructions.size())
    out << " (" << instructionSummary(program, s.instructions[index]) << ")";
  return out.str();
}

namespace {

[[noreturn]] void fail(const std::string &message) {
  throw std::runtime_error("invalid program: " + message);
}

void checkSlice(const Program &program, const Slice &slice,
                const std::string &where) {
  if (slice.arena >= program.arenas.size())
    fail(where + ": " + describe(program, slice) + " names arena #" +
         std::to_string(slice.arena) + " but there are " +
         std::to_string(program.arenas.size()));
  const ArenaSpec &arena = program.arenas[slice.arena];
  if (slice.offset > arena.size || slice.size > arena.size - slice.offset)
    fail(where + ": " + describe(program, slice) + " ends past the arena's " +
         std::to_string(arena.size) + " bytes");
}

void checkTier(const Program &program, const Slice &slice, Tier expected,
               const std::string &where, const char *role) {
  Tier actual = program.arenas[slice.arena].tier;
  if (actual != expected)
    fail(where + ": " + role + " " + describe(program, slice) + " is in the " +
         tierName(actual) + " tier, but this instruction needs it in the " +
         tierName(expected) + " tier");
}

bool overlap(const Slice &a, const Slice &b) {
  return a.arena == b.arena && a.offset < b.end() && b.offset < a.end();
}

void checkTransfer(const Program &program, const Slice &dst, const Slice &src,
                   const std::string &where) {
  checkSlice(program, dst, where);
  checkSlice(program, src, where);
  if (dst.size != src.size)
    fail(where + ": copies " + std::to_string(src.size) + " bytes into " +
         std::to_string(dst.size));
  if (overlap(dst, src))
    fail(where + ": source and destination overlap");
}

void checkMemoryTier(const Program &program, const Slice &slice,
                     const std::string &where, const char *role) {
  if (program.arenas[slice.arena].tier == Tier::Nvme)
    fail(where + ": " + role + " " + describe(program, slice) +
         " is on NVMe; use nvme-read / nvme-write");
}

// Replays the streams with every instruction taking no time: a stream
// advances until it waits on an event not recorded yet. If every unfinished
// stream is stuck, the waits form a cycle and a real run would hang.
void checkNoDeadlock(const Program &program) {
  std::vector<size_t> next(program.streams.size(), 0);
  std::vector<bool> recorded(program.eventCount, false);
  for (bool progress = true; progress;) {
    progress = false;
    for (size_t s = 0; s < program.streams.size(); ++s) {
      const auto &instructions = program.streams[s].instructions;
      while (next[s] < instructions.size()) {
        const Instruction &in = instructions[next[s]];
        if (auto *w = std::get_if<WaitInstr>(&in); w && !recorded[w->event])
          break;
        if (auto *r = std::get_if<RecordInstr>(&in))
          recorded[r->event] = true;
        ++next[s];
        progress = true;
      }
    }
  }
  std::string stuck;
  for (size_t s = 0; s < program.streams.size(); ++s)
    if (next[s] < program.streams[s].instructions.size())
      stuck += "\n  " + describe(program, s, next[s]);
  if (!stuck.empty())
    fail("these waits can never be satisfied (a cycle of waits between "
         "streams):" + stuck);
}

} // namespace

void validate(const Program &program) {
  for (const ArenaSpec &arena : program.arenas)
    if (arena.budget != 0 && arena.size > arena.budget)
      fail("arena '" + arena.name + "' (" + tierName(arena.tier) + ") needs " +
           std::to_string(arena.size) + " bytes but its budget is " +
           std::to_string(arena.budget));
  if (program.streams.size() > kMaxStreams)
    fail(std::to_string(program.streams.size()) + " streams; at most " +
         std::to_string(kMaxStreams) + " are supported");
  for (const Slice &slice : program.residentAtStart)
    checkSlice(program, slice, "resident-at-start list");

  std::vector<int> recordCount(program.eventCount, 0);
  std::vector<bool> waited(program.eventCount, false);
  for (uint32_t s = 0; s < program.streams.size(); ++s) {
    const auto &instructions = program.streams[s].instructions;
    for (uint32_t i = 0; i < instructions.size(); ++i) {
      const Instruction &in = instructions[i];
      std::string where = "stream '" + program.streams[s].spec.name +
                          "' instruction #" + std::to_string(i);
      if (auto *k = std::get_if<KernelInstr>(&in)) {
        if (!k->fn == !k->kernel)
          fail(where + ": kernel '" + k->name + "' needs a backend kernel or a host "
               "function (one of them)");
        if (k->kernel) {
          size_t expected = k->kernel->inputs().size() + k->kernel->outputs().size() +
                            (k->workspace ? 1 : 0);
          if (k->args.size() != expected)
            fail(where + ": kernel '" + k->name + "' has " + std::to_string(k->args.size()) +
                 " arguments, its bound kernel " + std::to_string(expected));
          uint64_t given = k->workspace ? k->args.back().slice.size : 0;
          if (given < k->kernel->workspaceBytes())
            fail(where + ": kernel '" + k->name + "' needs " +
                 std::to_string(k->kernel->workspaceBytes()) + " bytes of workspace, the "
                 "program gives it " + std::to_string(given));
        } else if (k->workspace) {
          fail(where + ": host function '" + k->name + "' cannot have a workspace");
        }
        for (const KernelArg &arg : k->args) {
          checkSlice(program, arg.slice, where);
          checkTier(program, arg.slice, arg.tier, where,
                    ("kernel '" + k->name + "' argument").c_str());
        }
      } else if (auto *c = std::get_if<CopyInstr>(&in)) {
        checkTransfer(program, c->dst, c->src, where);
        checkMemoryTier(program, c->dst, where, "destination");
        checkMemoryTier(program, c->src, where, "source");
      } else if (auto *o = std::get_if<OffloadInstr>(&in)) {
        checkTransfer(program, o->dst, o->src, where);
        checkMemoryTier(program, o->dst, where, "destination");
        checkMemoryTier(program, o->src, where, "source");
      } else if (auto *f = std::get_if<FreeInstr>(&in)) {
        checkSlice(program, f->slice, where);
      } else if (auto *r = std::get_if<NvmeReadInstr>(&in)) {
        checkTransfer(program, r->dst, r->src, where);
        checkTier(program, r->dst, Tier::Host, where, "destination");
        checkTier(program, r->src, Tier::Nvme, where, "source");
      } else if (auto *w = std::get_if<NvmeWriteInstr>(&in)) {
        checkTransfer(program, w->dst, w->src, where);
        checkTier(program, w->dst, Tier::Nvme, where, "destination");
        checkTier(program, w->src, Tier::Host, where, "source");
      } else if (auto *r = std::get_if<RecordInstr>(&in)) {
        if (r->event >= program.eventCount)
          fail(where + ": records event " + std::to_string(r->event) +
               " but the program has " + std::to_string(program.eventCount));
        ++recordCount[r->event];
      } else if (auto *w = std::get_if<WaitInstr>(&in)) {
        if (w->event >= program.eventCount)
          fail(where + ": waits on event " + std::to_string(w->event) +
               " but the program has " + std::to_string(program.eventCount));
        waited[w->event] = true;
      }
    }
  }
  for (uint32_t e = 0; e < program.eventCount; ++e) {
    if (recordCount[e] > 1)
      fail("event " + std::to_string(e) + " is recorded " +
           std::to_string(recordCount[e]) + " times; each event is recorded "
           "once per run");
    if (recordCount[e] == 0 && waited[e])
      fail("event " + std::to_string(e) + " is waited on but never recorded");
  }
  checkNoDeadlock(program);
}

} // namespace off::exec
