#include "runtime/common/HumanSize.h"

#include <cctype>
#include <cmath>
#include <cstdio>

namespace off {

std::optional<uint64_t> parseHumanSize(std::string_view text) {
  size_t pos = 0;
  long double value = 0;
  bool sawDigit = false, sawPoint = false;
  long double fraction = 0.1L;
  for (; pos < text.size(); ++pos) {
    char c = text[pos];
    if (std::isdigit(static_cast<unsigned char>(c))) {
      sawDigit = true;
      if (sawPoint) {
        value += (c - '0') * fraction;
        fraction /= 10;
      } else {
        value = value * 10 + (c - '0');
      }
    } else if (c == '.' && !sawPoint) {
      sawPoint = true;
    } else {
      break;
    }
  }
  if (!sawDigit)
    return std::nullopt;
  std::string suffix;
  for (; pos < text.size(); ++pos)
    suffix += static_cast<char>(std::toupper(static_cast<unsigned char>(text[pos])));
  long double scale = 1;
  if (!suffix.empty() && suffix != "B") {
    static const char kUnits[] = "KMGT";
    size_t unit = std::string_view(kUnits).find(suffix[0]);
    std::string_view rest = std::string_view(suffix).substr(1);
    if (unit == std::string_view::npos || !(rest.empty() || rest == "B" || rest == "IB"))
      return std::nullopt;
    scale = std::pow(1024.0L, static_cast<long double>(unit + 1));
  }
  long double bytes = value * scale;
  if (std::round(bytes) >= 18446744073709551616.0L)
    return std::nullopt;
  return static_cast<uint64_t>(std::round(bytes));
}

std::string formatHumanSize(uint64_t bytes) {
  static const char kUnits[] = "KMGT";
  if (bytes < 1024)
    return std::to_string(bytes) + "B";
  long double value = bytes;
  int unit = -1;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1Lf%c", value, kUnits[unit]);
  return buf;
}

} // namespace off
