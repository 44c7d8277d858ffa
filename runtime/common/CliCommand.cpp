// See CliCommand.h. Every option is a CLI11 option whose callback receives
// all its values as text (TakeAll), so that the checks and their messages are
// ours: a repeated option, a bad number, an unknown option read the same in
// every command.

#include "runtime/common/CliCommand.h"

#include "runtime/common/HumanSize.h"
#include "runtime/common/Parallel.h"

#include <CLI/CLI.hpp>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <stdexcept>

namespace off::cli {
namespace {

/// A bad value or repetition, thrown from an option's callback with the whole
/// message ("--steps: needs ..."), caught by Command::parse.
struct BadValue : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A problem with one value; the callback adds the option's name.
struct Problem {
  std::string text;
};

std::string numberText(double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e15)
    return std::to_string(int64_t(value));
  std::ostringstream out;
  out << value;
  return out.str();
}

/// "a positive integer", "a number >= 0.5", ...
std::string describe(Bounds b, bool integer, bool isUnsigned) {
  const std::string noun = integer ? "integer" : "number";
  const bool noMax = std::isinf(b.max);
  if (b.min == 0 && noMax)
    return b.minExclusive ? "a positive " + noun : "a non-negative " + noun;
  if (std::isinf(b.min) && noMax)
    return isUnsigned ? "a non-negative " + noun : (integer ? "an " : "a ") + noun;
  std::string text = (integer ? "an " : "a ") + noun;
  if (noMax)
    return text + (b.minExclusive ? " > " : " >= ") + numberText(b.min);
  if (std::isinf(b.min))
    return text + " <= " + numberText(b.max);
  return text + " from " + numberText(b.min) + " to " + numberText(b.max);
}

bool within(Bounds b, double value) {
  return (b.minExclusive ? value > b.min : value >= b.min) && value <= b.max;
}

template <typename T> T parseInteger(const std::string &text, Bounds b) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !within(b, double(value)))
    throw Problem{"needs " + describe(b, true, std::is_unsigned_v<T>) + ", got '" + text + "'"};
  return value;
}

double parseDouble(const std::string &text, Bounds b) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value) || !within(b, value))
    throw Problem{"needs " + describe(b, false, false) + ", got '" + text + "'"};
  return value;
}

/// --help: our Usage line, the description, then each group of options.
class HelpFormatter : public CLI::Formatter {
public:
  HelpFormatter(std::string usage, std::string description)
      : usage_(std::move(usage)), description_(std::move(description)) {
    column_width(24);
  }

  std::string make_help(const CLI::App *app, std::string, CLI::AppFormatMode) const override {
    std::string out = "Usage: " + usage_ + "\n";
    if (!description_.empty())
      out += "\n" + description_ + "\n";
    std::vector<const CLI::Option *> positionals =
        app->get_options([](const CLI::Option *o) { return o->get_positional(); });
    if (!positionals.empty())
      out += make_group("Arguments", true, positionals);
    for (const std::string &group : app->get_groups()) {
      std::vector<const CLI::Option *> options = app->get_options(
          [&](const CLI::Option *o) { return o->nonpositional() && o->get_group() == group; });
      if (!group.empty() && !options.empty())
        out += make_group(group, false, options);
    }
    if (!app->get_footer().empty())
      out += "\n" + app->get_footer() + "\n";
    return out;
  }

  /// "  --name VALUE    help", the help indented on later lines and starting
  /// on a line of its own when the name leaves it less than two spaces.
  std::string make_option(const CLI::Option *o, bool positional) const override {
    std::string name = "  " + make_option_name(o, positional) + make_option_opts(o);
    std::string indent(column_width_, ' ');
    std::string text = name;
    const std::string &help = o->get_description();
    if (help.empty())
      return text + "\n";
    text += name.size() + 2 > column_width_ ? "\n" + indent
                                            : std::string(column_width_ - name.size(), ' ');
    for (char c : help)
      text += c == '\n' ? "\n" + indent : std::string(1, c);
    return text + "\n";
  }

  std::string make_option_opts(const CLI::Option *o) const override {
    return o->get_type_name().empty() ? "" : " " + o->get_type_name();
  }
  std::string make_option_name(const CLI::Option *o, bool positional) const override {
    if (positional)
      return o->get_name();
    std::string names;
    for (const std::string &s : o->get_snames())
      names += (names.empty() ? "-" : ", -") + s;
    for (const std::string &l : o->get_lnames())
      names += (names.empty() ? "--" : ", --") + l;
    return names;
  }

private:
  std::string usage_, description_;
};

} // namespace

