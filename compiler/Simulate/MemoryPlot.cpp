// See Simulator.h (memoryPlot): the bytes alive per tier as an SVG image,
// written by hand (no plotting library), one panel per tier.

#include "compiler/Simulate/Simulator.h"

#include "runtime/common/HumanSize.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace off::sim {
namespace {

constexpr double kWidth = 900, kPanel = 220, kLeft = 90, kRight = 20, kTop = 30, kBottom = 40;

std::string num(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", v);
  return text;
}

std::string seconds(double s) {
  char text[32];
  if (s >= 1)
    std::snprintf(text, sizeof text, "%.3g s", s);
  else if (s >= 1e-3)
    std::snprintf(text, sizeof text, "%.3g ms", s * 1e3);
  else
    std::snprintf(text, sizeof text, "%.3g us", s * 1e6);
  return text;
}

std::string escape(const std::string &text) {
  std::string out;
  for (char c : text)
    switch (c) {
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '&': out += "&amp;"; break;
    case '"': out += "&quot;"; break;
    default: out += c;
    }
  return out;
}

uint64_t budgetOf(const plan::Plan &plan, const std::string &tier) {
  for (const plan::Tier &t : plan.tiers()) {
    const char *name = t.kind() == plan::TIER_HOST   ? "host"
                       : t.kind() == plan::TIER_NVME ? "nvme"
                                                     : "device";
    if (tier == name)
      return t.budget_bytes();
  }
  return 0;
}

} // namespace

std::string memoryPlot(const plan::Plan &plan, const Simulation &sim) {
  std::vector<const TierUse *> tiers;
  for (const TierUse &t : sim.tiers)
    if (t.peakBytes)
      tiers.push_back(&t);
  const double height = kTop + double(tiers.size()) * (kPanel + kBottom) + 10;
  const double x0 = kLeft, x1 = kWidth - kRight;
  const double span = sim.stepSeconds > 0 ? sim.stepSeconds : 1;
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(kWidth) << "\" height=\""
      << num(height) << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg << "<text x=\"" << num(x0) << "\" y=\"18\">" << escape("bytes alive per tier, "
      + sim.profile + ", step " + seconds(sim.stepSeconds)) << "</text>\n";
  double top = kTop;
  for (const TierUse *t : tiers) {
    uint64_t budget = budgetOf(plan, t->name);
    double axis = double(std::max<uint64_t>({t->peakBytes, budget, 1}));
    const double y0 = top + kPanel, y1 = top; // y0: 0 bytes, y1: axis
    auto x = [&](double at) { return x0 + (x1 - x0) * at / span; };
    auto y = [&](double bytes) { return y0 - (y0 - y1) * bytes / axis; };
    svg << "<g class=\"tier\" data-tier=\"" << t->name << "\" data-axis-bytes=\""
        << uint64_t(axis) << "\" data-axis-seconds=\"" << span << "\" data-x0=\"" << num(x0)
        << "\" data-x1=\"" << num(x1) << "\" data-y0=\"" << num(y0) << "\" data-y1=\""
        << num(y1) << "\">\n";
    svg << "<rect x=\"" << num(x0) << "\" y=\"" << num(y1) << "\" width=\"" << num(x1 - x0)
        << "\" height=\"" << num(y0 - y1) << "\" fill=\"none\" stroke=\"#888\"/>\n";
    svg << "<text x=\"8\" y=\"" << num(y1 + 14) << "\">" << t->name << "</text>\n";
    svg << "<text x=\"8\" y=\"" << num(y1 + 30) << "\">" << formatHumanSize(uint64_t(axis))
        << "</text>\n";
    svg << "<text x=\"8\" y=\"" << num(y0) << "\">0</text>\n";
    svg << "<text x=\"" << num(x0) << "\" y=\"" << num(y0 + 16) << "\">0</text>\n";
    svg << "<text x=\"" << num(x1) << "\" y=\"" << num(y0 + 16) << "\" text-anchor=\"end\">"
        << seconds(sim.stepSeconds) << "</text>\n";
    auto level = [&](uint64_t bytes, const char *what, const char *colour) {
      svg << "<line class=\"" << what << "\" x1=\"" << num(x0) << "\" x2=\"" << num(x1)
          << "\" y1=\"" << num(y(double(bytes))) << "\" y2=\"" << num(y(double(bytes)))
          << "\" stroke=\"" << colour << "\" stroke-dasharray=\"6 4\"/>\n";
      svg << "<text x=\"" << num(x1 - 4) << "\" y=\"" << num(y(double(bytes)) - 4)
          << "\" text-anchor=\"end\" fill=\"" << colour << "\">" << what << " "
          << formatHumanSize(bytes) << "</text>\n";
    };
    level(t->peakBytes, "arena", "#555");
    if (budget)
      level(budget, "budget", "#c00");
    // A step line: each sample holds until the next one.
    svg << "<polyline fill=\"none\" stroke=\"#1f6fb4\" stroke-width=\"1.5\" points=\"";
    uint64_t last = 0;
    svg << num(x(0)) << "," << num(y(0));
    for (const auto &[at, bytes] : t->live) {
      svg << " " << num(x(at)) << "," << num(y(double(last))) << " " << num(x(at)) << ","
          << num(y(double(bytes)));
      last = bytes;
    }
    svg << " " << num(x(span)) << "," << num(y(double(last))) << "\"/>\n</g>\n";
    top += kPanel + kBottom;
  }
  svg << "</svg>\n";
  return svg.str();
}

} // namespace off::sim
