// The operators' web dashboard (index.html, dashboard.css, dashboard.js in
// this folder), embedded in the binary at build time by embed.cmake. The page
// reads the /api/* JSON endpoints and the /api/events stream, which carry
// metadata only, and renders them with textContent (never as HTML).
#ifndef LIAISON_BROKER_OPERATORS_DASHBOARD_ASSETS_H_
#define LIAISON_BROKER_OPERATORS_DASHBOARD_ASSETS_H_

#include <string_view>
#include <vector>

namespace liaison::broker {

struct DashboardAsset {
  std::string_view path;  // "/index.html"
  std::string_view content_type;
  std::string_view body;
};

const std::vector<DashboardAsset>& DashboardAssets();

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_OPERATORS_DASHBOARD_ASSETS_H_