struct Command::Impl {
  std::string path, usage;
  CLI::App app;
  std::string group = "Options";
  std::map<const CLI::Option *, std::string> shown; // the name errors use
  const CLI::Option *singlePositional = nullptr;
  std::string positionalValue; // the first value of singlePositional

  Impl(std::string p, std::string u, std::string description)
      : path(std::move(p)), usage(std::move(u)), app(description, path) {
    app.formatter(std::make_shared<HelpFormatter>(path + " " + usage, description));
    app.set_help_flag(); // --help is found before parsing (Command::parse)
    app.allow_extras(true);
    app.allow_windows_style_options(false);
  }

  /// Adds an option taking one value per occurrence; `store` checks and keeps
  /// it (throwing Problem). `repeat`: keep every occurrence.
  CLI::Option *add(const std::string &names, const std::string &value, const std::string &help,
                   std::function<void(const std::string &)> store, bool repeat = false) {
    std::string first = names.substr(0, names.find(','));
    CLI::Option *option = app.add_option(
        names,
        [first, store, repeat](const CLI::results_t &values) {
          if (!repeat && values.size() > 1)
            throw BadValue(first + ": given more than once");
          for (const std::string &text : values) {
            try {
              store(text);
            } catch (const Problem &problem) {
              throw BadValue(first + ": " + problem.text);
            }
          }
          return true;
        },
        help);
    option->type_name(value)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->group(group);
    shown[option] = first;
    return option;
  }
};

Command::Command(std::string path, std::string usage, std::string description)
    : impl_(std::make_unique<Impl>(std::move(path), std::move(usage), std::move(description))) {}

Command::~Command() = default;

const std::string &Command::path() const { return impl_->path; }

Command &Command::group(const std::string &name) {
  impl_->group = name;
  return *this;
}

Command &Command::footer(const std::string &text) {
  impl_->app.footer(text);
  return *this;
}

Command &Command::option(const std::string &names, std::string &slot, const std::string &value,
                         const std::string &help) {
  impl_->add(names, value, help, [&slot](const std::string &text) { slot = text; });
  return *this;
}

Command &Command::option(const std::string &names, std::vector<std::string> &slot,
                         const std::string &value, const std::string &help) {
  impl_->add(names, value, help + " (repeatable)",
             [&slot](const std::string &text) { slot.push_back(text); }, /*repeat=*/true);
  return *this;
}

Command &Command::option(const std::string &names, int &slot, const std::string &value,
                         const std::string &help, Bounds b) {
  impl_->add(names, value, help,
             [&slot, b](const std::string &text) { slot = parseInteger<int>(text, b); });
  return *this;
}

Command &Command::option(const std::string &names, unsigned &slot, const std::string &value,
                         const std::string &help, Bounds b) {
  impl_->add(names, value, help,
             [&slot, b](const std::string &text) { slot = parseInteger<unsigned>(text, b); });
  return *this;
}

Command &Command::threads(const std::string &names, unsigned &slot, const std::string &help) {
  impl_->add(names, "N", help, [&slot](const std::string &text) {
    unsigned value = parseInteger<unsigned>(text, positive);
    if (std::string problem = threadCountProblem(value); !problem.empty())
      throw Problem{problem};
    slot = value;
  });
  return *this;
}

Command &Command::option(const std::string &names, int64_t &slot, const std::string &value,
                         const std::string &help, Bounds b) {
  impl_->add(names, value, help,
             [&slot, b](const std::string &text) { slot = parseInteger<int64_t>(text, b); });
  return *this;
}

Command &Command::option(const std::string &names, uint64_t &slot, const std::string &value,
                         const std::string &help, Bounds b) {
  impl_->add(names, value, help,
             [&slot, b](const std::string &text) { slot = parseInteger<uint64_t>(text, b); });
  return *this;
}

Command &Command::option(const std::string &names, double &slot, const std::string &value,
                         const std::string &help, Bounds b) {
  impl_->add(names, value, help,
             [&slot, b](const std::string &text) { slot = parseDouble(text, b); });
  return *this;
}

Command &Command::option(const std::string &names, const std::string &value,
                         const std::string &help, ValueParser parse, bool repeatable) {
  impl_->add(
      names, value, help,
      [parse](const std::string &text) {
        if (std::string problem = parse(text); !problem.empty())
          throw Problem{problem};
      },
      repeatable);
  return *this;
}

Command &Command::size(const std::string &names, uint64_t &slot, const std::string &help) {
  impl_->add(names, "SIZE", help, [&slot](const std::string &text) {
    std::optional<uint64_t> bytes = parseHumanSize(text);
    if (!bytes || *bytes == 0)
      throw Problem{"needs a size such as 24G or 512M, got '" + text + "'"};
    slot = *bytes;
  });
  return *this;
}

