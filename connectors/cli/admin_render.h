// Text rendering of the admin API's answers for `liaison admin ...`: plain
// aligned tables for a terminal. Pure functions (no I/O), metadata only, like
// the answers themselves.
#ifndef LIAISON_CONNECTORS_CLI_ADMIN_RENDER_H_
#define LIAISON_CONNECTORS_CLI_ADMIN_RENDER_H_

#include <deque>
#include <string>
#include <vector>

#include "liaison/v1/admin.pb.h"

namespace liaison::cli {

// Columns padded to their widest cell; the first row is the header.
std::string Table(const std::vector<std::vector<std::string>>& rows);

std::string RenderEndpoints(const liaison::v1::ListEndpointsResponse& endpoints);
std::string RenderFlows(const liaison::v1::FlowStatsResponse& flows);
std::string RenderHolds(const liaison::v1::ListHoldsResponse& holds);
std::string RenderHealth(const liaison::v1::HealthResponse& health);
// A summary line (entries, epochs in force, limit, records skipped), then
// entries per (endpoint, epoch): counts only, as the answer itself.
std::string RenderLinkage(const liaison::v1::LinkageIndexResponse& linkage);
// One line per event: "#12 09:00:01Z 0190... ALERT RO-IGPR → DE-BKA 570 B ALLOW ...".
std::string RenderEvent(const liaison::v1::FlowEventInfo& event);

// The `top` screen: health line, sender → recipient counts of the last
// minute, endpoints, holds and the newest events.
struct TopView {
  liaison::v1::HealthResponse health;
  liaison::v1::ListEndpointsResponse endpoints;
  liaison::v1::FlowStatsResponse flows;
  liaison::v1::ListHoldsResponse holds;
  std::deque<liaison::v1::FlowEventInfo> events;  // newest last
};
std::string RenderTop(const TopView& view);

}  // namespace liaison::cli

#endif  // LIAISON_CONNECTORS_CLI_ADMIN_RENDER_H_