Command &Command::choice(const std::string &names, std::string &slot,
                         std::initializer_list<const char *> choices, const std::string &help) {
  std::vector<std::string> allowed(choices.begin(), choices.end());
  return choiceAt(names, allowed, [&slot, allowed](size_t i) { slot = allowed[i]; }, help);
}

Command &Command::choiceAt(const std::string &names, std::vector<std::string> allowed,
                           std::function<void(size_t)> store, const std::string &help) {
  std::string shown, listed;
  for (const std::string &c : allowed) {
    shown += (shown.empty() ? "" : "|") + c;
    listed += (listed.empty() ? "" : ", ") + c;
  }
  impl_->add(names, shown, help, [allowed, listed, store](const std::string &text) {
    for (size_t i = 0; i < allowed.size(); ++i)
      if (text == allowed[i])
        return store(i);
    throw Problem{"needs one of " + listed + ", got '" + text + "'"};
  });
  return *this;
}

Command &Command::flag(const std::string &names, bool &slot, const std::string &help) {
  CLI::Option *option = impl_->app.add_flag(names, slot, help);
  option->group(impl_->group);
  impl_->shown[option] = names.substr(0, names.find(','));
  return *this;
}

Command &Command::positional(const std::string &name, std::string &slot,
                             const std::string &help) {
  Impl &impl = *impl_;
  CLI::Option *option = impl.app.add_option(
      name,
      [&slot, &impl](const CLI::results_t &values) {
        slot = impl.positionalValue = values.front();
        return true;
      },
      help);
  option->expected(1)->group(impl.group);
  impl.shown[option] = name;
  impl.singlePositional = option;
  return *this;
}

Command &Command::positional(const std::string &name, std::vector<std::string> &slot,
                             const std::string &help) {
  CLI::Option *option = impl_->app.add_option(
      name,
      [&slot](const CLI::results_t &values) {
        slot.insert(slot.end(), values.begin(), values.end());
        return true;
      },
      help);
  option->type_size(1)
      ->expected(1, CLI::detail::expected_max_vector_size)
      ->allow_extra_args()
      ->group(impl_->group);
  impl_->shown[option] = name;
  return *this;
}

std::string Command::help() const { return impl_->app.help(); }

int Command::usageError(const std::string &message) const {
  std::fprintf(stderr, "%s: error: %s (see `%s --help`)\n", impl_->path.c_str(),
               message.c_str(), impl_->path.c_str());
  return 2;
}

bool Command::given(const std::string &name) const {
  const CLI::Option *option = impl_->app.get_option_no_throw(name);
  return option && option->count() > 0;
}

std::string Command::value(const std::string &name) const {
  const CLI::Option *option = impl_->app.get_option_no_throw(name);
  return option && !option->results().empty() ? option->results().back() : std::string();
}

std::optional<int> Command::parse(const std::vector<std::string> &args) {
  for (const std::string &arg : args) {
    if (arg == "--")
      break;
    if (arg == "--help" || arg == "-h") {
      std::fputs(help().c_str(), stdout);
      return 0;
    }
  }
  std::vector<std::string> reversed(args.rbegin(), args.rend()); // CLI11 pops from the back
  try {
    impl_->app.parse(reversed);
  } catch (const BadValue &error) {
    return usageError(error.what());
  } catch (const CLI::ArgumentMismatch &error) {
    // "--name: 1 required FILE missing": the option's value is missing.
    std::string what = error.what();
    std::string name = what.substr(0, what.find(':'));
    const CLI::Option *option = impl_->app.get_option_no_throw(name);
    auto shown = option ? impl_->shown.find(option) : impl_->shown.end();
    if (shown != impl_->shown.end())
      name = shown->second;
    return usageError(name + ": needs a value");
  } catch (const CLI::ParseError &error) {
    return usageError(error.what());
  }
  // Left over: unknown options, and positionals beyond those declared. CLI11
  // keeps "--" among them; what follows it is positional.
  std::vector<std::string> extras;
  bool optionsEnded = false;
  for (const std::string &extra : impl_->app.remaining()) {
    if (extra == "--" && !optionsEnded) {
      optionsEnded = true;
      continue;
    }
    if (!optionsEnded && extra.size() > 1 && extra[0] == '-')
      return usageError("unknown option '" + extra.substr(0, extra.find('=')) + "'");
    extras.push_back(extra);
  }
  if (!extras.empty()) {
    if (impl_->singlePositional && impl_->singlePositional->count() > 0)
      return usageError("more than one " + impl_->shown[impl_->singlePositional] + ": '" +
                        impl_->positionalValue + "' and '" + extras.front() + "'");
    return usageError("unexpected argument '" + extras.front() + "'");
  }
  return std::nullopt;
}

} // namespace off::cli
